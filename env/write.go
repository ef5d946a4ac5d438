package env

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Format is the form of an output file (--format).
type Format string

// The output file forms.
const (
	// Dotenv reads back byte-exact with docker compose's parser (compose-go's dotenv
	// package, what --env-file and env_file: use). Nothing in it is ever $-expanded.
	Dotenv Format = "dotenv"
	// Export is POSIX sh: `export NAME='...'` lines, for `set -a; . FILE`.
	Export Format = "export"
	// JSON is one object of name to value, keys sorted, 2-space indented.
	JSON Format = "json"
)

// ParseFormat checks a --format value. The empty string is not accepted: the caller
// applies its own default.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Dotenv, Export, JSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want dotenv, export or json", s)
}

// Write writes vars to w in form f, sorted by name (vars itself is not reordered).
//
// It writes nothing and returns an error, naming the variable but never its value, if
// two vars share a name, if a name is not ValidName, or if a value cannot be written so
// that it reads back exactly in form f:
//   - dotenv and export: a value holding a NUL byte (no environment variable can hold
//     one, and shells drop it);
//   - json: a value that is not valid UTF-8 (JSON strings cannot carry it exactly;
//     encoding/json would silently replace it with U+FFFD).
//
// The whole output is built in memory first, so on error w has received nothing.
func Write(w io.Writer, f Format, vars []Var) error {
	if _, err := ParseFormat(string(f)); err != nil {
		return err
	}
	sorted := make([]Var, len(vars))
	copy(sorted, vars)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i, v := range sorted {
		if !ValidName(v.Name) {
			return fmt.Errorf("variable %q: not a valid variable name: want [A-Za-z_][A-Za-z0-9_]*", v.Name)
		}
		if i > 0 && sorted[i-1].Name == v.Name {
			return fmt.Errorf("variable %q: given more than once", v.Name)
		}
	}

	var b strings.Builder
	if f == JSON {
		if err := writeJSON(&b, sorted); err != nil {
			return err
		}
	} else {
		// Dotenv and Export differ only in the line's prefix and the quoting.
		prefix, quote := "", dotenvQuote
		if f == Export {
			prefix, quote = "export ", shQuote
		}
		for _, v := range sorted {
			if strings.IndexByte(v.Value, 0) >= 0 {
				return &UnwritableError{Name: v.Name, Format: f, NUL: true}
			}
			b.WriteString(prefix)
			b.WriteString(v.Name)
			b.WriteByte('=')
			b.WriteString(quote(v.Value))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// UnwritableError is a value the format cannot hold exactly: a NUL byte in dotenv or
// export, invalid UTF-8 in json.
type UnwritableError struct {
	Name   string
	Format Format
	NUL    bool // a NUL byte; else invalid UTF-8
}

func (e *UnwritableError) Error() string {
	if e.NUL {
		return fmt.Sprintf("variable %q: value holds a NUL byte, which no environment variable can hold and %s cannot write", e.Name, e.Format)
	}
	return fmt.Sprintf("variable %q: value is not valid UTF-8, which %s cannot hold exactly", e.Name, e.Format)
}

// dotenvQuote quotes a value for compose-go's dotenv parser.
//
// That parser reads a single-quoted value verbatim (no escapes, no interpolation) except
// that a backslash escapes the quote, so a value with neither ' nor \ is written in single
// quotes as is: the common case, and what a person reading the file expects.
//
// Any other value is double-quoted. Inside double quotes compose-go first drops the
// backslash of \" (and keeps every other backslash pair), then expands the escapes
// \\ \" \$ \n \t ... (\$ becomes $$), then interpolates, where $$ is a literal $.
// Escaping exactly \, " and $ with a backslash, and writing every other byte raw
// (newline, CR, tab, UTF-8 or not), therefore reads back exactly: each backslash
// the parser sees starts one of our three escapes, and each $ that reaches
// interpolation is part of a $$ pair. The round-trip tests and FuzzDotenvRoundTrip
// hold this against the real parser.
func dotenvQuote(s string) string {
	if !strings.ContainsAny(s, `'\`) {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// shQuote single-quotes s for POSIX sh: inside single quotes every byte is literal, and
// a ' becomes close-quote, backslash-quote, reopen-quote: the
// code below. No value can run a command.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeJSON writes one object, keys sorted (encoding/json sorts a map's keys), 2-space
// indented, with a trailing newline. HTML characters are not escaped (<, >, & stay as they
// are); the reader gets the same string either way.
func writeJSON(b *strings.Builder, vars []Var) error {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		if !utf8.ValidString(v.Value) {
			return &UnwritableError{Name: v.Name, Format: JSON}
		}
		m[v.Name] = v.Value
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		// Not reached (a map of strings always encodes, a Builder never fails), and an
		// encoder's error might quote what it could not encode.
		return errors.New("cannot encode the variables as json")
	}
	return nil
}
