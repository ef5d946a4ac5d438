package env

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/joho/godotenv"
)

const pem = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
-----END PRIVATE KEY-----
`

// hostile is every kind of value users put in secrets, and every kind that breaks naive
// quoting. Each name is a valid variable name, so the table doubles as a file of many vars.
var hostile = []Var{
	{"EMPTY", ""},
	{"PLAIN", "hunter2"},
	{"SINGLE_QUOTE", "it's"},
	{"ONLY_SINGLE_QUOTE", "'"},
	{"DOUBLE_QUOTE", `say "hi"`},
	{"ONLY_DOUBLE_QUOTE", `"`},
	{"BOTH_QUOTES", `'"'"`},
	{"QUOTED_SINGLE", `'quoted'`},
	{"QUOTED_DOUBLE", `"quoted"`},
	{"DOLLAR", "pa$$word$"},
	{"DOLLAR_ONLY", "$"},
	{"DOLLAR_PAIR", "$$"},
	{"DOLLAR_HOME", "$HOME"},
	{"BRACED_HOME", "${HOME}"},
	{"BRACED_DEFAULT", "${HOME:-x}"},
	{"BRACED_REQUIRED", "${NOPE:?boom}"},
	{"BRACED_UNCLOSED", "${HOME"},
	{"DOLLAR_QUOTE_MIX", `'$HOME' "${HOME}" \$HOME`},
	{"CMD_SUBST", "$(id)"},
	{"BACKTICKS", "`id`"},
	{"HASH", "#comment"},
	{"SPACE_HASH", "a # x"},
	{"LEADING_SPACE_HASH", " # x"},
	{"EQUALS", "a=b"},
	{"EQUALS_LEAD", "=a"},
	{"EXPORT_LINE", "export X=1"},
	{"INJECT_LINE", "x\nINJECTED=1"},
	{"INJECT_QUOTE", "x'\nINJECTED='1"},
	{"INJECT_DQUOTE", "x\"\nINJECTED=\"1"},
	{"BACKSLASH", `\`},
	{"BACKSLASH_END", `abc\`},
	{"BACKSLASHES", `\\\`},
	{"BACKSLASH_QUOTE", `\'`},
	{"BACKSLASH_DQUOTE", `\"`},
	{"BACKSLASH_N_LITERAL", `\n`},
	{"BACKSLASH_BACKSLASH_N", `\\n`},
	{"BACKSLASH_DOLLAR", `\$HOME`},
	{"BACKSLASH_OCTAL", `\0101 \x41 \u0041`},
	{"WINDOWS_PATH", `C:\Users\x\n`},
	{"NEWLINE", "\n"},
	{"NEWLINE_START", "\nabc"},
	{"NEWLINE_END", "abc\n"},
	{"NEWLINES", "\n\n\n"},
	{"CR", "\r"},
	{"CRLF", "a\r\nb\r\n"},
	{"TAB", "\t"},
	{"TABS_AROUND", "\tx\t"},
	{"SPACES_AROUND", "  x  "},
	{"SPACE", " "},
	{"VTAB_FF", "\v\f"},
	{"UTF8", "pässwörd ✓ 日本語 🙂"},
	{"NBSP_NEL", "\u00a0x\u0085"},
	{"BOM", "\ufeffx"},
	{"INVALID_UTF8", "\xff\xfe\x80abc\xc3"},
	{"CONTROL", "\x01\x1b[31m\x7f"},
	{"COLON", "a: b"},
	{"YAML_ISH", "key: value\n- item"},
	{"PEM", pem},
	{"PEM_TRIMMED", strings.TrimSuffix(pem, "\n")},
	{"LONG", strings.Repeat("x'\"$\\\n", 4000)},
	{"LONG_PLAIN", strings.Repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", 2048)}, // 64 KiB: under the kernel's 128 KiB per-string limit, so it still execs
	{"JSON_TEXT", `{"a":[1,"b\n"],"c":null}`},
}

// lookupEverything pretends every variable is set, so any interpolation on read back
// shows up as a changed value.
func lookupEverything(string) (string, bool) { return "INTERPOLATED", true }

func write(t testing.TB, f Format, vars []Var) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f, vars); err != nil {
		t.Fatalf("Write(%s): %v", f, err)
	}
	return b.Bytes()
}

