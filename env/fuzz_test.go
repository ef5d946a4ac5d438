package env

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
)

func addHostile(f *testing.F) {
	for _, v := range hostile {
		if len(v.Value) < 1000 {
			f.Add(v.Value)
		}
	}
}

// The value sits between two others so that a quoting bug that swallows or injects a
// line shows up as a changed neighbour.
func fuzzVars(value string) []Var {
	return []Var{{"A", "before"}, {"V", value}, {"Z", "after"}}
}

// FuzzDotenvRoundTrip: whatever Write accepts, compose-go reads back exactly, without
// interpolating; and Write refuses only values with a NUL.
func FuzzDotenvRoundTrip(f *testing.F) {
	addHostile(f)
	f.Fuzz(func(t *testing.T, value string) {
		var b bytes.Buffer
		err := Write(&b, Dotenv, fuzzVars(value))
		if err != nil {
			if !strings.Contains(value, "\x00") {
				t.Fatalf("Write refused a value without NUL: %v", err)
			}
			return
		}
		if strings.Contains(value, "\x00") {
			t.Fatal("Write accepted a NUL")
		}
		for _, lookup := range []composedotenv.LookupFn{nil, lookupEverything} {
			got, err := composedotenv.ParseWithLookup(bytes.NewReader(b.Bytes()), lookup)
			if err != nil {
				t.Fatalf("compose cannot parse %q: %v", b.String(), err)
			}
			if len(got) != 3 || got["A"] != "before" || got["Z"] != "after" || got["V"] != value {
				t.Fatalf("compose read back %q from %q, want V=%q", got, b.String(), value)
			}
		}
	})
}

// FuzzExportRoundTrip runs the real sh (and bash) on every input: a Go model of the
// shell would only prove the model.
func FuzzExportRoundTrip(f *testing.F) {
	addHostile(f)
	shs := shells(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, value string) {
		var b bytes.Buffer
		err := Write(&b, Export, fuzzVars(value))
		if err != nil {
			if !strings.Contains(value, "\x00") {
				t.Fatalf("Write refused a value without NUL: %v", err)
			}
			return
		}
		file, err := os.CreateTemp(dir, "export")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(file.Name())
		if _, err := file.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		file.Close()
		for _, sh := range shs {
			got := readBackSh(t, sh, file.Name(), []string{"A", "V", "Z"})
			if got["A"] != "before" || got["Z"] != "after" || got["V"] != value {
				t.Fatalf("%s read back %q from %q, want V=%q", sh, got, b.String(), value)
			}
		}
	})
}

// FuzzJSONRoundTrip: whatever Write accepts, encoding/json reads back exactly; Write
// refuses only invalid UTF-8.
func FuzzJSONRoundTrip(f *testing.F) {
	addHostile(f)
	f.Add("a\x00b")
	f.Fuzz(func(t *testing.T, value string) {
		var b bytes.Buffer
		if err := Write(&b, JSON, fuzzVars(value)); err != nil {
			if utf8.ValidString(value) {
				t.Fatalf("Write refused valid UTF-8: %v", err)
			}
			return
		}
		var got map[string]string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got["V"] != value {
			t.Fatalf("read back %q, want V=%q", got, value)
		}
	})
}

// FuzzName pins the name mapping: every non-empty key maps to a ValidName; the empty
// key maps to "" (not a ValidName: callers reject empty keys, and Write refuses ""); a
// valid name maps to itself, so the mapping is idempotent; each character (each invalid
// UTF-8 byte) becomes one byte and only a leading digit adds one, so distinct keys can
// collide only through replaced characters.
func FuzzName(f *testing.F) {
	for _, k := range []string{"", "DB_PASS", "db/pass", "/auraxis/prod/DB_PASS", "1x", "9", "_1", "a-b.c", "päss", "\x00", " ", "é1"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		n := Name(key)
		if key == "" {
			if n != "" {
				t.Fatalf("Name(\"\") = %q, want \"\"", n)
			}
			return
		}
		if !ValidName(n) {
			t.Fatalf("Name(%q) = %q, not a valid name", key, n)
		}
		if Name(n) != n {
			t.Fatalf("Name not idempotent: Name(%q) = %q, Name(%q) = %q", key, n, n, Name(n))
		}
		if ValidName(key) && n != key {
			t.Fatalf("valid name %q mapped to %q", key, n)
		}
		// One output byte per character (an invalid UTF-8 byte counts as one).
		wantLen := utf8.RuneCountInString(key)
		if key[0] >= '0' && key[0] <= '9' {
			wantLen++
		}
		if len(n) != wantLen {
			t.Fatalf("Name(%q) = %q: %d bytes, want %d (one per character)", key, n, len(n), wantLen)
		}
	})
}
