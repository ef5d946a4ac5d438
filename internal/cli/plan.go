package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/proc"
	"github.com/secretexec/secretexec/internal/watch"
	"github.com/secretexec/secretexec/ref"
)

// fetched is one fetch merged into the inherited environment.
type fetched struct {
	merged []string // the command's environment
	// names are the fetched variables (sources' and resolved references'), which --output
	// writes; from says where each one came from, which --watch compares and names.
	names []string
	from  map[string]string
}

// report is where the start's fetch says what it fetched and decided (--verbose) and
// prints the --dry-run plan. A --watch check has none.
type report struct {
	lg     *logger
	stdout io.Writer
}

// fetchMerge fetches every source and reference with s.f and merges the result into the
// inherited environment. With a report it says what it fetched and decided under
// --verbose, and prints the --dry-run plan.
func (s *start) fetchMerge(ctx context.Context, rep *report) (*fetched, error) {
	c := s.c
	began := time.Now()
	results, resolved, err := s.f.FetchAll(ctx, c.sources, s.refs)
	if err != nil {
		return nil, err
	}
	// A resolved reference is the inherited value: it replaces the reference in place, and
	// the sources then apply to it as to any inherited variable.
	values := make(map[string]string, len(resolved))
	for _, r := range resolved {
		values[r.Var] = r.Value
	}
	base := ref.Replace(s.base, values)
	layers := make([]env.Layer, len(results))
	for i, r := range results {
		l := env.Layer{Source: r.Source.String(), Vars: make([]env.Var, 0, len(r.Items)), Descs: make([]string, 0, len(r.Items))}
		for _, it := range r.Items {
			l.Vars = append(l.Vars, it.Var)
			l.Descs = append(l.Descs, it.Desc)
			if rep != nil && it.Var.Name != it.Key && r.Source.Kind == fetch.Secret && r.Source.Bind == "" {
				rep.lg.verbosef("%s: key %q is variable %s", r.Source, it.Key, it.Var.Name)
			}
		}
		layers[i] = l
		if rep != nil {
			rep.lg.verbosef("%s: %s, %s", r.Source, plural(len(r.Items), "variable"), plural(r.Calls, "request"))
		}
	}
	fx := &fetched{}
	var decisions []env.Decision
	fx.merged, decisions = env.Merge(base, layers, !c.noOverride)
	if rep != nil {
		rep.lg.verbosef("fetched %d sources and %d references in %s", len(results), len(resolved), time.Since(began).Round(time.Millisecond))
	}
	if rep != nil && (c.verbose || c.dryRun) { // only then: it is a line of text per variable
		lines := planLines(c, resolved, decisions)
		if c.verbose {
			for _, l := range lines {
				rep.lg.verbosef("%s", l)
			}
		}
		if c.dryRun {
			printPlan(rep.stdout, c, lines)
		}
	}
	if c.output != "" {
		fx.names = c.task.envNames()
		for _, r := range resolved {
			fx.names = append(fx.names, r.Var)
		}
		for _, d := range decisions {
			fx.names = append(fx.names, d.Name)
		}
	}
	if c.watch > 0 {
		// Where each variable's value comes from: the reference, unless a source set it.
		fx.from = make(map[string]string, len(resolved)+len(decisions))
		for _, r := range resolved {
			fx.from[r.Var] = r.Ref.String()
		}
		for _, d := range decisions {
			if d.Action != env.Shadowed && d.Action != env.Kept {
				fx.from[d.Name] = d.Source
			} else if _, ok := fx.from[d.Name]; !ok && d.Action == env.Kept {
				fx.from[d.Name] = "inherited, kept by --no-override"
			}
		}
		for _, name := range c.task.envNames() {
			if _, ok := fx.from[name]; !ok {
				fx.from[name] = fmt.Sprintf("container %q's environment", c.task.name)
			}
		}
	}
	return fx, nil
}

// timeoutErr turns a deadline into an error that says which limit ran out.
func timeoutErr(ctx context.Context, c *config, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		hint := Hint(err) // e.g. throttling: the last answer says more than the deadline
		if hint == "" {
			hint = "AWS did not answer in time: check the network path to AWS (VPC endpoints, NAT, proxy) or raise --timeout"
		}
		return &hintError{err: fmt.Errorf("timed out after %s: %w", c.timeout, err), hint: hint}
	}
	return err
}

func describe(d env.Decision) string {
	from := d.Source
	if d.Desc != "" {
		from += " " + d.Desc
	}
	if d.Action == env.Shadowed {
		return fmt.Sprintf("%s: from %s, shadowed by %s", d.Name, from, d.By)
	}
	return fmt.Sprintf("%s: from %s, %s", d.Name, from, d.Action)
}

// planLine is one line of the plan, about one variable.
type planLine struct {
	name, text string
}

// planLines describes, sorted by variable name, the task definition's environment, each
// resolved reference and each decision about a fetched variable: names and where they came
// from, never values.
func planLines(c *config, resolved []fetch.Resolved, decisions []env.Decision) []string {
	var ls []planLine
	if c.task != nil {
		ls = c.task.planLines()
	}
	for _, r := range resolved {
		from := c.task.secretFrom(r.Var)
		if from == "" {
			from = r.Ref.String()
		}
		ls = append(ls, planLine{r.Var, fmt.Sprintf("%s: from %s", r.Var, from)})
	}
	for _, d := range decisions {
		ls = append(ls, planLine{d.Name, describe(d)})
	}
	// Stable: the task definition's environment, then a reference, come before the sources
	// that may then override them.
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.text
	}
	return out
}

// printPlan writes the --dry-run plan: names, sources and decisions, never values.
func printPlan(w io.Writer, c *config, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if len(c.command) > 0 {
		fmt.Fprintf(w, "would exec %q\n", c.command)
	} else if c.task != nil && c.output == "" {
		fmt.Fprintf(w, "no command: container %q gives none (a start needs one after --)\n", c.task.name)
	}
	if c.output != "" {
		fmt.Fprintf(w, "would write %s (%s)\n", c.output, c.format)
	}
}

// printWatchPlan ends the --dry-run plan with what --watch would do.
func (s *start) printWatchPlan() {
	c := s.c
	if c.watch > 0 && !c.disable {
		fmt.Fprintf(s.stdout, "would watch %s every %s (the first check at a random point of the first %s, then every %s ±10%%); on a change: %s\n",
			watched(c, s.refs), c.watch, c.watch, c.watch, onChangePlan(c))
	}
}

// watched names what --watch checks, for --dry-run and --verbose.
func watched(c *config, refs []ref.VarRef) string {
	var parts []string
	if n := len(c.sources); n > 0 {
		parts = append(parts, plural(n, "source"))
	}
	if n := len(refs); n > 0 {
		parts = append(parts, plural(n, "reference"))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " and ")
}

// onChangePlan says what --on-change does, for --dry-run.
func onChangePlan(c *config) string {
	switch c.onChange.action {
	case watch.Signal:
		return fmt.Sprintf("rewrite %s and send the command %s", c.output, proc.SignalName(c.onChange.sig))
	case watch.Exit:
		return fmt.Sprintf("stop the command (%s, SIGKILL after %s) and exit with status %d", proc.SignalName(c.stopSignal), c.stopTimeout, proc.StatusChanged)
	}
	return fmt.Sprintf("restart the command (stop it with %s, SIGKILL after %s)", proc.SignalName(c.stopSignal), c.stopTimeout)
}
