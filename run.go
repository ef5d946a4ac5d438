package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/atomicfile"
	"github.com/secretexec/secretexec/internal/supervise"
)

// Exit codes, as the design fixes them.
const (
	exitOK       = 0
	exitFailure  = 125 // secretexec's own failure: usage, config, fetch, output
	exitNoExec   = 126 // the command was found but could not be executed
	exitNotFound = 127 // the command was not found
)

// run is the whole command: it reads only its arguments, returns the exit status, and on
// success does not return at all (the command replaces the process).
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	// First: from here a stopping signal gives 128+N and a message (signals.go).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ints := catchInterrupts(cancel)
	defer ints.stop()
	fallbackRoots() // TLS to AWS from FROM-scratch images with no CA store

	lg := &logger{w: stderr}
	c, err := parseConfig(args, environ)
	if err != nil {
		lg.fail(err)
		return exitFailure
	}
	lg.quiet, lg.verbose = c.quiet, c.verbose
	if usingFallbackRoots {
		lg.verbosef("no system CA store: TLS uses the bundled Mozilla roots")
	}
	switch {
	case c.help:
		io.WriteString(stdout, usage)
		return exitOK
	case c.version:
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	if c.supervised() {
		ints.holdForCommand()
	}
	// interrupted reports a signal that stopped secretexec during what (a phase).
	interrupted := func(what string) (int, bool) {
		s, ok := ints.caught()
		if !ok {
			return 0, false
		}
		lg.errorf("interrupted by %s %s; the command was not started", sigName(s), what)
		return 128 + int(s), true
	}

	base := env.Without(environ, func(name string) bool { return strings.HasPrefix(name, envPrefix) })
	refs, err := scanRefs(base, c.resolveARNs)
	if err != nil {
		lg.fail(err)
		return exitFailure
	}
	fx := &fetched{merged: base}
	var f *fetch.Fetcher
	if c.disable {
		if len(refs) > 0 {
			lg.warnf("SECRETEXEC_DISABLE is set: not fetching secrets; references left unresolved in %s", refNames(refs))
		} else {
			lg.warnf("SECRETEXEC_DISABLE is set: not fetching secrets")
		}
		if c.output != "" {
			lg.warnf("SECRETEXEC_DISABLE is set: not writing %s", c.output)
		}
	} else {
		f, fx, err = fetchStart(ctx, c, refs, base, lg, stdout, ints.ready)
		if sc, ok := interrupted("while fetching"); ok {
			return sc // what the signal cut short is no news
		}
		if err != nil {
			lg.fail(err)
			return exitFailure
		}
	}
	merged := fx.merged
	if c.dryRun {
		if c.watch > 0 && !c.disable {
			fmt.Fprintf(stdout, "would watch %s every %s (the first check at a random point of the first %s, then every %s ±10%%); on a change: %s\n",
				watched(c, refs), c.watch, c.watch, c.watch, onChangePlan(c))
		}
		return exitOK
	}
	if c.output == "" || c.disable {
		// Nothing left to interrupt: deregister while the command is checked.
		ints.stopAsync()
	}

	// Everything that can fail about the command is checked before the output file is
	// written, so that a failed start never leaves a changed file behind.
	var path string
	if len(c.command) > 0 {
		var code int
		var err error
		path, code, err = lookPath(c.command[0], merged)
		if err != nil {
			lg.fail(err)
			return code
		}
		if err := env.CheckExec(append([]string{path}, c.command...), merged, execLimit()); err != nil {
			lg.fail(execEnvError(err))
			return exitFailure
		}
	}
	if c.output != "" && !c.disable {
		n, err := writeOutput(ctx, c, merged, fx.names)
		what := "after writing " + c.output
		if err != nil {
			what = "while writing " + c.output + ", which was left as it was"
		}
		if sc, ok := interrupted(what); ok {
			return sc
		}
		if err != nil {
			lg.fail(err)
			return exitFailure
		}
		if len(c.command) == 0 && !c.quiet {
			lg.line("", fmt.Sprintf("wrote %s to %s (mode 0600)", plural(n, "variable"), c.output))
		}
	}
	if len(c.command) == 0 {
		return exitOK
	}
	// From here a signal takes its default action (it ends secretexec with 128+N as status)
	// rather than being caught and lost while the command replaces us; under --init the
	// supervisor, registered first, takes it.
	var sv *supervise.Supervisor
	if c.supervised() {
		sv = supervise.New()
		defer sv.Close()
	}
	ints.stop()
	if sc, ok := interrupted("before the command started"); ok {
		return sc
	}
	if c.supervised() {
		// --init: stay PID 1. The supervisor forwards signals from its start; WithoutCancel
		// because nothing but the child's exit should end it.
		lg.verbosef("start %s as a child (--init)", path)
		w := &watcher{c: c, lg: lg, sv: sv, path: path, f: f, refs: refs, base: base, fx: fx}
		return w.run(context.WithoutCancel(ctx), ints.heldForCommand())
	}
	lg.verbosef("exec %s", path)
	err = execve(path, c.command, merged)
	lg.fail(execError(path, err))
	return execFailureCode(err)
}

// fetched is one fetch merged into the inherited environment.
type fetched struct {
	merged []string // the command's environment
	// names are the fetched variables (sources' and resolved references'), which --output
	// writes; from says where each one came from, which --watch compares and names.
	names []string
	from  map[string]string
}

