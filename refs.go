package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/ref"
)

// scanRefs finds the inherited variables whose values are references (ssm://, sm://, and
// with resolveARNs the ECS valueFrom ARNs). Only the first of a name given twice counts, as
// it is the one getenv sees. Every malformed reference is reported, each naming its variable.
func scanRefs(environ []string, resolveARNs bool) ([]fetch.VarRef, error) {
	var refs []fetch.VarRef
	var errs []error
	seen := map[string]bool{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if seen[name] {
			continue
		}
		seen[name] = true
		r, ok, err := ref.Parse(value, resolveARNs)
		switch {
		case !ok:
		case err != nil:
			errs = append(errs, &usageError{msg: fmt.Sprintf("variable %s: %s", name, err), hint: ref.Hint})
		default:
			refs = append(refs, fetch.VarRef{Var: name, Ref: r})
		}
	}
	return refs, errors.Join(errs...)
}

// replaceRefs puts each resolved value in place of its reference.
func replaceRefs(environ []string, resolved []fetch.Resolved) []string {
	if len(resolved) == 0 {
		return environ
	}
	vals := make(map[string]string, len(resolved))
	for _, r := range resolved {
		vals[r.Var] = r.Value
	}
	out := make([]string, 0, len(environ))
	done := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := vals[name]; ok {
			if done[name] {
				continue // a later duplicate must not bring the reference back
			}
			done[name] = true
			kv = name + "=" + v
		}
		out = append(out, kv)
	}
	return out
}

// refNames lists the variables holding references, for a warning.
func refNames(refs []fetch.VarRef) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Var
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
