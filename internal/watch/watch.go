// Package watch is the rotation loop: while a supervised command runs, it checks the sources
// every so often and applies a change by restarting the command, stopping it, or signalling
// it. Its collaborators (the supervisor, the check, the clock, the random source, the log)
// are parameters, so its logic is tested without processes or real time.
package watch

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/internal/logattr"
	"github.com/secretexec/secretexec/internal/proc"
)

// Process is a running command.
type Process interface {
	Pid() int
	Signal(sig syscall.Signal) error // to the command alone
}

// Supervisor starts, waits for and stops commands; *proc.Supervisor behind a small adapter.
type Supervisor interface {
	// Start starts the command at path with environment env.
	Start(path string, env []string) (Process, error)
	// Wait forwards signals to p and returns its exit status once it has exited, or
	// ctx.Err() when ctx ends first (p then keeps running).
	Wait(ctx context.Context, p Process) (status int, err error)
	// Exited reports, without waiting, whether p has exited, and its status.
	Exited(p Process) (status int, exited bool)
	// Stop stops p and every process it started (the stop signal, SIGKILL after the stop
	// timeout) and returns p's status once none of them is left; the processes of the
	// commands in keep are left alone. Signals meanwhile are forwarded to keep's first
	// command, the one that stays, or without keep to p while it runs.
	// killed says SIGKILL was needed.
	Stop(p Process, keep ...Process) (status int, killed bool)
	// Pause stops (SIGSTOP) or continues p's whole tree but keep's; false when it cannot
	// (in a terminal).
	Pause(p Process, pause bool, keep Process) bool
	// Pending returns, and forgets, the signals that came while no command was there to
	// take them (between a Stop and the next Start).
	Pending() []syscall.Signal
	// Stops reports whether a signal sent to secretexec stops the command.
	Stops(sig syscall.Signal) bool
	// OnForward sets what Wait and Stop call after passing a signal on to the command.
	OnForward(func(sig syscall.Signal, stops bool))
}

// Clock is time as the loop sees it: time.After in production.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// After is time.After.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Logger is where the loop says what it does. Nothing passed to it holds a value.
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Verbosef(format string, args ...any)
	// Error reports a command that could not be started.
	Error(err error)
	// Brief is err, and what to do about it, on one line, for a warning.
	Brief(err error) string
}

// State is one fetch merged into the environment: what a command is started with.
type State struct {
	Env  []string          // the command's whole environment
	Path string            // the command, as looked up in Env's PATH
	From map[string]string // where each fetched variable's value comes from, by name
}

// Action is what a change does to the command.
type Action int

const (
	Restart Action = iota // stop the command, start it again with the new environment
	Exit                  // stop the command and end with proc.StatusChanged
	Signal                // commit the change (the output file) and send the command a signal
)

// Config is the loop's settings and collaborators.
type Config struct {
	Every       time.Duration  // the interval between checks
	Action      Action         // what a change does
	Signal      syscall.Signal // for Action Signal
	StopSignal  syscall.Signal // how a command is stopped
	StopTimeout time.Duration  // SIGKILL to what is left of it after this long
	What        string         // what is watched, for messages ("2 sources")
	Output      string         // the file Commit writes, for messages; "" for none

	// Health, when set, is --health-check: one probe. A restart then waits until it
	// passes, within HealthTimeout, before the new command is kept; else the new command
	// is stopped and the old values stay (see restart).
	Health        func(ctx context.Context) error
	HealthCheck   string        // the check, for messages
	HealthTimeout time.Duration // how long a new command has to pass
	HealthEvery   time.Duration // between probes
	// StartFirst is --restart-order start-first: the new command starts (and passes the
	// check) before the old one is stopped. Else the old one is stopped first.
	StartFirst bool
	// PauseOld: the commands share a socket (--listen), so a check through it may be
	// answered by the old command. During each probe of a start-first restart the old one
	// is paused (SIGSTOP, then SIGCONT), so that only the new one can answer; its clients
	// wait at most PauseProbe.
	PauseOld bool

	// Check fetches everything again and resolves the command in the new environment.
	Check func(ctx context.Context) (State, error)
	// Commit, when set, is done before a change is applied (the output file rewritten); an
	// error leaves the change unapplied, and the next check finds it again.
	Commit func(ctx context.Context, s State) error

	Clock Clock
	Rand  func(n int64) int64 // a uniform number in [0, n), as math/rand/v2's Int64N
	Log   Logger
}

