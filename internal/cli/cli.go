// Package cli is the secretexec command: its flags and their SECRETEXEC_* twins, its messages
// and the advice in them, and the phases of a start (configure, fetch, check the command,
// write the output file, exec or supervise), with the --dry-run and --verbose plan text.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/proc"
	"github.com/secretexec/secretexec/ref"
)

// Build is what a release build stamps into the binary (main.version, main.commit).
type Build struct {
	Version string
	Commit  string
}

// Main is the whole command: it reads only its parameters, returns the exit status, and on
// success with a command does not return at all (the command replaces the process).
func Main(ctx context.Context, b Build, args, environ []string, stdout, stderr io.Writer) int {
	if status, handled := proc.ListenExec(args, environ); handled {
		return status // --listen's re-exec between fork and the command: see proc/listen.go
	}
	// First: from here a stopping signal gives 128+N and a message.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ints := proc.CatchInterrupts(cancel)
	defer ints.Stop()
	fallbackRoots() // TLS to AWS from FROM-scratch images with no CA store

	s := &start{build: b, ints: ints, lg: &logger{w: stderr}, stdout: stdout}
	status, err := s.run(ctx, args, env.Unique(environ))
	var in *interrupted
	switch {
	case err == nil:
		return status
	case errors.As(err, &in):
		// What the signal cut short is no news.
		status = proc.StatusSignaled(in.sig)
		s.lg.msg(levelError, "error", []field{fieldOf("status", status)}, "interrupted by %s %s; the command was not started", proc.SignalName(in.sig), in.what)
		return status
	}
	status = proc.Status(err)
	s.lg.fail(err, fieldOf("status", status))
	return status
}

// start is one start's state, phase to phase.
type start struct {
	build  Build
	ints   *proc.Interrupts
	lg     *logger
	stdout io.Writer

	c        *config
	base     []string // the inherited environment, each name once, SECRETEXEC_* removed
	refs     []ref.VarRef
	required []string       // --require and --require-file's names
	f        *fetch.Fetcher // nil when nothing is fetched
	fx       *fetched
	path     string // the command, looked up in the merged environment

	listeners []*proc.Listener // --listen, bound before the first start
}

// interrupted is a signal that stopped secretexec during what (a phase).
type interrupted struct {
	sig  syscall.Signal
	what string
}

func (e *interrupted) Error() string { return "interrupted " + e.what }

// interrupted reports a signal that stopped secretexec, if one did, as an error.
func (s *start) interrupted(what string) error {
	if sig, ok := s.ints.Caught(); ok {
		return &interrupted{sig: sig, what: what}
	}
	return nil
}

// run is the phases of a start. It returns an exit status, or an error for Main to report
// and map to one.
func (s *start) run(ctx context.Context, args, environ []string) (int, error) {
	if done, err := s.configure(args, environ); done || err != nil {
		return proc.StatusOK, err
	}
	c := s.c
	if err := s.fetch(ctx); err != nil {
		return 0, err
	}
	set, missing := s.requireState(s.fx)
	if c.dryRun {
		printRequired(s.stdout, s.required, set, missing)
		s.printWatchPlan()
		return proc.StatusOK, missing // a missing name fails the check a CI job runs
	}
	if missing != nil {
		return 0, missing
	}
	if c.output == "" || c.disable {
		// Nothing left to interrupt: deregister while the command is checked.
		s.ints.StopAsync()
	}
	// Everything that can fail about the command is checked before the output file is
	// written, so that a failed start never leaves a changed file behind.
	if len(c.command) > 0 {
		path, err := checkCommand(c.command, s.fx.merged)
		if err != nil {
			return 0, err
		}
		s.path = path
	}
	if len(c.listen) > 0 && len(c.command) > 0 {
		// Bound before the output file is written: an address in use changes nothing.
		ls, err := proc.Listen(c.listen)
		if err != nil {
			return 0, err
		}
		s.listeners = ls
		defer proc.CloseListeners(ls)
	}
	if c.output != "" && !c.disable {
		if err := s.writeOutput(ctx); err != nil {
			return 0, err
		}
	}
	if len(c.command) == 0 {
		return proc.StatusOK, nil
	}
	return s.runCommand(ctx)
}

// configure reads the flags and twins, the task definition's container, the references in
// the environment and the required names. done says the start is over (--help, --version).
func (s *start) configure(args, environ []string) (done bool, err error) {
	c, err := parseConfig(args, environ)
	s.lg.json = c.logFormat == "json"
	if err != nil {
		return false, err
	}
	if c.taskDef != "" && !c.help && !c.version {
		// The container's environment configures secretexec too, as in the container.
		if c, environ, err = loadTask(c, args, environ); err != nil {
			return false, err
		}
	}
	s.c = c
	s.lg.quiet, s.lg.verbose = c.quiet, c.verbose
	if usingFallbackRoots {
		s.lg.verbosef("no system CA store: TLS uses the bundled Mozilla roots")
	}
	switch {
	case c.help:
		io.WriteString(s.stdout, help)
		return true, nil
	case c.version:
		fmt.Fprintln(s.stdout, versionString(s.build))
		return true, nil
	}
	for _, w := range c.ineffective {
		s.lg.warnf("%s", w)
	}
	if c.supervised() {
		s.ints.HoldForCommand()
		// This process holds every value for as long as the command runs: no core file of
		// it, nor its memory to other processes of its user.
		if err := proc.NonDumpable(); err != nil {
			s.lg.verbosef("could not make secretexec non-dumpable: %v", err)
		}
	}
	s.base = env.Without(environ, env.Reserved)
	if s.refs, err = ref.Scan(s.base, c.resolveARNs); err != nil {
		return false, err
	}
	if c.task != nil {
		c.task.describe(s.lg)
		if !c.disable {
			s.base, s.refs = c.task.addSecrets(s.base, s.refs)
		}
	}
	s.required, err = requiredNames(c)
	return false, err
}