func wantMap(vars []Var) map[string]string {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

func diffMaps(t testing.TB, how string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s missing", how, k)
		} else if g != w {
			t.Errorf("%s: %s = %q, want %q", how, k, trunc(g), trunc(w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected variable %s = %q", how, k, trunc(got[k]))
		}
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// composeReaders are the ways compose reads an env file: --env-file goes through
// GetEnvFromFile with the process environment as lookup; env_file: through
// ParseWithFormat with a lookup. Each must give back the values exactly.
func composeReaders(t testing.TB, data []byte) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	read := func(how string, m map[string]string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		out[how] = m
	}
	m, err := composedotenv.ParseWithLookup(bytes.NewReader(data), nil)
	read("ParseWithLookup(nil)", m, err)
	m, err = composedotenv.UnmarshalBytesWithLookup(data, lookupEverything)
	read("UnmarshalBytesWithLookup(everything)", m, err)
	m = map[string]string{}
	err = composedotenv.ParseWithFormat(bytes.NewReader(data), "x.env", m, lookupEverything, "")
	read("ParseWithFormat(everything)", m, err)
	return out
}

func TestDotenvRoundTripCompose(t *testing.T) {
	data := write(t, Dotenv, hostile)
	for how, got := range composeReaders(t, data) {
		diffMaps(t, how, got, wantMap(hostile))
	}

	// The same through a file and GetEnvFromFile, what `docker compose --env-file` calls,
	// with HOME and friends set in the "current environment".
	path := filepath.Join(t.TempDir(), ".env.runtime")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := composedotenv.GetEnvFromFile(map[string]string{"HOME": "/root", "NOPE": "", "X": "1"}, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	diffMaps(t, "GetEnvFromFile", got, wantMap(hostile))
}

// Each value alone in a file, so one bad quoting cannot hide behind another.
func TestDotenvRoundTripEach(t *testing.T) {
	for _, v := range hostile {
		t.Run(v.Name, func(t *testing.T) {
			vars := []Var{{"A", "first"}, v, {"ZZ", "last"}}
			data := write(t, Dotenv, vars)
			for how, got := range composeReaders(t, data) {
				diffMaps(t, how, got, wantMap(vars))
			}
		})
	}
}

// TestDotenvGodotenv records where joho/godotenv v1.5.1 (what many apps use to read a
// .env at start) reads our dotenv file the same as compose. compose-go is the contract;
// this pins the difference so it cannot grow unnoticed. godotenv agrees on every value
// without a backslash, a double quote or a CRLF. It differs on those because it turns
// every CRLF of the file into LF, has its own escape rules in double quotes (\\ is not
// one backslash; a trailing \ escapes the closing quote: an error) and trims every
// quote character at both ends of a quoted value.
func TestDotenvGodotenv(t *testing.T) {
	var agree, disagree []string
	for _, v := range hostile {
		data := write(t, Dotenv, []Var{v})
		got, err := godotenv.UnmarshalBytes(data)
		same := err == nil && len(got) == 1 && got[v.Name] == v.Value
		if same {
			agree = append(agree, v.Name)
			continue
		}
		why := fmt.Sprintf("%q", trunc(got[v.Name]))
		if err != nil {
			why = "error"
		}
		disagree = append(disagree, v.Name+" ("+why+")")
		if !strings.ContainsAny(v.Value, `\"`) && !strings.Contains(v.Value, "\r\n") {
			t.Errorf("godotenv reads %s differently: %s", v.Name, why)
		}
	}
	t.Logf("godotenv agrees with compose on %d values: %s", len(agree), strings.Join(agree, " "))
	t.Logf("godotenv disagrees on %d values: %s", len(disagree), strings.Join(disagree, ", "))
}

func TestDotenvOutput(t *testing.T) {
	got := string(write(t, Dotenv, []Var{
		{"Z", "it's $HOME"},
		{"A", "plain $HOME"},
		{"M", "back\\slash \"q\"\nline"},
	}))
	want := "A='plain $HOME'\n" +
		"M=\"back\\\\slash \\\"q\\\"\nline\"\n" +
		"Z=\"it's \\$HOME\"\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// readBackSh sources an export file in shell and prints every variable NUL-terminated,
// so the comparison is byte-exact (no command substitution eating newlines).
func readBackSh(t testing.TB, shell, file string, names []string) map[string]string {
	t.Helper()
	var script strings.Builder
	script.WriteString("set -a; . \"$1\" || exit 3; printf '%s\\0'")
	for _, n := range names {
		script.WriteString(` "$` + n + `"`)
	}
	cmd := exec.Command(shell, "-c", script.String(), shell, file)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/home/secretexec-test", "LC_ALL=C.UTF-8"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s: %v, stderr: %s", shell, err, stderr.String())
	}
	parts := strings.Split(string(out), "\x00")
	if len(parts) != len(names)+1 || parts[len(names)] != "" {
		t.Fatalf("%s: printed %d fields, want %d", shell, len(parts)-1, len(names))
	}
	m := make(map[string]string, len(names))
	for i, n := range names {
		m[n] = parts[i]
	}
	return m
}

func shells(t testing.TB) []string {
	var found []string
	for _, s := range []string{"sh", "dash", "bash"} {
		if p, err := exec.LookPath(s); err == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		t.Skip("no shell found")
	}
	return found
}

func TestExportRoundTripShells(t *testing.T) {
	dir := t.TempDir()
	// A command substitution or backtick that ran would create this file.
	mark := filepath.Join(dir, "ran")
	vars := append([]Var{
		{"RUN1", "$(touch " + mark + ")"},
		{"RUN2", "`touch " + mark + "`"},
		{"RUN3", "'; touch " + mark + "; '"},
		{"RUN4", "'\ntouch " + mark + "\n'"},
		{"RUN5", "\\'; touch " + mark + " #"},
		{"RUN6", "'\"; touch " + mark + "; \"'"},
		{"RUN7", "'$(touch " + mark + ")'"},
	}, hostile...)
	file := filepath.Join(dir, "export.sh")
	if err := os.WriteFile(file, write(t, Export, vars), 0o600); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vars {
		names = append(names, v.Name)
	}
	for _, sh := range shells(t) {
		diffMaps(t, sh, readBackSh(t, sh, file, names), wantMap(vars))
		// set -a must have exported them to children too.
		cmd := exec.Command(sh, "-c", `set -a; . "$1"; exec env`, sh, file)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s env: %v", sh, err)
		}
		if !bytes.Contains(out, []byte("\nPLAIN=hunter2\n")) {
			t.Errorf("%s: PLAIN not exported to a child", sh)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("a value ran a command when the export file was sourced")
	}
}

func TestExportOutput(t *testing.T) {
	got := string(write(t, Export, []Var{{"B", "it's"}, {"A", "$x\n"}}))
	want := "export A='$x\n'\nexport B='it'\\''s'\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var vars []Var
	for _, v := range hostile {
		if v.Name != "INVALID_UTF8" {
			vars = append(vars, v)
		}
	}
	vars = append(vars, Var{"NUL", "a\x00b"}, Var{"HTML", "<a href='x'>&amp;</a>"}, Var{"LS_PS", "\u2028\u2029"})
	data := write(t, JSON, vars)
	var got map[string]string
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON value")
	}
	diffMaps(t, "encoding/json", got, wantMap(vars))
	if !bytes.HasSuffix(data, []byte("}\n")) {
		t.Error("no trailing newline")
	}
	if !bytes.Contains(data, []byte(`"<a href='x'>&amp;</a>"`)) {
		t.Error("HTML characters were escaped")
	}
}

func TestJSONOutput(t *testing.T) {
	got := string(write(t, JSON, []Var{{"B", "x\ny"}, {"A", `"1"`}}))
	want := "{\n  \"A\": \"\\\"1\\\"\",\n  \"B\": \"x\\ny\"\n}\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := string(write(t, JSON, nil)); got != "{}\n" {
		t.Errorf("no vars: got %q", got)
	}
}