// watcher is the loop's state. Everything but check runs on Run's goroutine.
type watcher struct {
	c             Config
	sv            Supervisor
	child         Process
	snap          snapshot
	stopping      bool              // a signal that stops secretexec was passed on: no command starts after it
	failing       bool              // the last check failed (one warning per streak)
	commitFailing bool              // the last Commit failed (one warning per streak)
	cur           State             // what the running command was started with
	rejected      [sha256.Size]byte // values whose command failed the health check: not tried again
}

type checkResult struct {
	st  State
	err error
}

// Run supervises child, started with first, until it exits, and checks every c.Every
// meanwhile. A check that fails changes nothing; the command's own exit ends Run with the
// command's status; once a signal that stops secretexec has gone to the command, no change
// replaces it and only its exit ends Run. A signal that does not stop the command (SIGHUP,
// SIGUSR1) is the command's business: it is passed on and the checks go on.
func Run(ctx context.Context, c Config, sv Supervisor, child Process, first State) int {
	w := &watcher{c: c, sv: sv, child: child, snap: newSnapshot(first), cur: first}
	sv.OnForward(func(sig syscall.Signal, stops bool) {
		if stops {
			w.stopping = true
		}
	})
	ctx, cancel := context.WithCancel(ctx) // no check outlives the command
	defer cancel()
	results := make(chan checkResult, 1) // one check at a time: a send never blocks
	after := func(d time.Duration) {
		go func() {
			select {
			case <-c.Clock.After(d):
			case <-ctx.Done():
				return
			}
			st, err := c.Check(ctx)
			results <- checkResult{st, err}
		}()
	}
	d := w.next(true)
	c.Log.Verbosef("watching %s every %s; the first check in %s", c.What, c.Every, logattr.Delay(d.Round(time.Millisecond)))
	after(d)
	for {
		status, r, exited := w.waitFor(results)
		if exited {
			return status
		}
		if code, done := w.apply(ctx, r); done {
			return code
		}
		after(w.next(false))
	}
}

