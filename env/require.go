package env

import (
	"fmt"
	"strings"
)

// NamesError is a line of a names file that is not a name. It gives the line's number only:
// the line may hold a value.
type NamesError struct {
	Line int
	Msg  string
}

func (e *NamesError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseNames reads a .env.example-style list of variable names, in file order, each once:
// one name per line; NAME=anything and export NAME=anything give NAME; blank lines and
// lines starting with # are skipped, as is a # comment after a bare name. A value quoted
// with " or ' may run over several lines, as in a dotenv file. Anything else is a
// *NamesError naming the line.
func ParseNames(data string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
		}
		name, value, hasValue := strings.Cut(line, "=")
		name = strings.TrimRight(name, " \t")
		if !hasValue {
			// A bare name, perhaps with a comment after it.
			if j := strings.IndexByte(name, '#'); j > 0 && (name[j-1] == ' ' || name[j-1] == '\t') {
				name = strings.TrimRight(name[:j], " \t")
			}
		}
		if !ValidName(name) {
			return nil, &NamesError{Line: n, Msg: "not NAME, NAME=VALUE or export NAME=VALUE (a name is letters, digits and _, not starting with a digit)"}
		}
		if hasValue {
			// A quoted value that does not close on its line continues on the next ones.
			value = strings.TrimLeft(value, " \t")
			if value != "" && (value[0] == '"' || value[0] == '\'') && !closes(value[1:], value[0]) {
				j := i + 1
				for ; j < len(lines) && !closes(lines[j], value[0]); j++ {
				}
				if j == len(lines) {
					return nil, &NamesError{Line: n, Msg: "the quoted value does not end"}
				}
				i = j
			}
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, nil
}

// closes reports whether s holds the closing quote q, one not escaped by \: compose-go's
// dotenv parser skips an escaped quote inside single quotes too (\'), so a value such as
// 'it\'s' does not end at its second quote.
func closes(s string, q byte) bool {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == q:
			return true
		}
	}
	return false
}
