// Package env turns fetched secrets into environment variables: one name mapping, merge
// and precedence, dotenv/export/json writers and exec-size checks. It is pure: no AWS, no os.Getenv.
package env

import "strings"

// Var is one variable a source produced, after name mapping.
type Var struct {
	Name  string
	Value string
}

// Name maps a source key (a parameter path below --ssm-path, or a JSON key) to a variable
// name: "/" and every other character outside [A-Za-z0-9_] become "_", and a leading digit
// gets a "_" prefix. Case is kept. An empty key gives an empty name, which
// callers reject. It is the only name mapping: exec, dry-run and every
// writer use it.
func Name(key string) string {
	if ValidName(key) {
		return key // already a name: no copy, the common case at every start
	}
	var b strings.Builder
	b.Grow(len(key) + 1)
	for i, r := range key {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_') // one "_" per character, however many bytes it takes
		}
	}
	return b.String()
}

// ReservedPrefix is secretexec's own namespace: its configuration (SECRETEXEC_SSM_PATH,
// SECRETEXEC_DISABLE, ...). No fetched variable may have a name in it: whoever can write a
// parameter or a secret could otherwise reconfigure, or switch off, a secretexec the
// command runs in turn.
const ReservedPrefix = "SECRETEXEC_"

// Reserved reports whether name is in ReservedPrefix's namespace.
func Reserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }

// ValidName reports whether name can be written as a variable name by every writer.
func ValidName(name string) bool {
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
