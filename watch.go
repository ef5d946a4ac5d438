package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/supervise"
)

// exitChanged is the exit status after --on-change exit stopped the command: the
// orchestrator's restart policy starts a fresh container (75 is EX_TEMPFAIL, "try again";
// distinct from 125-127 and from a command's 128+N).
const exitChanged = 75

// watcher runs the command under the supervisor (--init) and, with --watch, checks the
// sources every so often and applies a change as --on-change says. A check that fails
// changes nothing; the command's own exit ends it with the command's status; a signal that
// stops secretexec goes to the command, and no command starts after it.
type watcher struct {
	c    *config
	lg   *logger
	sv   *supervise.Supervisor
	path string
	f    *fetch.Fetcher // nil when nothing is fetched
	refs []fetch.VarRef
	base []string // the inherited environment, SECRETEXEC_* removed, references unresolved

	fx       *fetched // what the command is first started with
	snap     snapshot
	child    *supervise.Child
	stopping bool // a signal that stops secretexec was passed on: no command starts after it
	failing  bool // the last check failed (one warning per streak)
}

// run starts the command, delivers the signals held while fetching, and supervises it
// until it exits. With --watch it checks meanwhile.
func (w *watcher) run(ctx context.Context, held []os.Signal) int {
	w.sv.Forwarded = func(sig syscall.Signal) {
		if slices.Contains(stopSignals, os.Signal(sig)) {
			w.stopping = true
		}
	}
	if code, ok := w.start(w.fx.merged); !ok {
		return code
	}
	for _, s := range held {
		w.lg.verbosef("%s arrived before the command started: delivered to it (pid %d)", sigName(s), w.child.Pid())
		_ = w.child.Signal(s.(syscall.Signal))
	}
	if w.c.watch == 0 || w.f == nil {
		if w.c.watch > 0 {
			w.lg.warnf("--watch: nothing to watch")
		}
		status, _ := w.sv.Wait(ctx, w.child)
		return status
	}
	w.snap = newSnapshot(w.fx.merged, w.fx.from)
	ctx, cancel := context.WithCancel(ctx) // no check outlives the command
	defer cancel()
	results := make(chan checkResult, 1)
	first := nextCheck(true, w.c.watch)
	w.lg.verbosef("watching %s every %s; the first check in %s", watched(w.c, w.refs), w.c.watch, first.Round(time.Millisecond))
	timer := time.AfterFunc(first, func() { results <- w.check(ctx) })
	defer func() { timer.Stop() }()
	for {
		status, r, exited := w.waitFor(results)
		if exited {
			return status
		}
		code, done := w.apply(ctx, r)
		if done {
			return code
		}
		timer = time.AfterFunc(nextCheck(false, w.c.watch), func() { results <- w.check(ctx) })
	}
}

// start starts the command with environment merged; on failure it says why and gives the
// exit status, as a failed exec would.
func (w *watcher) start(merged []string) (int, bool) {
	child, err := w.sv.Start(w.path, w.c.command, merged)
	if err != nil {
		w.lg.fail(execError(w.path, err))
		return execFailureCode(err), false
	}
	w.child = child
	return 0, true
}

// waitFor supervises the command until it exits (exited, with its status) or a check's
// result arrives on results.
func (w *watcher) waitFor(results <-chan checkResult) (status int, r checkResult, exited bool) {
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan checkResult, 1)
	go func() {
		select {
		case r := <-results:
			got <- r
			cancel()
		case <-wctx.Done():
		}
	}()
	status, err := w.sv.Wait(wctx, w.child)
	if err == nil {
		return status, checkResult{}, true
	}
	return 0, <-got, false
}

// checkResult is one check: the sources fetched and merged again, the command resolved in
// the new environment, or why that failed.
type checkResult struct {
	fx   *fetched
	path string
	err  error
}

// check fetches everything again, as at start, within --timeout.
func (w *watcher) check(ctx context.Context) checkResult {
	ctx, cancel := context.WithTimeout(ctx, w.c.timeout)
	defer cancel()
	fx, err := fetchMerge(ctx, w.c, w.f, w.refs, w.base, w.lg, io.Discard, false)
	if err != nil {
		return checkResult{err: timeoutErr(ctx, w.c, err)}
	}
	// What would stop the new command from starting is a failed check too: the running one
	// is kept.
	path, _, err := lookPath(w.c.command[0], fx.merged)
	if err == nil {
		err = env.CheckExec(append([]string{path}, w.c.command...), fx.merged, execLimit())
	}
	if err != nil {
		return checkResult{err: execEnvError(err)}
	}
	return checkResult{fx: fx, path: path}
}

