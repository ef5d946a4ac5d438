package env

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseNames(t *testing.T) {
	file := strings.Join([]string{
		"# The app's configuration",
		"",
		"SECRET_KEY=change-me",
		"  DB_HOST = localhost  ",
		"export DB_PASS=",
		"export\tAPI_TOKEN='x'",
		"BARE",
		"WITH_COMMENT # the port",
		`PEM="-----BEGIN KEY-----`,
		`line two = not a name`,
		`-----END KEY-----"`,
		`ESCAPED="a \" b`,
		`"`,
		"SECRET_KEY=again",
		"export=1",
		"exported_NAME=1\r",
	}, "\n")
	got, err := ParseNames(file)
	want := []string{"SECRET_KEY", "DB_HOST", "DB_PASS", "API_TOKEN", "BARE", "WITH_COMMENT", "PEM", "ESCAPED", "export", "exported_NAME"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseNames = %q, %v; want %q", got, err, want)
	}
}

func TestParseNamesErrors(t *testing.T) {
	for _, tt := range []struct {
		file string
		line int
	}{
		{"A=1\nnot a name\n", 2},
		{"A=1\n\n1ABC=2", 3},
		{"DB-PASS=x", 1},
		{"=value", 1},
		{"A=1\nB=\"never closed\nC=3\n", 2},
		{"A B", 1},
		{"#ok\nexport A B=1", 2},
	} {
		_, err := ParseNames(tt.file)
		var ne *NamesError
		if !errors.As(err, &ne) || ne.Line != tt.line {
			t.Errorf("%q: %v, want an error on line %d", tt.file, err, tt.line)
			continue
		}
		if strings.Contains(err.Error(), "never closed") || strings.Contains(err.Error(), "name B") {
			t.Errorf("%q: error %q quotes the file", tt.file, err)
		}
	}
}

// FuzzParseNames: any input gives valid names, each once, or an error naming a line of the
// input and quoting none of it.
func FuzzParseNames(f *testing.F) {
	f.Add("A=1\nexport B=2\n# c\n\nD\n")
	f.Add("K=\"multi\nline\"\nL='x\ny'\n")
	f.Add("bad line\n")
	f.Add("E=\"\\\"\n")
	f.Fuzz(func(t *testing.T, data string) {
		names, err := ParseNames(data)
		if err != nil {
			var ne *NamesError
			if !errors.As(err, &ne) || ne.Line < 1 || ne.Line > strings.Count(data, "\n")+1 {
				t.Fatalf("error %v", err)
			}
			if strings.ContainsAny(ne.Msg, "\n") || strings.Contains(ne.Msg, "%!") {
				t.Fatalf("message %q", ne.Msg)
			}
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			if !ValidName(n) || seen[n] {
				t.Fatalf("name %q", n)
			}
			seen[n] = true
			if !strings.Contains(data, n) {
				t.Fatalf("name %q is not in the input", n)
			}
		}
	})
}

// A single-quoted value may hold an escaped quote (\'), as compose-go's dotenv parser reads
// it: the value's next lines are still the value, never names (a names error or a missing
// name would print them).
func TestParseNamesEscapedSingleQuote(t *testing.T) {
	for _, tt := range []struct {
		file string
		want []string
	}{
		{"PASS='it\\'s\nhunter2canary\n'\nNEXT=1\n", []string{"PASS", "NEXT"}},
		// Read as names before, the value's second line was then a required name.
		{"PASS='x\\'\nhunter2canary\nKEY='\nNEXT='v'\n", []string{"PASS", "NEXT"}},
		{"PASS='x\\\\'\nNEXT=1\n", []string{"PASS", "NEXT"}}, // \\ then the closing quote
	} {
		got, err := ParseNames(tt.file)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseNames(%q) = %q, %v; want %q", tt.file, got, err, tt.want)
		}
	}
}
