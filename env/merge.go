package env

import (
	"sort"
	"strings"
)

// Layer is what one source produced, in command-line order.
type Layer struct {
	Source string // how messages name the source
	Vars   []Var
	Descs  []string // optional, parallel to Vars: where each value came from inside the source
}

// Action is what merging did with one fetched variable.
type Action string

const (
	Set       Action = "set" // not inherited: added
	Override  Action = "overrides inherited"
	Kept      Action = "kept inherited"    // --no-override and the inherited value is not empty
	Shadowed  Action = "shadowed"          // a later source set it too
	Unchanged Action = "same as inherited" // fetched and inherited values are equal
)

// Decision records, for --dry-run and --verbose, which source a variable came from and
// what happened to it. It holds no value.
type Decision struct {
	Name   string
	Source string
	Desc   string
	Action Action
	By     string // for Shadowed: the source that won
}

// Merge applies the layers to the inherited environment (a list of "NAME=VALUE") and returns
// the resulting environment and one decision per fetched variable, sorted by name then layer.
// Rules: the last layer that sets a name wins; a fetched value replaces an inherited one
// unless override is false and the inherited value is not empty. The inherited order is kept
// and new names are appended sorted; an inherited name given more than once ends up once,
// with its first value (Unique).
func Merge(inherited []string, layers []Layer, override bool) ([]string, []Decision) {
	n := 0
	for _, l := range layers {
		n += len(l.Vars)
	}
	// Sized up front: this runs at every start, and growing maps is most of its garbage.
	// The command's environment is Unique already; the map that indexes it finds a
	// duplicate too, so the common case builds one map, not Unique's and this one.
	inh := make(map[string]string, len(inherited))
	dup := false
	for _, kv := range inherited {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := inh[k]; ok {
			dup = true // the first is the one kept: Unique's rule
			continue
		}
		inh[k] = v
	}
	if dup {
		inherited = Unique(inherited)
	}
	type win struct {
		layer int
		value string
	}
	winner := make(map[string]win, n)
	for li, l := range layers {
		for _, v := range l.Vars {
			winner[v.Name] = win{li, v.Value}
		}
	}
	var decisions []Decision
	if n > 0 {
		decisions = make([]Decision, 0, n)
	}
	final := make(map[string]string, n)
	for li, l := range layers {
		for vi, v := range l.Vars {
			d := Decision{Name: v.Name, Source: l.Source}
			if vi < len(l.Descs) {
				d.Desc = l.Descs[vi]
			}
			w := winner[v.Name]
			old, inherited := inh[v.Name]
			switch {
			case w.layer != li:
				d.Action, d.By = Shadowed, layers[w.layer].Source
			case inherited && !override && old != "":
				d.Action = Kept
			case inherited && old == v.Value:
				d.Action = Unchanged
				final[v.Name] = v.Value
			case inherited:
				d.Action = Override
				final[v.Name] = v.Value
			default:
				d.Action = Set
				final[v.Name] = v.Value
			}
			decisions = append(decisions, d)
		}
	}
	out := make([]string, 0, len(inherited)+len(final))
	for _, kv := range inherited {
		k, _, _ := strings.Cut(kv, "=")
		if nv, ok := final[k]; ok {
			kv = k + "=" + nv
		} else if len(k) == len(kv) {
			kv += "=" // no "=" at all: written as an empty value, as before
		}
		out = append(out, kv)
	}
	var added []string
	for k := range final {
		if _, ok := inh[k]; !ok {
			added = append(added, k)
		}
	}
	sort.Strings(added)
	for _, k := range added {
		out = append(out, k+"="+final[k])
	}
	sort.SliceStable(decisions, func(i, j int) bool { return decisions[i].Name < decisions[j].Name })
	return out, decisions
}

// Unique returns environ with only the first entry of each name. It is the one rule for a
// name given more than once, wherever secretexec reads an environment: the first is the
// one getenv sees, so it is the one the command would have seen. Environments rarely hold
// duplicates, and then environ itself is returned.
func Unique(environ []string) []string {
	seen := make(map[string]struct{}, len(environ))
	var out []string // nil until the first duplicate
	for i, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			if out != nil {
				out = append(out, kv)
			}
			continue
		}
		if out == nil {
			out = append(make([]string, 0, len(environ)-1), environ[:i]...)
		}
	}
	if out == nil {
		return environ
	}
	return out
}

// Without returns environ without the variables whose names drop reports true.
func Without(environ []string, drop func(name string) bool) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !drop(k) {
			out = append(out, kv)
		}
	}
	return out
}

// Lookup returns the value of name in environ: the first, as getenv does (Unique's rule).
func Lookup(environ []string, name string) (string, bool) {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// Pick returns names' values in environ, which holds each name once (Unique, or what Merge
// returns), "" for a name not there, in one pass over environ: a start writing a thousand
// variables to a file, or a check comparing them, looks each up once. A name given twice in
// names comes once, where it first stands.
func Pick(environ []string, names []string) []Var {
	at := make(map[string]int, len(names))
	vars := make([]Var, 0, len(names))
	for _, name := range names {
		if _, dup := at[name]; !dup {
			at[name] = len(vars)
			vars = append(vars, Var{Name: name})
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if i, ok := at[k]; ok {
			vars[i].Value = v
		}
	}
	return vars
}