// apply acts on a check's result: nothing on a failure (one warning per streak) or when
// nothing changed; else --output is rewritten and the command restarted, stopped (exit) or
// signalled. done says secretexec is to end with code.
func (w *watcher) apply(ctx context.Context, r checkResult) (code int, done bool) {
	if w.stopping {
		// A signal to stop went to the command, which has not exited yet: it is not
		// restarted, signalled or replaced any more; only its exit ends secretexec.
		return 0, false
	}
	if r.err != nil {
		if !w.failing {
			w.failing = true
			w.lg.warnf("a check of the sources failed; the command (pid %d) keeps running and the next check is in about %s: %s",
				w.child.Pid(), w.c.watch, oneLine(r.err))
		} else {
			w.lg.verbosef("the check failed again: %s", oneLine(r.err))
		}
		return 0, false
	}
	if w.failing {
		w.failing = false
		w.lg.warnf("the sources can be checked again")
	}
	snap := newSnapshot(r.fx.merged, r.fx.from)
	changes := diff(w.snap, snap)
	if len(changes) == 0 {
		w.lg.verbosef("checked: no change")
		return 0, false
	}
	what := make([]string, len(changes))
	for i, ch := range changes {
		what[i] = ch.String()
	}
	if w.c.output != "" {
		if _, err := writeOutput(ctx, w.c, r.fx.merged, r.fx.names); err != nil {
			// Like a failed check: nothing applied, and the next check finds the change again.
			w.lg.warnf("%s; not applied: %s", strings.Join(what, ", "), oneLine(err))
			return 0, false
		}
	}
	w.snap = snap
	pid := w.child.Pid()
	switch {
	case w.c.onChange.sig != 0:
		w.lg.infof("%s: %s rewritten, sending %s to the command (pid %d)", strings.Join(what, ", "), w.c.output, sigName(w.c.onChange.sig), pid)
		_ = w.child.Signal(w.c.onChange.sig)
		return 0, false
	case w.c.onChange.exit:
		w.lg.infof("%s: stopping the command (pid %d) and exiting with status %d (--on-change exit)", strings.Join(what, ", "), pid, exitChanged)
		status := w.stop()
		if w.stopping {
			return status, true
		}
		return exitChanged, true
	}
	w.lg.infof("%s: restarting the command (pid %d)", strings.Join(what, ", "), pid)
	status := w.stop()
	if w.stopping {
		// A signal to stop came while the command was being stopped: it stays stopped.
		return status, true
	}
	w.path = r.path
	if code, ok := w.start(r.fx.merged); !ok {
		return code, true
	}
	w.lg.verbosef("started the command again (pid %d)", w.child.Pid())
	return 0, false
}

// stop stops the command as --stop-signal and --stop-timeout say, SIGKILL to its process
// group after the timeout, and returns once it has been reaped, with its status.
func (w *watcher) stop() int {
	_ = w.child.Signal(w.c.stopSignal)
	ctx, cancel := context.WithTimeout(context.Background(), w.c.stopTimeout)
	status, err := w.sv.Wait(ctx, w.child)
	cancel()
	if err == nil {
		return status
	}
	w.lg.warnf("the command (pid %d) did not stop within %s of %s: killing it", w.child.Pid(), w.c.stopTimeout, sigName(w.c.stopSignal))
	_ = w.child.SignalGroup(unix.SIGKILL)
	status, _ = w.sv.Wait(context.Background(), w.child)
	return status
}

// oneLine is an error and its hint on one line, for a warning.
func oneLine(err error) string {
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		return strings.ReplaceAll(err.Error(), "\n", "; ") + " (" + h.Hint() + ")"
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// watched names what --watch checks, for --dry-run and --verbose.
func watched(c *config, refs []fetch.VarRef) string {
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
	switch {
	case c.onChange.sig != 0:
		return fmt.Sprintf("rewrite %s and send the command %s", c.output, sigName(c.onChange.sig))
	case c.onChange.exit:
		return fmt.Sprintf("stop the command (%s, SIGKILL after %s) and exit with status %d", sigName(c.stopSignal), c.stopTimeout, exitChanged)
	}
	return fmt.Sprintf("restart the command (stop it with %s, SIGKILL after %s)", sigName(c.stopSignal), c.stopTimeout)
}

// snapshot is what a check compares: each fetched variable's value as the command gets it
// (after --no-override), by a hash, and where it came from. It holds no value.
type snapshot map[string]fetchedVar

type fetchedVar struct {
	sum  [sha256.Size]byte
	from string // a source ("secret \"app/prod\"") or a reference ("ssm:///app/prod/DB_PASS")
}

// newSnapshot takes the fetched names' values out of the merged environment.
func newSnapshot(merged []string, from map[string]string) snapshot {
	names := make([]string, 0, len(from))
	for name := range from {
		names = append(names, name)
	}
	s := make(snapshot, len(from))
	for _, v := range env.Pick(merged, names) {
		s[v.Name] = fetchedVar{sum: sha256.Sum256([]byte(v.Value)), from: from[v.Name]}
	}
	return s
}

// change is one difference between two snapshots, by name: never a value.
type change struct {
	name, what, from string
}

func (c change) String() string { return fmt.Sprintf("%s %s (%s)", c.name, c.what, c.from) }

// diff lists what differs from old to new, sorted by name.
func diff(old, new snapshot) []change {
	var out []change
	for name, n := range new {
		o, ok := old[name]
		switch {
		case !ok:
			out = append(out, change{name, "added", n.from})
		case o.sum != n.sum:
			out = append(out, change{name, "changed", n.from})
		}
	}
	for name, o := range old {
		if _, ok := new[name]; !ok {
			out = append(out, change{name, "removed", o.from})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// nextCheck is the wait before a check: the first at a random point of the first interval,
// later ones the interval ±10%, so that a fleet started together checks, and restarts,
// spread over an interval rather than in step.
func nextCheck(first bool, every time.Duration) time.Duration {
	if first {
		return time.Duration(rand.Int64N(int64(every))) + 1
	}
	return every*9/10 + time.Duration(rand.Int64N(int64(every/5)+1))
}
