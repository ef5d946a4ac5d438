package env

import "testing"

func TestName(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"empty stays empty", "", ""},
		{"plain upper", "DB_PASS", "DB_PASS"},
		{"case kept", "dbPass", "dbPass"},
		{"digits inside kept", "API2_TOKEN3", "API2_TOKEN3"},
		{"slash of a nested parameter", "db/pass", "db_pass"},
		{"several levels", "a/b/c", "a_b_c"},
		{"dash", "db-pass", "db_pass"},
		{"dot", "db.pass", "db_pass"},
		{"space and equals", "a b=c", "a_b_c"},
		{"leading digit prefixed", "1PASSWORD", "_1PASSWORD"},
		{"only digits", "42", "_42"},
		{"digit after a mapped character not prefixed", "-1", "_1"},
		{"leading underscore kept", "_X", "_X"},
		{"one underscore per two-byte character", "é", "_"},
		{"one underscore per three-byte character", "a€b", "a_b"},
		{"one underscore per four-byte character", "x😀", "x_"},
		{"several non-ASCII characters", "naïve café", "na_ve_caf_"},
		{"invalid UTF-8 byte", "a\xffb", "a_b"},
		{"NUL", "a\x00b", "a_b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Name(tt.key)
			if got != tt.want {
				t.Errorf("Name(%q) = %q, want %q", tt.key, got, tt.want)
			}
			if tt.key != "" && !ValidName(got) {
				t.Errorf("ValidName(Name(%q)) = false for %q", tt.key, got)
			}
			if Name(got) != got {
				t.Errorf("Name is not idempotent on %q: %q", got, Name(got))
			}
		})
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"upper", "DB_PASS", true},
		{"lower", "db_pass", true},
		{"underscore only", "_", true},
		{"leading underscore then digit", "_1", true},
		{"digits inside", "A1B2", true},
		{"leading digit", "1A", false},
		{"dash", "A-B", false},
		{"dot", "A.B", false},
		{"slash", "A/B", false},
		{"equals", "A=B", false},
		{"space", "A B", false},
		{"non-ASCII", "É", false},
		{"NUL", "A\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidName(tt.in); got != tt.want {
				t.Errorf("ValidName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
