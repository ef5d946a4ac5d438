package ref

import (
	"errors"
	"fmt"
	"strings"
)

// VarRef is an inherited variable whose value is a reference.
type VarRef struct {
	Var string
	Ref Ref
}

// ScanError is a variable whose value is a malformed reference. It names the variable and
// what is wrong with the form, never the value: a password that merely starts with "sm://"
// is still a password.
type ScanError struct {
	Var string
	Err error
}

func (e *ScanError) Error() string { return fmt.Sprintf("variable %s: %s", e.Var, e.Err) }
func (e *ScanError) Unwrap() error { return e.Err }

// Scan finds the variables of environ whose values are references (ssm://, sm://, and with
// resolveARNs the ECS valueFrom ARNs). environ holds each name once (env.Unique). Every
// malformed reference is reported, each as a *ScanError, joined.
func Scan(environ []string, resolveARNs bool) ([]VarRef, error) {
	var refs []VarRef
	var errs []error
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		r, ok, err := Parse(value, resolveARNs) // no work, no allocation for an ordinary value
		switch {
		case !ok:
		case err != nil:
			errs = append(errs, &ScanError{Var: name, Err: err})
		default:
			refs = append(refs, VarRef{Var: name, Ref: r})
		}
	}
	return refs, errors.Join(errs...)
}

// Replace puts each resolved value (by variable name) in place of its reference. environ
// holds each name once (env.Unique).
func Replace(environ []string, values map[string]string) []string {
	if len(values) == 0 {
		return environ
	}
	out := make([]string, len(environ))
	for i, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := values[name]; ok {
			kv = name + "=" + v
		}
		out[i] = kv
	}
	return out
}
