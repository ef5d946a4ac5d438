package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
)

// requiredNames are --require's names, then --require-file's, each once.
func requiredNames(c *config) ([]string, error) {
	names := slices.Clone([]string(c.require))
	if c.requireFile == "" {
		return names, nil
	}
	data, err := os.ReadFile(c.requireFile)
	if err != nil {
		return nil, fmt.Errorf("--require-file: %w", err)
	}
	fromFile, err := env.ParseNames(string(data))
	if err != nil {
		return nil, &hintError{err: fmt.Errorf("--require-file %s: %w", c.requireFile, err), usage: true}
	}
	for _, name := range fromFile {
		if env.Reserved(name) {
			return nil, usagef("remove it from the file: SECRETEXEC_* variables configure secretexec and never reach the command", "--require-file %s: %s is in secretexec's own SECRETEXEC_ namespace", c.requireFile, name)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// missingError is required names that are unset or empty where the check looked: what the
// command gets, or in runbook mode what --output writes.
type missingError struct {
	missing []string // in the order required
	empty   map[string]bool
	output  string // runbook mode: the file that would lack them
	// What could have set them, for the hint.
	sources  []fetch.Source
	refs     int
	task     *taskRun
	disabled bool
}

func (e *missingError) Error() string {
	parts := make([]string, len(e.missing))
	for i, name := range e.missing {
		parts[i] = name
		if e.empty[name] {
			parts[i] += " (empty)"
		}
	}
	what := "required variable is"
	if len(e.missing) > 1 {
		what = fmt.Sprintf("%d required variables are", len(e.missing))
	}
	where := "missing"
	if e.output != "" {
		where = "missing from " + e.output
	}
	return fmt.Sprintf("%s %s: %s", what, where, strings.Join(parts, ", "))
}

// requireState says, for each required name, whether the check finds it set: in what the
// command gets (merged), or in runbook mode among the variables --output writes. Under
// SECRETEXEC_DISABLE nothing is written, and the inherited environment is what a local
// run has: it is checked in every mode.
func (s *start) requireState(fx *fetched) (set map[string]bool, err error) {
	c := s.c
	if len(s.required) == 0 {
		return nil, nil
	}
	runbook := len(c.command) == 0 && c.output != "" && !c.disable
	var written map[string]bool
	if runbook {
		written = make(map[string]bool, len(fx.names))
		for _, name := range fx.names {
			written[name] = true
		}
	}
	set = make(map[string]bool, len(s.required))
	e := &missingError{empty: map[string]bool{}, sources: c.sources, refs: len(s.refs), task: c.task, disabled: c.disable}
	if runbook {
		e.output = c.output
	}
	for _, name := range s.required {
		v, ok := env.Lookup(fx.merged, name)
		if runbook && !written[name] {
			ok = false
		}
		if set[name] = ok && v != ""; !set[name] {
			e.missing = append(e.missing, name)
			e.empty[name] = ok
		}
	}
	if len(e.missing) == 0 {
		return set, nil
	}
	return set, e
}

// printRequired ends the --dry-run plan with each required name and whether it is set.
func printRequired(w io.Writer, required []string, set map[string]bool, err error) {
	me, _ := err.(*missingError)
	for _, name := range required {
		state := "set"
		switch {
		case set[name]:
		case me != nil && me.empty[name]:
			state = "EMPTY"
		default:
			state = "MISSING"
		}
		fmt.Fprintf(w, "required %s: %s\n", name, state)
	}
}