func TestWriteSortsCopy(t *testing.T) {
	vars := []Var{{"b", "2"}, {"B", "1"}, {"a", "3"}, {"_x", "4"}, {"A1", "5"}}
	orig := append([]Var(nil), vars...)
	for _, f := range []Format{Dotenv, Export, JSON} {
		out := string(write(t, f, vars))
		last := -1
		for _, n := range []string{"A1", "B", "_x", "a", "b"} { // byte order
			i := strings.Index(out, n+"=")
			if f == JSON {
				i = strings.Index(out, `"`+n+`"`)
			} else if f == Export {
				i = strings.Index(out, " "+n+"=")
			}
			if i <= last {
				t.Errorf("%s: %s out of order in\n%s", f, n, out)
			}
			last = i
		}
		for i := range vars {
			if vars[i] != orig[i] {
				t.Fatalf("%s: Write reordered its input", f)
			}
		}
	}
}

const canary = "CANARY-s3cr3t-value"

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		format  Format
		vars    []Var
		wantErr string
	}{
		{"duplicate", Dotenv, []Var{{"A", canary}, {"B", "x"}, {"A", canary + "2"}}, `variable "A": given more than once`},
		{"duplicate json", JSON, []Var{{"A", canary}, {"A", canary}}, `variable "A": given more than once`},
		{"empty name", Export, []Var{{"", canary}}, `variable "": not a valid variable name`},
		{"digit name", Dotenv, []Var{{"1A", canary}}, `variable "1A": not a valid variable name`},
		{"dash name", JSON, []Var{{"A-B", canary}}, `variable "A-B": not a valid variable name`},
		{"space name", Dotenv, []Var{{"A B", canary}}, `variable "A B": not a valid variable name`},
		{"nul dotenv", Dotenv, []Var{{"A", "x"}, {"N", canary + "\x00"}}, `variable "N": value holds a NUL byte`},
		{"nul export", Export, []Var{{"N", "\x00" + canary}}, `variable "N": value holds a NUL byte, which no environment variable can hold and export cannot write`},
		{"invalid utf8 json", JSON, []Var{{"U", canary + "\xff"}}, `variable "U": value is not valid UTF-8`},
		{"unknown format", Format("yaml"), []Var{{"A", canary}}, `unknown format "yaml": want dotenv, export or json`},
		{"empty format", Format(""), []Var{{"A", canary}}, `unknown format ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tt.format, tt.vars)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%#v", err), canary) {
				t.Errorf("error leaks the value: %v", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteWriterError(t *testing.T) {
	if err := Write(failWriter{}, Dotenv, []Var{{"A", "b"}}); !errors.Is(err, errDiskFull) {
		t.Errorf("got %v, want the writer's error", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"dotenv", "export", "json"} {
		f, err := ParseFormat(s)
		if err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "env", "DOTENV", " json", "yaml"} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q): no error", s)
		}
	}
}
