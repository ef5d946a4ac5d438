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
	type found struct {
		at  int // index in environ
		ref fetch.VarRef
		err error
	}
	var fs []found
	for i, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		r, ok, err := ref.Parse(value, resolveARNs) // no work, no allocation for an ordinary value
		if !ok {
			continue
		}
		f := found{at: i, ref: fetch.VarRef{Var: name, Ref: r}}
		if err != nil {
			f.err = &usageError{msg: fmt.Sprintf("variable %s: %s", name, err), hint: ref.Hint}
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return nil, nil
	}
	// Only the first of a name given twice counts: the one getenv sees. The names are
	// indexed only when there are references, not at every start.
	first := make(map[string]int, len(fs))
	for _, f := range fs {
		first[f.ref.Var] = -1
	}
	for i, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if at, ok := first[name]; ok && at < 0 {
			first[name] = i
		}
	}
	var refs []fetch.VarRef
	var errs []error
	for _, f := range fs {
		switch {
		case first[f.ref.Var] != f.at:
		case f.err != nil:
			errs = append(errs, f.err)
		default:
			refs = append(refs, f.ref)
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