// next is the wait before a check: the first at a random point of the first interval,
// later ones the interval ±10%, so that a fleet started together checks, and restarts,
// spread over an interval rather than in step.
func (w *watcher) next(first bool) time.Duration {
	every := w.c.Every
	if first {
		return time.Duration(w.c.Rand(int64(every))) + 1
	}
	return every*9/10 + time.Duration(w.c.Rand(int64(every/5)+1))
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

// apply acts on a check's result: nothing on a failure (one warning per streak) or when
// nothing changed; else the change is committed and the command restarted, stopped or
// signalled. done says Run is to end with code.
func (w *watcher) apply(ctx context.Context, r checkResult) (code int, done bool) {
	if w.stopping {
		// A signal to stop went to the command, which has not exited yet: it is not
		// restarted, signalled or replaced any more; only its exit ends secretexec.
		return 0, false
	}
	if r.err != nil {
		if !w.failing {
			w.failing = true
			w.c.Log.Warnf("a check of the sources failed; the command (pid %d) keeps running and the next check is in about %s: %s",
				logattr.PID(w.child.Pid()), logattr.Delay(w.c.Every), w.c.Log.Brief(r.err))
		} else {
			w.c.Log.Verbosef("the check failed again: %s", w.c.Log.Brief(r.err))
		}
		return 0, false
	}
	if w.failing {
		w.failing = false
		w.c.Log.Warnf("the sources can be checked again")
	}
	snap := newSnapshot(r.st)
	changes := diff(w.snap, snap)
	if len(changes) == 0 {
		w.c.Log.Verbosef("checked: no change")
		return 0, false
	}
	what := make([]string, len(changes))
	for i, ch := range changes {
		what[i] = ch.String()
	}
	changed := strings.Join(what, ", ")
	sum := envSum(r.st)
	if w.c.Action != Signal && sum == envSum(w.cur) {
		// A parameter added whose variable --no-override keeps, a source that now holds
		// what another already gave: the command would get the very environment it has.
		w.snap = snap
		w.c.Log.Verbosef("%s: the command's environment is the same; nothing to do", changed)
		return 0, false
	}
	if w.c.Health != nil && sum == w.rejected {
		w.c.Log.Verbosef("%s: the values whose command failed the health check; not tried again until they change", changed)
		return 0, false
	}
	if w.c.Commit != nil {
		if err := w.c.Commit(ctx, r.st); err != nil {
			// Like a failed check: nothing applied, and the next check finds the change
			// again; one warning for the streak.
			if !w.commitFailing {
				w.commitFailing = true
				w.c.Log.Warnf("%s; not applied, tried again at each check: %s", changed, w.c.Log.Brief(err))
			} else {
				w.c.Log.Verbosef("%s; still not applied: %s", changed, w.c.Log.Brief(err))
			}
			return 0, false
		}
		if w.commitFailing {
			w.commitFailing = false
			w.c.Log.Warnf("%s can be written again", w.c.Output)
		}
	}
	if status, exited := w.sv.Exited(w.child); exited {
		// The command ended by itself while the change was being committed: its exit
		// ends secretexec, as at any other time.
		return status, true
	}
	w.snap = snap
	pid := logattr.PID(w.child.Pid())
	switch w.c.Action {
	case Signal:
		w.c.Log.Infof("%s: %s rewritten, sending %s to the command (pid %d)", changed, w.c.Output, proc.SignalName(w.c.Signal), pid)
		_ = w.child.Signal(w.c.Signal)
		return 0, false
	case Exit:
		w.c.Log.Infof("%s: stopping the command (pid %d) and exiting with status %d, for a restart with the new values", changed, pid, logattr.Status(proc.StatusChanged))
		status := w.stop()
		if w.stopping {
			return status, true
		}
		return proc.StatusChanged, true
	}
	w.c.Log.Infof("%s: restarting the command (pid %d)", changed, pid)
	if w.c.StartFirst {
		return w.startFirst(ctx, r.st, sum, changed)
	}
	return w.stopFirst(ctx, r.st, sum, changed)
}

// stopFirst is a restart in the order stop-first: the old command is stopped, the new one
// started; with a health check that the new one fails, it is stopped and the command is
// started again with the previous values.
func (w *watcher) stopFirst(ctx context.Context, st State, sum [sha256.Size]byte, changed string) (code int, done bool) {
	status := w.stop()
	pending, stop := w.pending()
	if stop {
		// A signal to stop came while the command was being stopped, or after: it stays
		// stopped.
		return status, true
	}
	child, err := w.sv.Start(st.Path, st.Env)
	if err != nil {
		w.c.Log.Error(err)
		return proc.Status(err), true
	}
	w.child = child
	w.c.Log.Verbosef("started the command again (pid %d)", logattr.PID(w.child.Pid()))
	for _, sig := range pending {
		// Signals for the command that came while none ran: the new one gets them.
		_ = w.child.Signal(sig)
	}
	if w.c.Health == nil {
		w.cur = st
		return 0, false
	}
	res := w.waitHealthy(ctx, child, nil)
	switch {
	case res.exited && !w.stopping:
		w.sv.Stop(child) // what it left behind
		w.reject(sum, changed, res, 0)
	case res.exited, w.stopping:
		// Stopped by a signal: its exit, now or to come, ends secretexec.
		if res.exited {
			return res.status, true
		}
		return 0, false
	case res.passed:
		w.cur = st
		return 0, false
	default:
		res.status = w.stop() // the status secretexec ends with if a stop signal comes now
		w.reject(sum, changed, res, 0)
	}
	// Back to the values that worked.
	rest, stop := w.pending()
	if stop {
		return res.status, true
	}
	old, err := w.sv.Start(w.cur.Path, w.cur.Env)
	if err != nil {
		w.c.Log.Error(err)
		return proc.Status(err), true
	}
	w.child = old
	w.c.Log.Infof("started the command again with the previous values (pid %d)", logattr.PID(old.Pid()))
	for _, sig := range rest {
		// Signals for the command that came while none ran: the restarted one gets them.
		_ = w.child.Signal(sig)
	}
	return 0, false
}

// startFirst is a restart in the order start-first: the new command starts beside the old
// one; once it passes the health check (at once without one) the old one is stopped.
// If the new one exits or does not pass in time, it is stopped and the old one keeps
// running with the old values.
func (w *watcher) startFirst(ctx context.Context, st State, sum [sha256.Size]byte, changed string) (code int, done bool) {
	old := w.child
	child, err := w.sv.Start(st.Path, st.Env)
	if err != nil {
		w.c.Log.Warnf("%s: the new command could not start: %s; the command (pid %d) keeps running with the previous values", changed, w.c.Log.Brief(err), logattr.PID(old.Pid()))
		w.rejected = sum
		w.snap = newSnapshot(w.cur) // what still runs
		return 0, false
	}
	w.c.Log.Verbosef("started the new command (pid %d) beside the old one (pid %d)", child.Pid(), old.Pid())
	res := healthResult{passed: true}
	if w.c.Health != nil {
		res = w.waitHealthy(ctx, child, old)
	}
	switch {
	case res.oldExited:
		// The old command ended by itself meanwhile: its exit ends secretexec, as at any
		// other time, and the new one goes with it.
		w.sv.Stop(child)
		return res.oldStatus, true
	case w.stopping:
		w.sv.Stop(child, old)
		return 0, false
	case !res.passed:
		w.sv.Stop(child, old) // or what it left behind, if it exited
		w.reject(sum, changed, res, old.Pid())
		return 0, false
	}
	status, killed := w.sv.Stop(old, child)
	if killed {
		w.c.Log.Warnf("the old command (pid %d) did not stop within %s of %s: killed it", logattr.PID(old.Pid()), w.c.StopTimeout, proc.SignalName(w.c.StopSignal))
	}
	w.c.Log.Verbosef("the old command (pid %d) stopped with status %d; the new one (pid %d) runs", old.Pid(), status, child.Pid())
	w.child, w.cur = child, st
	return 0, false
}

// pending takes the signals that came while no command ran: stop says one of them stops
// secretexec; the rest are for the next command.
func (w *watcher) pending() (rest []syscall.Signal, stop bool) {
	for _, sig := range w.sv.Pending() {
		if w.sv.Stops(sig) {
			w.stopping = true
		} else {
			rest = append(rest, sig)
		}
	}
	return rest, w.stopping
}

// healthResult is how a new command's health check ended.
type healthResult struct {
	passed    bool
	exited    bool // the new command exited, with status
	status    int
	last      error // the last probe's error
	oldExited bool  // the old command exited (start-first), with oldStatus
	oldStatus int
}

// waitHealthy probes the health check until it passes, the new command exits, the
// timeout passes, or a stop signal comes (w.stopping). Meanwhile signals are forwarded:
// to the old command when there is one (start-first), else to the new one.
func (w *watcher) waitHealthy(ctx context.Context, p, old Process) healthResult {
	timeout := w.c.Clock.After(w.c.HealthTimeout)
	watched := p
	if old != nil {
		watched = old
	}
	var last error
	for {
		wctx, cancel := context.WithCancel(context.Background())
		tick := w.c.Clock.After(w.c.HealthEvery)
		go func() {
			select {
			case <-tick:
			case <-wctx.Done():
			}
			cancel()
		}()
		st, err := w.sv.Wait(wctx, watched)
		cancel()
		if err == nil {
			if old != nil {
				return healthResult{oldExited: true, oldStatus: st}
			}
			return healthResult{exited: true, status: st, last: last}
		}
		if old != nil {
			if st, exited := w.sv.Exited(p); exited {
				return healthResult{exited: true, status: st, last: last}
			}
		}
		if w.stopping {
			return healthResult{last: last}
		}
		if last = w.probe(ctx, p, old); last == nil {
			return healthResult{passed: true}
		}
		select {
		case <-timeout:
			return healthResult{last: last}
		default:
		}
	}
}

// PauseProbe bounds a probe made while the old command is paused.
const PauseProbe = 500 * time.Millisecond

// probe runs one health check; with PauseOld, with the old command paused meanwhile.
func (w *watcher) probe(ctx context.Context, p, old Process) error {
	if old == nil || !w.c.PauseOld || !w.sv.Pause(old, true, p) {
		return w.c.Health(ctx)
	}
	defer w.sv.Pause(old, false, p)
	pctx, cancel := context.WithTimeout(ctx, PauseProbe)
	defer cancel()
	return w.c.Health(pctx)
}

// reject says that the new values' command failed, and remembers the values so that they
// are not tried again until they change.
func (w *watcher) reject(sum [sha256.Size]byte, changed string, res healthResult, keptPid int) {
	w.rejected = sum
	w.snap = newSnapshot(w.cur) // what runs, or is started again
	why := fmt.Sprintf("did not pass the health check %s within %s", w.c.HealthCheck, w.c.HealthTimeout)
	if res.exited {
		why = fmt.Sprintf("exited with status %d before passing the health check %s", res.status, w.c.HealthCheck)
	}
	if res.last != nil {
		why += fmt.Sprintf(" (last check: %v)", res.last)
	}
	kept := "the command starts again with the previous values"
	if keptPid != 0 {
		kept = fmt.Sprintf("the command (pid %d) keeps running with the previous values", keptPid)
	}
	w.c.Log.Warnf("%s: the new command %s; stopped it: %s, and these values are not tried again until they change", changed, why, kept)
}

// stop stops the command and everything it started, and returns once all of it is gone,
// with the command's status.
func (w *watcher) stop() int {
	status, killed := w.sv.Stop(w.child)
	if killed {
		w.c.Log.Warnf("the command (pid %d) did not stop within %s of %s: killed it", logattr.PID(w.child.Pid()), w.c.StopTimeout, proc.SignalName(w.c.StopSignal))
	}
	return status
}

// envSum hashes what a command is started with: its path and its whole environment.
func envSum(st State) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(st.Path))
	for _, kv := range slices.Sorted(slices.Values(st.Env)) {
		h.Write([]byte{0})
		h.Write([]byte(kv))
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// snapshot is what a check compares: each fetched variable's value as the command gets it,
// by a hash, and where it came from. It holds no value.
type snapshot map[string]fetchedVar

type fetchedVar struct {
	sum  [sha256.Size]byte
	from string // a source ("secret \"app/prod\"") or a reference ("ssm:///app/prod/DB_PASS")
}

// newSnapshot takes the fetched names' values out of the state's environment.
func newSnapshot(st State) snapshot {
	names := make([]string, 0, len(st.From))
	for name := range st.From {
		names = append(names, name)
	}
	s := make(snapshot, len(st.From))
	for _, v := range env.Pick(st.Env, names) {
		s[v.Name] = fetchedVar{sum: sha256.Sum256([]byte(v.Value)), from: st.From[v.Name]}
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