// fetchStart builds the AWS clients and fetches every source and reference, within one
// --timeout, for the command's start.
func fetchStart(ctx context.Context, c *config, refs []fetch.VarRef, base []string, lg *logger, stdout io.Writer, ready func()) (*fetch.Fetcher, *fetched, error) {
	if len(c.sources) == 0 && len(refs) == 0 {
		lg.warnf("no --ssm-path, --secret-id or reference given: nothing to fetch")
		if c.dryRun {
			printPlan(stdout, c, nil)
		}
		return nil, &fetched{merged: base}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	o := fetch.Options{Region: c.region, Retries: c.retries, Timeout: c.timeout, AppID: appID(), AllowEmpty: c.allowEmpty}
	if c.verbose {
		o.Logf = lg.verbosef
	}
	f, err := fetch.New(ctx, o, c.sources, refs)
	if err != nil {
		return nil, nil, timeoutErr(ctx, c, err)
	}
	ready() // the signals are caught before the first request
	fx, err := fetchMerge(ctx, c, f, refs, base, lg, stdout, true)
	if err != nil {
		return nil, nil, timeoutErr(ctx, c, err)
	}
	return f, fx, nil
}

// fetchMerge fetches every source and reference and merges the result into base. At start
// (report) it says what it fetched and decided under --verbose, and prints the --dry-run plan.
func fetchMerge(ctx context.Context, c *config, f *fetch.Fetcher, refs []fetch.VarRef, base []string, lg *logger, stdout io.Writer, report bool) (*fetched, error) {
	start := time.Now()
	results, resolved, err := f.FetchAll(ctx, c.sources, refs)
	if err != nil {
		return nil, err
	}
	// A resolved reference is the inherited value: it replaces the reference in place, and
	// the sources then apply to it as to any inherited variable.
	base = replaceRefs(base, resolved)
	layers := make([]env.Layer, len(results))
	for i, r := range results {
		l := env.Layer{Source: r.Source.String(), Vars: make([]env.Var, 0, len(r.Items)), Descs: make([]string, 0, len(r.Items))}
		for _, it := range r.Items {
			l.Vars = append(l.Vars, it.Var)
			l.Descs = append(l.Descs, it.Desc)
			if report && it.Var.Name != it.Key && r.Source.Kind == fetch.Secret && r.Source.Bind == "" {
				lg.verbosef("%s: key %q is variable %s", r.Source, it.Key, it.Var.Name)
			}
		}
		layers[i] = l
		if report {
			lg.verbosef("%s: %s, %s", r.Source, plural(len(r.Items), "variable"), plural(r.Calls, "request"))
		}
	}
	fx := &fetched{}
	var decisions []env.Decision
	fx.merged, decisions = env.Merge(base, layers, !c.noOverride)
	if report {
		lg.verbosef("fetched %d sources and %d references in %s", len(results), len(resolved), time.Since(start).Round(time.Millisecond))
	}
	if report && (c.verbose || c.dryRun) { // only then: it is a line of text per variable
		lines := planLines(resolved, decisions)
		if c.verbose {
			for _, l := range lines {
				lg.verbosef("%s", l)
			}
		}
		if c.dryRun {
			printPlan(stdout, c, lines)
		}
	}
	if c.output != "" {
		for _, r := range resolved {
			fx.names = append(fx.names, r.Var)
		}
		for _, d := range decisions {
			fx.names = append(fx.names, d.Name)
		}
	}
	if c.watch > 0 {
		// Where each variable's value comes from: the reference, unless a source set it.
		fx.from = make(map[string]string, len(fx.names))
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
	}
	return fx, nil
}

// writeOutput writes the fetched variables, with the values the command gets, to --output.
func writeOutput(ctx context.Context, c *config, merged []string, names []string) (int, error) {
	f := env.Format(c.format) // checked by parseConfig
	vars := env.Pick(merged, names)
	err := atomicfile.WriteFunc(ctx, c.output, func(w io.Writer) error { return env.Write(w, f, vars) })
	if errors.Is(err, atomicfile.ErrSymlink) {
		return 0, &hintError{err: fmt.Errorf("--output: %w", err), hint: "secretexec never writes through a symlink: give the real path, or remove the link"}
	}
	if err != nil {
		return 0, fmt.Errorf("--output: %w", err)
	}
	return len(vars), nil
}

// execEnvError gives an environment execve cannot pass its hint.
func execEnvError(err error) error {
	var ne *env.NULError
	if errors.As(err, &ne) {
		return &hintError{err: err, hint: "remove the NUL byte from the value in AWS; without a command, --output FILE --format json can hold it"}
	}
	return err
}

// timeoutErr turns a deadline into an error that says which limit ran out.
func timeoutErr(ctx context.Context, c *config, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		hint := "AWS did not answer in time: check the network path to AWS (VPC endpoints, NAT, proxy) or raise --timeout"
		var h hinter
		if errors.As(err, &h) && h.Hint() != "" {
			hint = h.Hint() // e.g. throttling: the last answer says more than the deadline
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

// planLines describes, sorted by variable name, each resolved reference and each decision
// about a fetched variable: names and where they came from, never values.
func planLines(resolved []fetch.Resolved, decisions []env.Decision) []string {
	type line struct {
		name, text string
	}
	var ls []line
	for _, r := range resolved {
		ls = append(ls, line{r.Var, fmt.Sprintf("%s: from %s", r.Var, r.Ref)})
	}
	for _, d := range decisions {
		ls = append(ls, line{d.Name, describe(d)})
	}
	// Stable: a reference comes before the sources that may then override it.
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
	}
	if c.output != "" {
		fmt.Fprintf(w, "would write %s (%s)\n", c.output, c.format)
	}
}

func sigName(s os.Signal) string {
	if ss, ok := s.(syscall.Signal); ok {
		if n := unix.SignalName(ss); n != "" {
			return n
		}
	}
	return s.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