// fetch fetches every source and reference, within one --timeout, and merges them into the
// inherited environment; with SECRETEXEC_DISABLE it only says what it skips.
func (s *start) fetch(ctx context.Context) error {
	c := s.c
	if c.disable {
		if c.task != nil && len(c.task.secrets) > 0 {
			s.lg.warnf("SECRETEXEC_DISABLE is set: not setting container %q's secrets %s", c.task.name, c.task.secretNames())
		}
		if len(s.refs) > 0 {
			s.lg.warnf("SECRETEXEC_DISABLE is set: not fetching secrets; references left unresolved in %s", refNames(s.refs))
		} else {
			s.lg.warnf("SECRETEXEC_DISABLE is set: not fetching secrets")
		}
		if c.output != "" {
			s.lg.warnf("SECRETEXEC_DISABLE is set: not writing %s", c.output)
		}
		s.fx = &fetched{merged: s.base}
		return nil
	}
	if len(c.sources) == 0 && len(s.refs) == 0 {
		s.lg.warnf("no --ssm-path, --secret-id or reference given: nothing to fetch")
		if c.dryRun {
			printPlan(s.stdout, c, planLines(c, nil, nil))
		}
		s.fx = &fetched{merged: s.base}
		if c.output != "" {
			s.fx.names = c.task.envNames()
		}
		return s.interrupted("while fetching")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var err error
	o := fetch.Options{Region: c.region, Retries: c.retries, Timeout: c.timeout, AppID: appID(s.build), AllowEmpty: c.allowEmpty, Role: c.role(s.base)}
	if t := c.task; t != nil {
		if o.Region == "" && t.envRegion != "" {
			o.Region = t.envRegion
			s.lg.verbosef("region %s, from container %q's environment", o.Region, t.name)
		}
		o.DefaultRegion = t.arnRegion
	}
	if c.verbose {
		o.Logf = s.lg.verbosef
	}
	s.f, err = fetch.New(ctx, o, c.sources, s.refs)
	if err == nil {
		s.ints.Ready() // the signals are caught before the first request
		s.fx, err = s.fetchMerge(ctx, &report{lg: s.lg, stdout: s.stdout})
	}
	if in := s.interrupted("while fetching"); in != nil {
		return in
	}
	if err != nil {
		return timeoutErr(ctx, c, err)
	}
	return nil
}

// checkCommand finds the command in env's PATH and checks that execve can carry argv and env:
// what would stop the command from starting, found before anything is written or run.
func checkCommand(argv, env_ []string) (string, error) {
	path, err := proc.LookPath(argv[0], env_)
	if err != nil {
		return "", err
	}
	if err := proc.CheckFormat(path); err != nil {
		return "", err
	}
	if err := env.CheckExec(append([]string{path}, argv...), env_, proc.ExecLimit()); err != nil {
		return "", err
	}
	return path, nil
}

// writeOutput writes --output, and says so without a command.
func (s *start) writeOutput(ctx context.Context) error {
	c := s.c
	n, err := writeOutput(ctx, c, s.fx.merged, s.fx.names)
	what := "after writing " + c.output
	if err != nil {
		what = "while writing " + c.output + ", which was left as it was"
	}
	if in := s.interrupted(what); in != nil {
		return in
	}
	if err != nil {
		return err
	}
	if len(c.command) == 0 && !c.quiet {
		s.lg.line("", fmt.Sprintf("wrote %s to %s (mode 0600)", plural(n, "variable"), c.output))
	}
	return nil
}

// runCommand execs the command, or under --init and --watch starts and supervises it.
func (s *start) runCommand(ctx context.Context) (int, error) {
	c := s.c
	// From here a signal takes its default action (it ends secretexec with 128+N as status)
	// rather than being caught and lost while the command replaces us; under --init the
	// supervisor, registered first, takes it.
	var sv *proc.Supervisor
	if c.supervised() {
		sv = proc.New()
		defer sv.Close()
	}
	s.ints.Stop()
	if in := s.interrupted("before the command started"); in != nil {
		return 0, in
	}
	if c.supervised() {
		// Stay PID 1. The supervisor forwards signals from its start; WithoutCancel because
		// nothing but the child's exit should end it.
		return s.supervise(context.WithoutCancel(ctx), sv)
	}
	s.lg.verbosef("exec %s", s.path)
	return 0, proc.Exec(s.path, c.command, s.fx.merged)
}

// refNames lists the variables holding references, for a warning.
func refNames(refs []ref.VarRef) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Var
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
