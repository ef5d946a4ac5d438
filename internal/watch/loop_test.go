package watch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/proc"
)

// The loop's logic, with every collaborator a fake: a clock whose timers the test fires, a
// supervisor whose processes exit when the test (or a signal the test chose) says, a check
// that returns what the test feeds it, and a log that keeps the lines as secretexec prints
// them. Nothing here sleeps but to wait for the loop's goroutine, and only until it acts.
// The message texts are those the process tests in the root package assert.
//
// These are the tests written against the loop's first API (Start, Wait, Signal and
// SignalGroup), ported to the current one. Their fakes are named apart from
// watch_test.go's (fakeSup and cmdProc here, fakeSV and fakeProc there). Stopping a
// command is now the supervisor's job (Supervisor.Stop: the stop signal to the whole tree,
// SIGKILL after the stop timeout), so fakeSup.Stop models it, and takes its stop timer from
// the same fake clock: the tests still fire the stop timeout explicitly.

// patience bounds every wait for the loop: a failing test fails rather than hangs.
const patience = 5 * time.Second

// every and stopTimeout are the process tests' --watch 1s and --stop-timeout 1500ms. A stop
// timer is told from a check's by its duration: a check's is never 1.5s at --watch 1s.
const (
	every       = time.Second
	stopTimeout = 1500 * time.Millisecond
)

// fakeClock's timers fire when the test says. Its time is virtual: firing a timer moves it to
// that timer's deadline.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
	added  chan struct{} // a timer was added since the last look
}

type fakeTimer struct {
	d, at time.Duration // asked for, and the deadline on the clock's time
	c     chan time.Time
	taken bool
}

func newFakeClock() *fakeClock { return &fakeClock{added: make(chan struct{}, 1)} }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	tm := &fakeTimer{d: d, at: c.now + d, c: make(chan time.Time, 1)}
	c.timers = append(c.timers, tm)
	c.mu.Unlock()
	select {
	case c.added <- struct{}{}:
	default:
	}
	return tm.c
}

func (c *fakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// take waits for a timer, not taken before, whose duration satisfies ok.
func (c *fakeClock) take(t *testing.T, what string, ok func(time.Duration) bool) *fakeTimer {
	t.Helper()
	deadline := time.After(patience)
	for {
		c.mu.Lock()
		for _, tm := range c.timers {
			if !tm.taken && ok(tm.d) {
				tm.taken = true
				c.mu.Unlock()
				return tm
			}
		}
		c.mu.Unlock()
		select {
		case <-c.added:
		case <-deadline:
			t.Fatalf("no %s timer within %s", what, patience)
		}
	}
}

// fire makes tm's channel fire, at its deadline.
func (c *fakeClock) fire(tm *fakeTimer) {
	c.mu.Lock()
	c.now = max(c.now, tm.at)
	c.mu.Unlock()
	tm.c <- time.Time{}
}

// fakeSup starts cmdProcs and keeps an ordered record of what happens to them:
//
//	start 100                  Start
//	start failed               Start, with startErr
//	forwarded SIGTERM to 100   a signal sent to secretexec, passed on by Wait or Stop
//	signal 100 SIGHUP          a signal to the command alone (Process.Signal, a forwarded non-stop signal)
//	stop 100                   Supervisor.Stop
//	tree 100 SIGTERM           a stop signal to the command's whole tree (Stop, a forwarded stop signal)
//	kill 100                   SIGKILL to the whole tree: the stop timeout passed
//	reaped 100: 0              the command's exit seen, with its status
type fakeSup struct {
	t        *testing.T
	clock    *fakeClock
	mu       sync.Mutex
	procs    []*cmdProc
	log      []string
	exitOn   map[syscall.Signal]int // what a new process does with a signal: exit with this status
	startErr error                  // what Start returns, when set
	forward  func(syscall.Signal, bool)
	onReap   func(*cmdProc) // called once a process has been reaped, before Wait or Stop returns
	sigs     chan syscall.Signal

	// Set by harness.run from the Config, as the real supervisor gets them from the flags.
	stopSignal  syscall.Signal
	stopTimeout time.Duration
}

// cmdProc is a command fakeSup started (fakeProc is watch_test.go's).
type cmdProc struct {
	sup      *fakeSup
	pid      int
	path     string
	env      []string
	exitOn   map[syscall.Signal]int
	done     chan struct{}
	status   int
	reaped   bool
	kill     <-chan time.Time // a stop signal went to it: SIGKILL when this fires (Run's goroutine only)
	exitOnce sync.Once
}

func newFakeSup(t *testing.T, clock *fakeClock) *fakeSup {
	return &fakeSup{t: t, clock: clock, exitOn: map[syscall.Signal]int{syscall.SIGTERM: 0}, sigs: make(chan syscall.Signal, 16),
		stopSignal: syscall.SIGTERM, stopTimeout: stopTimeout}
}

func (s *fakeSup) record(format string, args ...any) {
	s.mu.Lock()
	s.log = append(s.log, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *fakeSup) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func (s *fakeSup) starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.procs)
}

func (s *fakeSup) proc(i int) *cmdProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[i]
}

func (s *fakeSup) newProc(path string, env []string) *cmdProc {
	p := &cmdProc{sup: s, pid: 100 + len(s.procs), path: path, env: env, exitOn: s.exitOn, done: make(chan struct{})}
	s.procs = append(s.procs, p)
	s.log = append(s.log, fmt.Sprintf("start %d", p.pid))
	return p
}

// Start starts a process, which must not overlap the ones before it: each has been reaped
// (these tests restart stop-first).
func (s *fakeSup) Start(path string, env []string) (Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if !p.reaped {
			s.t.Errorf("a command starts while pid %d has not been reaped", p.pid)
		}
	}
	if s.startErr != nil {
		s.log = append(s.log, "start failed")
		return nil, s.startErr
	}
	return s.newProc(path, env), nil
}

// reap records p's exit, once, and runs onReap.
func (s *fakeSup) reap(p *cmdProc) {
	s.mu.Lock()
	if p.reaped {
		s.mu.Unlock()
		return
	}
	p.reaped = true
	s.log = append(s.log, fmt.Sprintf("reaped %d: %d", p.pid, p.status))
	hook := s.onReap
	s.mu.Unlock()
	if hook != nil {
		hook(p)
	}
}

// Wait is proc.Supervisor.Wait's contract: it forwards the signals sent to secretexec
// (deliver) to p, a stop signal to its whole tree with SIGKILL after the stop timeout, tells
// OnForward's function, and returns p's status once p has exited, or ctx.Err() first.
func (s *fakeSup) Wait(ctx context.Context, pr Process) (int, error) {
	p := pr.(*cmdProc)
	for {
		s.mu.Lock()
		reaped := p.reaped
		s.mu.Unlock()
		if reaped {
			return p.status, nil
		}
		select {
		case <-p.done:
			s.reap(p)
			return p.status, nil
		case sig := <-s.sigs:
			s.forwardTo(p, sig)
		case <-p.kill:
			s.record("kill %d", p.pid)
			p.exit(proc.StatusSignaled(syscall.SIGKILL))
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// forwardTo passes sig on to p as proc.Supervisor does.
func (s *fakeSup) forwardTo(p *cmdProc, sig syscall.Signal) {
	s.record("forwarded %s to %d", proc.SignalName(sig), p.pid)
	stops := s.Stops(sig)
	if stops {
		p.tree(sig)
		if p.kill == nil {
			p.kill = s.clock.After(s.stopTimeout)
		}
	} else {
		_ = p.Signal(sig)
	}
	s.mu.Lock()
	f := s.forward
	s.mu.Unlock()
	if f != nil {
		f(sig, stops)
	}
}

func (s *fakeSup) Exited(pr Process) (int, bool) {
	p := pr.(*cmdProc)
	select {
	case <-p.done:
		s.reap(p)
		return p.status, true
	default:
		return 0, false
	}
}

// Stop is proc.Supervisor.Stop's contract: the stop signal to p's whole tree, SIGKILL to it
// once the stop timeout has passed on the clock; signals meanwhile are forwarded to p while it
// runs, and those after its exit wait for Pending.
func (s *fakeSup) Stop(pr Process, keep ...Process) (int, bool) {
	p := pr.(*cmdProc)
	s.record("stop %d", p.pid)
	if len(keep) > 0 {
		s.t.Errorf("Stop(%d) keeps %d commands: these tests restart stop-first", p.pid, len(keep))
	}
	if _, exited := s.Exited(p); exited {
		return p.status, false
	}
	p.tree(s.stopSignal)
	timer := s.clock.After(s.stopTimeout)
	if p.kill == nil {
		p.kill = timer // a stop signal forwarded meanwhile does not set a timer of its own
	}
	killed := false
	for {
		select {
		case <-p.done:
			s.reap(p)
			return p.status, killed
		case sig := <-s.sigs:
			s.forwardTo(p, sig)
		case <-timer:
			killed = true
			s.record("kill %d", p.pid)
			p.exit(proc.StatusSignaled(syscall.SIGKILL))
		}
	}
}

func (s *fakeSup) Pause(p Process, pause bool, keep Process) bool {
	s.t.Errorf("Pause(%d, %v): these tests do not restart start-first", p.Pid(), pause)
	return false
}

// Pending is the signals delivered while neither Wait nor Stop forwarded them.
func (s *fakeSup) Pending() []syscall.Signal {
	var out []syscall.Signal
	for {
		select {
		case sig := <-s.sigs:
			out = append(out, sig)
		default:
			return out
		}
	}
}

func (s *fakeSup) Stops(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, s.stopSignal:
		return true
	}
	return false
}

func (s *fakeSup) OnForward(f func(syscall.Signal, bool)) {
	s.mu.Lock()
	s.forward = f
	s.mu.Unlock()
}

// deliver is sig sent to secretexec: the next (or current) Wait or Stop forwards it, or,
// with none, Pending returns it.
func (s *fakeSup) deliver(sig syscall.Signal) { s.sigs <- sig }

func (p *cmdProc) Pid() int { return p.pid }

func (p *cmdProc) Signal(sig syscall.Signal) error {
	p.sup.record("signal %d %s", p.pid, proc.SignalName(sig))
	p.signalled(sig)
	return nil
}

// tree is sig to p's whole tree.
func (p *cmdProc) tree(sig syscall.Signal) {
	p.sup.record("tree %d %s", p.pid, proc.SignalName(sig))
	p.signalled(sig)
}

func (p *cmdProc) signalled(sig syscall.Signal) {
	p.sup.mu.Lock()
	st, ok := p.exitOn[sig]
	p.sup.mu.Unlock()
	if ok {
		p.exit(st)
	}
}

// exit ends the process with status (the first time).
func (p *cmdProc) exit(status int) {
	p.exitOnce.Do(func() {
		p.status = status
		close(p.done)
	})
}

// recLog keeps each line as secretexec's logger prints it.
type recLog struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct{ kind, line string } // kind: info, warning, verbose, error

const hint = " (the hint)"

func (l *recLog) add(kind, line string) {
	l.mu.Lock()
	l.entries = append(l.entries, logEntry{kind, line})
	l.mu.Unlock()
}

func (l *recLog) Infof(f string, a ...any) { l.add("info", "secretexec: "+fmt.Sprintf(f, a...)) }
func (l *recLog) Warnf(f string, a ...any) {
	l.add("warning", "secretexec: warning: "+fmt.Sprintf(f, a...))
}
func (l *recLog) Verbosef(f string, a ...any) { l.add("verbose", "secretexec: "+fmt.Sprintf(f, a...)) }
func (l *recLog) Error(err error)             { l.add("error", "secretexec: error: "+err.Error()) }
func (l *recLog) Brief(err error) string      { return err.Error() + hint }

// lines are the lines of the given kinds (all without), in order.
func (l *recLog) lines(kinds ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.entries {
		if len(kinds) == 0 || slices.Contains(kinds, e.kind) {
			out = append(out, e.line)
		}
	}
	return out
}

// text is every line, each ended by a newline, as on stderr.
func (l *recLog) text() string {
	var b strings.Builder
	for _, line := range l.lines() {
		b.WriteString(line + "\n")
	}
	return b.String()
}

// harness is one Run with fakes, started by run. Its check returns what fire feeds it.
type harness struct {
	t         *testing.T
	clock     *fakeClock
	sup       *fakeSup
	log       *recLog
	cfg       Config
	feed      chan checkResult
	checks    atomic.Int32 // checks begun
	cancelled atomic.Int32 // checks that ended because Run did
	pending   *fakeTimer   // the next check's timer, once settle has seen it
	done      chan int
	ended     bool
}

func newHarness(t *testing.T) *harness {
	clock := newFakeClock()
	h := &harness{
		t:     t,
		clock: clock,
		sup:   newFakeSup(t, clock),
		log:   &recLog{},
		feed:  make(chan checkResult, 1),
		done:  make(chan int, 1),
	}
	h.cfg = Config{
		Every:       every,
		Action:      Restart,
		StopSignal:  syscall.SIGTERM,
		StopTimeout: stopTimeout,
		What:        "2 sources",
		Check:       h.check,
		Clock:       h.clock,
		Rand:        rand.New(rand.NewPCG(1, 2)).Int64N,
		Log:         h.log,
	}
	t.Cleanup(h.noValues)
	return h
}

func (h *harness) check(ctx context.Context) (State, error) {
	h.checks.Add(1)
	select {
	case r := <-h.feed:
		return r.st, r.err
	case <-ctx.Done():
		h.cancelled.Add(1)
		return State{}, ctx.Err()
	}
}

// run starts the first command with first and Run on it.
func (h *harness) run(first State) *cmdProc {
	h.sup.mu.Lock()
	h.sup.stopSignal, h.sup.stopTimeout = h.cfg.StopSignal, h.cfg.StopTimeout
	p := h.sup.newProc(first.Path, first.Env)
	h.sup.mu.Unlock()
	go func() { h.done <- Run(context.Background(), h.cfg, h.sup, p, first) }()
	return p
}

func (h *harness) isCheck(d time.Duration) bool { return d != h.cfg.StopTimeout }
func (h *harness) isStop(d time.Duration) bool  { return d == h.cfg.StopTimeout }

// fire lets the next check run, returning st and err.
func (h *harness) fire(st State, err error) {
	h.t.Helper()
	tm := h.pending
	h.pending = nil
	if tm == nil {
		tm = h.clock.take(h.t, "check", h.isCheck)
	}
	h.feed <- checkResult{st, err}
	h.clock.fire(tm)
}

// settle waits until the loop has acted on the last check and set the timer of the next.
func (h *harness) settle() *fakeTimer {
	h.t.Helper()
	h.pending = h.clock.take(h.t, "next check", h.isCheck)
	return h.pending
}

// step is a check returning st and err, acted on.
func (h *harness) step(st State, err error) {
	h.t.Helper()
	h.fire(st, err)
	h.settle()
}

// result waits for Run's status.
func (h *harness) result() int {
	h.t.Helper()
	select {
	case st := <-h.done:
		h.ended = true
		return st
	case <-time.After(patience):
		h.t.Fatalf("Run has not returned within %s; events %q; log:\n%s", patience, h.sup.events(), h.log.text())
		return -1
	}
}

// running fails the test if Run has returned.
func (h *harness) running() {
	h.t.Helper()
	select {
	case st := <-h.done:
		h.ended = true
		h.t.Fatalf("Run returned %d, want it still supervising", st)
	default:
	}
}

// waitEvent waits until the supervisor has recorded ev.
func (h *harness) waitEvent(ev string) {
	h.t.Helper()
	deadline := time.Now().Add(patience)
	for !slices.Contains(h.sup.events(), ev) {
		if time.Now().After(deadline) {
			h.t.Fatalf("no %q within %s; events %q", ev, patience, h.sup.events())
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// end makes the current command exit and Run return; Run must return its status.
func (h *harness) end() {
	h.t.Helper()
	if h.ended {
		return
	}
	h.sup.proc(h.sup.starts() - 1).exit(42)
	if st := h.result(); st != 42 {
		h.t.Errorf("Run returned %d, want the command's 42", st)
	}
}

// noValues: no line logged holds a value. Every value in these tests starts "canary-".
func (h *harness) noValues() {
	for _, line := range h.log.lines() {
		if strings.Contains(line, "canary") {
			h.t.Errorf("a value in a message: %q", line)
		}
	}
}

// fetched is what a check finds: DB_PASS from an SSM path and API_KEY from a JSON secret,
// over inherited variables. (state is watch_test.go's.)
func fetched(pass, key string) State {
	return State{
		Env:  []string{"PATH=/usr/bin:/bin", "HOME=/home/app", "DB_PASS=" + pass, "API_KEY=" + key},
		Path: "/usr/bin/app",
		From: map[string]string{"DB_PASS": `ssm path "/app/prod"`, "API_KEY": `secret "app/json"`},
	}
}

var actionNames = map[Action]string{Restart: "restart", Exit: "exit", Signal: "signal"}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}

func wantLine(t *testing.T, l *recLog, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(l.text()) {
		t.Errorf("log:\n%s\nwant a line matching %s", l.text(), re)
	}
}

// restarted is what a stop-first restart of pid does to the command that stops at once
// (the default: SIGTERM ends it with 0), then the start of the new one.
func restarted(pid int) []string {
	return []string{fmt.Sprintf("stop %d", pid), fmt.Sprintf("tree %d SIGTERM", pid), fmt.Sprintf("reaped %d: 0", pid), fmt.Sprintf("start %d", pid+1)}
}

// TestRestartOnChange (was TestWatchRestartsOnChange's "once each, with the new value, the
// log names what changed and where from"): a changed parameter, then a new secret version,
// each restart the command once with the new state, the old command stopped (whole, by
// Stop; it was SIGTERM by Signal) and reaped before the new one starts; the checks after
// each find no change.
func TestRestartOnChange(t *testing.T) {
	h := newHarness(t)
	one := fetched("canary-pass-1", "canary-key-1")
	h.run(one)
	h.step(one, nil)

	two := fetched("canary-pass-2", "canary-key-1")
	h.step(two, nil)
	wantEvents(t, h.sup.events(), append([]string{"start 100"}, restarted(100)...)...)
	if p := h.sup.proc(1); !slices.Equal(p.env, two.Env) || p.path != two.Path {
		t.Errorf("started %s with %q, want %s with %q", p.path, p.env, two.Path, two.Env)
	}
	h.step(two, nil)
	h.step(two, nil)

	three := fetched("canary-pass-2", "canary-key-2")
	three.Path = "/opt/app/bin/app" // as the new environment's PATH finds it
	h.step(three, nil)
	h.step(three, nil)
	wantEvents(t, h.sup.events()[5:], restarted(101)...)
	if p := h.sup.proc(2); !slices.Equal(p.env, three.Env) || p.path != three.Path {
		t.Errorf("started %s with %q, want %s with %q", p.path, p.env, three.Path, three.Env)
	}
	h.running()
	if n := h.sup.starts(); n != 3 {
		t.Errorf("%d starts, want 3: each change restarts once", n)
	}
	want := []string{
		`secretexec: DB_PASS changed (ssm path "/app/prod"): restarting the command (pid 100)`,
		`secretexec: API_KEY changed (secret "app/json"): restarting the command (pid 101)`,
	}
	if got := h.log.lines("info", "warning", "error"); !slices.Equal(got, want) {
		t.Errorf("log\n%q\nwant\n%q", got, want)
	}
	// The process test's patterns, as it matches them on stderr.
	wantLine(t, h.log, `(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): restarting the command \(pid \d+\)$`)
	wantLine(t, h.log, `(?m)^secretexec: API_KEY changed \(secret "app/json"\): restarting the command \(pid \d+\)$`)
	wantLine(t, h.log, `(?m)^secretexec: started the command again \(pid 102\)$`)
	h.end()
}

// TestChangesNamedNeverValued: a change is a fetched name's value changed, added or removed,
// listed by name with its source, sorted; inherited variables and where an unchanged value
// comes from are not changes.
func TestChangesNamedNeverValued(t *testing.T) {
	h := newHarness(t)
	one := fetched("canary-pass-1", "canary-key-1")
	h.run(one)

	same := fetched("canary-pass-1", "canary-key-1")
	same.Env[1] = "HOME=/somewhere/else"        // inherited, not fetched
	same.From["API_KEY"] = `secret "app/other"` // same value, another source
	h.step(same, nil)
	if n := h.sup.starts(); n != 1 {
		t.Fatalf("%d starts, want 1: nothing fetched changed", n)
	}

	next := State{
		Env:  []string{"PATH=/usr/bin:/bin", "DB_PASS=canary-pass-2", "ZED=canary-zed", "AB=canary-ab"},
		Path: "/usr/bin/app",
		From: map[string]string{"DB_PASS": `ssm path "/app/prod"`, "ZED": `ssm path "/app/prod"`, "AB": "ssm:///app/ab"},
	}
	h.step(next, nil)
	wantLine(t, h.log, `(?m)^secretexec: AB added \(ssm:///app/ab\), API_KEY removed \(secret "app/json"\), DB_PASS changed \(ssm path "/app/prod"\), ZED added \(ssm path "/app/prod"\): restarting the command \(pid 100\)$`)
	h.end()
}

// TestNoChange (was TestWatchNoChange's "checks without a change restart nothing"): checks
// that find what the command has leave it alone and say only, with --verbose, "checked: no
// change", once a check.
func TestNoChange(t *testing.T) {
	h := newHarness(t)
	one := fetched("canary-pass-1", "canary-key-1")
	h.run(one)
	for range 3 {
		h.step(fetched("canary-pass-1", "canary-key-1"), nil)
	}
	h.running()
	wantEvents(t, h.sup.events(), "start 100")
	if got := h.log.lines("info", "warning", "error"); len(got) > 0 {
		t.Errorf("said %q, want nothing without --verbose", got)
	}
	verbose := h.log.lines("verbose")
	if len(verbose) != 4 || !strings.HasPrefix(verbose[0], "secretexec: watching 2 sources every 1s; the first check in ") {
		t.Fatalf("verbose %q", verbose)
	}
	for _, line := range verbose[1:] {
		if line != "secretexec: checked: no change" {
			t.Errorf("verbose %q, want one %q a check", verbose, "secretexec: checked: no change")
		}
	}
	if got := strings.Count(h.log.text(), "secretexec: checked: no change\n"); got != 3 {
		t.Errorf("%d no-change lines for 3 checks", got)
	}
	if n := h.checks.Load(); n != 3 {
		t.Errorf("%d checks, want 3", n)
	}
	h.end()
}

// TestFailedChecksKeepTheCommand (was TestWatchFailedChecksKeepTheCommand): failed checks,
// whatever the cause, leave the command alone, with one warning for the streak naming the
// cause (as Log.Brief puts it); the first good check says the streak is over and applies the
// change; a later failure starts a new streak.
func TestFailedChecksKeepTheCommand(t *testing.T) {
	h := newHarness(t)
	one := fetched("canary-pass-1", "canary-key-1")
	h.run(one)
	denied := errors.New(`ssm path "/app/prod": AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/app is not authorized to perform: ssm:GetParametersByPath`)
	throttled := errors.New(`ssm path "/app/prod": ThrottlingException: Rate exceeded`)
	h.step(State{}, denied)
	h.step(State{}, denied)
	h.step(State{}, throttled)
	h.step(State{}, throttled)
	wantEvents(t, h.sup.events(), "start 100") // neither signalled, stopped nor replaced
	h.running()
	warn := regexp.MustCompile(`(?m)^secretexec: warning: a check of the sources failed; the command \(pid \d+\) keeps running and the next check is in about 1s: ssm path "/app/prod": AccessDeniedException: .*$`)
	out := h.log.text()
	if n := len(warn.FindAllString(out, -1)); n != 1 || strings.Count(out, "check of the sources failed") != 1 {
		t.Errorf("log:\n%s\nwant one warning for the streak, naming the source and the cause", out)
	}
	wantLine(t, h.log, `(?m)^secretexec: warning: a check of the sources failed; the command \(pid 100\) keeps running and the next check is in about 1s: `+regexp.QuoteMeta(denied.Error()+hint)+`$`)
	if got := h.log.lines("verbose")[1:]; len(got) != 3 || got[2] != "secretexec: the check failed again: "+throttled.Error()+hint {
		t.Errorf("verbose %q, want one line for each failure after the first", got)
	}
	if strings.Contains(out, "checked again") {
		t.Errorf("log:\n%s\nthe streak is not over", out)
	}

	two := fetched("canary-pass-2", "canary-key-1")
	h.step(two, nil)
	wantLine(t, h.log, `(?m)^secretexec: warning: the sources can be checked again\n`+
		`secretexec: DB_PASS changed \(ssm path "/app/prod"\): restarting the command \(pid 100\)$`)
	if !strings.Contains(h.log.text(), "secretexec: warning: the sources can be checked again\n") {
		t.Errorf("log:\n%s\nwant the end of the streak said", h.log.text())
	}
	wantEvents(t, h.sup.events(), append([]string{"start 100"}, restarted(100)...)...)

	h.step(two, nil) // no new streak ends on a good check after a good one
	h.step(State{}, throttled)
	if n := strings.Count(h.log.text(), "check of the sources failed"); n != 2 {
		t.Errorf("log:\n%s\nwant a warning for the second streak", h.log.text())
	}
	wantLine(t, h.log, `(?m)^secretexec: warning: a check of the sources failed; the command \(pid 101\) keeps running`)
	if n := strings.Count(h.log.text(), "can be checked again"); n != 1 {
		t.Errorf("log:\n%s\nwant the end of the first streak said once", h.log.text())
	}
	h.end()
}

// TestStopTimeout (was TestWatchStopTimeout's timing): a command that does not stop on the
// stop signal gets SIGKILL once the stop timeout has passed on the clock and not before; the
// new command starts after it has been reaped.
//
// Changed: the loop no longer signals and times the stop itself. It calls Supervisor.Stop,
// which stops the whole tree (SIGKILL to the tree, not SignalGroup), and times it: the timer
// here is fakeSup.Stop's, as proc.Supervisor's is its own. What the loop owns is the
// warning, said once Stop reports killed, from Config.StopSignal and StopTimeout; and
// "killing it" became "killed it", as it is said after the fact.
func TestStopTimeout(t *testing.T) {
	for _, tc := range []struct {
		sig     syscall.Signal
		timeout time.Duration
		said    string
	}{
		{syscall.SIGTERM, stopTimeout, "1.5s of SIGTERM"},
		{syscall.SIGINT, 30 * time.Second, "30s of SIGINT"},
	} {
		t.Run(proc.SignalName(tc.sig), func(t *testing.T) {
			h := newHarness(t)
			h.cfg.StopSignal, h.cfg.StopTimeout = tc.sig, tc.timeout
			h.sup.exitOn = map[syscall.Signal]int{} // it ignores every signal
			h.run(fetched("canary-pass-1", "canary-key-1"))
			h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
			tm := h.clock.take(t, "stop", h.isStop)
			if tm.d != tc.timeout {
				t.Errorf("stop timer %s, want %s", tm.d, tc.timeout)
			}
			h.waitEvent("tree 100 " + proc.SignalName(tc.sig))
			wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 "+proc.SignalName(tc.sig))
			if strings.Contains(h.log.text(), "did not stop") {
				t.Errorf("log:\n%s\nbefore the timeout", h.log.text())
			}
			h.clock.fire(tm)
			h.settle()
			wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 "+proc.SignalName(tc.sig), "kill 100", "reaped 100: 137", "start 101")
			wantLine(t, h.log, `(?m)^secretexec: warning: the command \(pid 100\) did not stop within `+tc.said+`: killed it$`)
			// The process test's pattern.
			if tc.sig == syscall.SIGTERM {
				wantLine(t, h.log, `secretexec: warning: the command \(pid \d+\) did not stop within 1.5s of SIGTERM: killed it`)
			}
			h.end()
		})
	}
}

// TestStoppedInTime: a command that stops on the stop signal is not killed, and nothing is
// said about it.
func TestStoppedInTime(t *testing.T) {
	h := newHarness(t)
	h.sup.exitOn = map[syscall.Signal]int{syscall.SIGTERM: 143}
	h.run(fetched("canary-pass-1", "canary-key-1"))
	h.step(fetched("canary-pass-2", "canary-key-1"), nil)
	wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 SIGTERM", "reaped 100: 143", "start 101")
	if strings.Contains(h.log.text(), "did not stop") || strings.Contains(h.log.text(), "killed") {
		t.Errorf("log:\n%s", h.log.text())
	}
	h.end()
}

// TestSignalMidRestart (was TestWatchSignalMidRestart): SIGTERM to secretexec while it stops
// the command for a restart goes to that command (its whole tree, now), and no new command
// starts: Run ends with the old command's status.
func TestSignalMidRestart(t *testing.T) {
	h := newHarness(t)
	h.sup.exitOn = map[syscall.Signal]int{} // it takes its time to stop
	h.run(fetched("canary-pass-1", "canary-key-1"))
	h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
	h.clock.take(t, "stop", h.isStop) // the restart is stopping the command
	h.waitEvent("tree 100 SIGTERM")
	h.sup.deliver(syscall.SIGTERM)
	h.waitEvent("forwarded SIGTERM to 100")
	h.sup.proc(0).exit(0)
	if st := h.result(); st != 0 {
		t.Errorf("Run returned %d, want the old command's 0", st)
	}
	wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 SIGTERM", "forwarded SIGTERM to 100", "tree 100 SIGTERM", "reaped 100: 0")
}

// TestSignalAfterReap: a signal that arrives after the old command was reaped and before the
// new one started is not lost.
//
// Changed (deliberately): a stop signal pending then (Supervisor.Pending) means no new
// command: Run ends with the old command's status. It used to start the new command and
// hand it the signal at once. A signal that does not stop (SIGHUP) still goes to the new
// command, at once.
func TestSignalAfterReap(t *testing.T) {
	for _, tc := range []struct {
		sig    syscall.Signal
		events []string
	}{
		{syscall.SIGTERM, []string{"start 100", "stop 100", "tree 100 SIGTERM", "reaped 100: 0"}},
		{syscall.SIGINT, []string{"start 100", "stop 100", "tree 100 SIGTERM", "reaped 100: 0"}},
		{syscall.SIGHUP, []string{"start 100", "stop 100", "tree 100 SIGTERM", "reaped 100: 0", "start 101", "signal 101 SIGHUP"}},
	} {
		t.Run(proc.SignalName(tc.sig), func(t *testing.T) {
			h := newHarness(t)
			h.sup.onReap = func(p *cmdProc) {
				if p.pid == 100 {
					h.sup.deliver(tc.sig)
				}
			}
			h.run(fetched("canary-pass-1", "canary-key-1"))
			if tc.sig == syscall.SIGHUP {
				h.step(fetched("canary-pass-2", "canary-key-1"), nil)
				h.running()
				wantEvents(t, h.sup.events(), tc.events...)
				h.end()
				return
			}
			h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
			if st := h.result(); st != 0 {
				t.Errorf("Run returned %d, want the old command's 0", st)
			}
			wantEvents(t, h.sup.events(), tc.events...)
			if n := h.sup.starts(); n != 1 {
				t.Errorf("%d starts, want no new command after the stop signal", n)
			}
		})
	}
}

// TestNoRestartAfterStop (was TestWatchNoRestartAfterStop): once a stop signal has gone to the
// command, changes neither replace nor signal it, nor are committed, even when it ignores
// the signal; only its exit ends Run, with its status. Other forwarded signals change
// nothing.
//
// Changed (deliberately): the stop signals are SIGTERM, SIGINT, SIGQUIT and the configured
// --stop-signal (Supervisor.Stops), no longer proc.StopSignals: a forwarded SIGHUP is the
// command's business, passed on to it alone, and rotation goes on (it is among the others
// below). A stop signal goes to the command's whole tree, and a command that ignores it is
// killed (SIGKILL) once the stop timeout has passed; that exit (137) ends Run. The test
// fires that timer rather than making the command exit.
func TestNoRestartAfterStop(t *testing.T) {
	for _, tc := range []struct {
		sig, stopSignal syscall.Signal
	}{
		{syscall.SIGINT, syscall.SIGTERM},
		{syscall.SIGTERM, syscall.SIGTERM},
		{syscall.SIGQUIT, syscall.SIGTERM},
		{syscall.SIGUSR1, syscall.SIGUSR1}, // --stop-signal SIGUSR1
	} {
		sig := tc.sig
		for _, action := range []Action{Restart, Exit, Signal} {
			t.Run(proc.SignalName(sig)+"/"+actionNames[action], func(t *testing.T) {
				h := newHarness(t)
				h.cfg.Action, h.cfg.Signal, h.cfg.Output = action, syscall.SIGUSR2, "/srv/.env.runtime"
				h.cfg.StopSignal = tc.stopSignal
				var commits atomic.Int32
				h.cfg.Commit = func(context.Context, State) error { commits.Add(1); return nil }
				h.sup.exitOn = map[syscall.Signal]int{}
				h.run(fetched("canary-pass-1", "canary-key-1"))
				h.step(fetched("canary-pass-1", "canary-key-1"), nil)
				h.sup.deliver(sig)
				h.waitEvent("forwarded " + proc.SignalName(sig) + " to 100")
				h.step(fetched("canary-pass-2", "canary-key-1"), nil)
				h.step(fetched("canary-pass-3", "canary-key-3"), nil)
				h.step(State{}, errors.New("denied"))
				h.running()
				wantEvents(t, h.sup.events(), "start 100", "forwarded "+proc.SignalName(sig)+" to 100", "tree 100 "+proc.SignalName(sig))
				if n := commits.Load(); n != 0 {
					t.Errorf("%d commits after the stop signal", n)
				}
				if got := h.log.lines("info", "warning", "error"); len(got) > 0 {
					t.Errorf("said %q after the stop signal", got)
				}
				kill := h.clock.take(t, "kill", h.isStop)
				if kill.d != stopTimeout {
					t.Errorf("SIGKILL after %s, want the stop timeout %s", kill.d, stopTimeout)
				}
				h.clock.fire(kill)
				if st := h.result(); st != 137 {
					t.Errorf("Run returned %d, want the command's 137", st)
				}
				wantEvents(t, h.sup.events(), "start 100", "forwarded "+proc.SignalName(sig)+" to 100", "tree 100 "+proc.SignalName(sig), "kill 100", "reaped 100: 137")
			})
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGWINCH, syscall.SIGCONT} {
		t.Run(proc.SignalName(sig), func(t *testing.T) {
			h := newHarness(t)
			h.run(fetched("canary-pass-1", "canary-key-1"))
			h.sup.deliver(sig)
			h.waitEvent("forwarded " + proc.SignalName(sig) + " to 100")
			h.step(fetched("canary-pass-2", "canary-key-1"), nil)
			if n := h.sup.starts(); n != 2 {
				t.Errorf("%d starts, want the change applied after %s", n, proc.SignalName(sig))
			}
			wantEvents(t, h.sup.events(), append([]string{"start 100", "forwarded " + proc.SignalName(sig) + " to 100", "signal 100 " + proc.SignalName(sig)}, restarted(100)...)...)
			h.end()
		})
	}
}

// TestCommandExitEnds (was TestWatchCommandExitEnds): the command's own exit ends Run with its
// status, without a restart; a check under way is cancelled.
func TestCommandExitEnds(t *testing.T) {
	h := newHarness(t)
	h.run(fetched("canary-pass-1", "canary-key-1"))
	h.step(fetched("canary-pass-1", "canary-key-1"), nil)
	h.clock.fire(h.pending) // a check begins, and does not end by itself
	deadline := time.Now().Add(patience)
	for h.checks.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
	h.sup.proc(0).exit(3)
	if st := h.result(); st != 3 {
		t.Errorf("Run returned %d, want the command's 3", st)
	}
	wantEvents(t, h.sup.events(), "start 100", "reaped 100: 3")
	for h.cancelled.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
	if h.cancelled.Load() != 1 {
		t.Errorf("the check under way when the command exited was not cancelled")
	}
}

// TestCommandExitStatus: the status Run returns is the command's, whatever it is.
func TestCommandExitStatus(t *testing.T) {
	for _, st := range []int{0, 1, 3, 137, 143} {
		h := newHarness(t)
		h.run(fetched("canary-pass-1", "canary-key-1"))
		h.sup.proc(0).exit(st)
		if got := h.result(); got != st {
			t.Errorf("Run returned %d, want the command's %d", got, st)
		}
	}
}

// TestOnChangeExit (was TestWatchOnChangeExit's logic): a change stops the command (whole, by
// Stop) and Run returns 75, with no new command; a stop signal that came meanwhile makes it
// the command's status instead; a command killed after the stop timeout still means 75,
// with the warning ("killed it", was "killing it").
func TestOnChangeExit(t *testing.T) {
	t.Run("changed", func(t *testing.T) {
		h := newHarness(t)
		h.cfg.Action = Exit
		h.run(fetched("canary-pass-1", "canary-key-1"))
		h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
		if st := h.result(); st != proc.StatusChanged {
			t.Errorf("Run returned %d, want %d", st, proc.StatusChanged)
		}
		wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 SIGTERM", "reaped 100: 0")
		wantLine(t, h.log, `(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): stopping the command \(pid \d+\) and exiting with status 75, for a restart with the new values$`)
	})
	t.Run("stop signal", func(t *testing.T) {
		h := newHarness(t)
		h.cfg.Action = Exit
		h.sup.exitOn = map[syscall.Signal]int{}
		h.run(fetched("canary-pass-1", "canary-key-1"))
		h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
		h.clock.take(t, "stop", h.isStop)
		h.waitEvent("tree 100 SIGTERM")
		h.sup.deliver(syscall.SIGINT)
		h.waitEvent("forwarded SIGINT to 100")
		h.sup.proc(0).exit(130)
		if st := h.result(); st != 130 {
			t.Errorf("Run returned %d, want the command's 130", st)
		}
	})
	t.Run("killed", func(t *testing.T) {
		h := newHarness(t)
		h.cfg.Action = Exit
		h.sup.exitOn = map[syscall.Signal]int{}
		h.run(fetched("canary-pass-1", "canary-key-1"))
		h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
		h.clock.fire(h.clock.take(t, "stop", h.isStop))
		if st := h.result(); st != proc.StatusChanged {
			t.Errorf("Run returned %d, want %d after the kill", st, proc.StatusChanged)
		}
		wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 SIGTERM", "kill 100", "reaped 100: 137")
		wantLine(t, h.log, `(?m)^secretexec: warning: the command \(pid 100\) did not stop within 1.5s of SIGTERM: killed it$`)
	})
}

// TestOnChangeSignal (was TestWatchOnChangeSignal's logic): a change is committed (the output
// file rewritten) and then the signal goes to the command, which stays; the change is
// applied once.
func TestOnChangeSignal(t *testing.T) {
	h := newHarness(t)
	h.cfg.Action, h.cfg.Signal, h.cfg.Output = Signal, syscall.SIGHUP, "/srv/app/.env.runtime"
	var committed []State
	h.cfg.Commit = func(ctx context.Context, st State) error {
		h.sup.record("commit")
		committed = append(committed, st)
		return nil
	}
	h.run(fetched("canary-pass-1", "canary-key-1"))
	two := fetched("canary-pass-2", "canary-key-1")
	h.step(two, nil)
	h.step(two, nil)
	h.running()
	wantEvents(t, h.sup.events(), "start 100", "commit", "signal 100 SIGHUP")
	if len(committed) != 1 || !slices.Equal(committed[0].Env, two.Env) {
		t.Errorf("committed %d states, want the new one once", len(committed))
	}
	wantLine(t, h.log, `(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): .*\.env\.runtime rewritten, sending SIGHUP to the command \(pid \d+\)$`)
	wantLine(t, h.log, `(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): /srv/app/\.env\.runtime rewritten, sending SIGHUP to the command \(pid 100\)$`)
	h.end()
}

// TestCommitFails: a change whose commit (the output file) fails is not applied, is said with
// the cause, and the next check finds it again.
//
// Changed: the warning now says "not applied, tried again at each check: " (was "not
// applied: "), and a commit that works again after a failure says so ("... can be written
// again").
func TestCommitFails(t *testing.T) {
	for _, action := range []Action{Restart, Exit, Signal} {
		t.Run(actionNames[action], func(t *testing.T) {
			h := newHarness(t)
			h.cfg.Action, h.cfg.Signal, h.cfg.Output = action, syscall.SIGHUP, "/srv/app/.env.runtime"
			fail := errors.New(`--output /srv/app/.env.runtime: no space left on device`)
			commits := 0
			h.cfg.Commit = func(ctx context.Context, st State) error {
				commits++
				h.sup.record("commit")
				if commits == 1 {
					return fail
				}
				return nil
			}
			h.run(fetched("canary-pass-1", "canary-key-1"))
			two := fetched("canary-pass-2", "canary-key-1")
			h.step(two, nil)
			wantEvents(t, h.sup.events(), "start 100", "commit")
			wantLine(t, h.log, `(?m)^secretexec: warning: DB_PASS changed \(ssm path "/app/prod"\); not applied, tried again at each check: `+regexp.QuoteMeta(fail.Error()+hint)+`$`)
			h.fire(two, nil)
			switch action {
			case Restart:
				h.settle()
				wantEvents(t, h.sup.events(), append([]string{"start 100", "commit", "commit"}, restarted(100)...)...)
				h.end()
			case Exit:
				if st := h.result(); st != proc.StatusChanged {
					t.Errorf("Run returned %d, want %d", st, proc.StatusChanged)
				}
				wantEvents(t, h.sup.events(), "start 100", "commit", "commit", "stop 100", "tree 100 SIGTERM", "reaped 100: 0")
			case Signal:
				h.settle()
				wantEvents(t, h.sup.events(), "start 100", "commit", "commit", "signal 100 SIGHUP")
				h.end()
			}
			wantLine(t, h.log, `(?m)^secretexec: warning: /srv/app/\.env\.runtime can be written again$`)
		})
	}
}

// TestStartFails: when the new command cannot start after the old one stopped, the error is
// reported and Run returns its status.
func TestStartFails(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&proc.ExecError{Path: "/usr/bin/app", Err: syscall.EACCES}, proc.StatusNoExec},
		{&proc.ExecError{Path: "/usr/bin/app", Err: syscall.ENOENT}, proc.StatusNotFound},
		{errors.New("proc: something else"), proc.StatusFailure},
	} {
		h := newHarness(t)
		h.sup.startErr = tc.err
		h.run(fetched("canary-pass-1", "canary-key-1"))
		h.fire(fetched("canary-pass-2", "canary-key-1"), nil)
		if st := h.result(); st != tc.want || st != proc.Status(tc.err) {
			t.Errorf("%v: Run returned %d, want %d", tc.err, st, tc.want)
		}
		wantEvents(t, h.sup.events(), "start 100", "stop 100", "tree 100 SIGTERM", "reaped 100: 0", "start failed")
		if got := h.log.lines("error"); !slices.Equal(got, []string{"secretexec: error: " + tc.err.Error()}) {
			t.Errorf("errors %q, want the start's", got)
		}
	}
}

// TestCheckTimes: the first check comes at Rand's point of the first interval, (0, Every];
// later ones at [0.9, 1.1]×Every.
func TestCheckTimes(t *testing.T) {
	for _, tc := range []struct {
		name         string
		rand         func(n int64) int64
		first, later time.Duration
		said         string
	}{
		{"rand 0", func(int64) int64 { return 0 }, 1, 900 * time.Millisecond, "0s"},
		{"rand n-1", func(n int64) int64 { return n - 1 }, every, 1100 * time.Millisecond, "1s"},
		{"rand n/2", func(n int64) int64 { return n / 2 }, every/2 + 1, every, "500ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var asked []int64
			h.cfg.Rand = func(n int64) int64 { asked = append(asked, n); return tc.rand(n) }
			one := fetched("canary-pass-1", "canary-key-1")
			h.run(one)
			tm := h.clock.take(t, "first check", h.isCheck)
			if tm.d != tc.first {
				t.Errorf("first check after %s, want %s", tm.d, tc.first)
			}
			h.pending = tm
			for range 3 {
				h.step(one, nil)
				if h.pending.d != tc.later {
					t.Errorf("a check after %s, want %s", h.pending.d, tc.later)
				}
			}
			h.step(fetched("canary-pass-2", "canary-key-1"), nil) // and after a restart
			if h.pending.d != tc.later {
				t.Errorf("a check after %s, want %s", h.pending.d, tc.later)
			}
			want := []int64{int64(every), int64(every / 5), int64(every / 5), int64(every / 5), int64(every / 5)}
			for i := range want[1:] {
				want[i+1]++ // [0, Every/5] inclusive: Rand's n is one more
			}
			if !slices.Equal(asked, want) {
				t.Errorf("Rand asked for %v, want %v", asked, want)
			}
			if got := h.log.lines("verbose")[0]; got != "secretexec: watching 2 sources every 1s; the first check in "+tc.said {
				t.Errorf("said %q", got)
			}
			h.end()
		})
	}
	t.Run("seeded", func(t *testing.T) {
		h := newHarness(t)
		one := fetched("canary-pass-1", "canary-key-1")
		h.run(one)
		h.pending = h.clock.take(t, "first check", h.isCheck)
		if d := h.pending.d; d <= 0 || d > every {
			t.Errorf("first check after %s, want in (0, %s]", d, every)
		}
		for range 200 {
			h.step(one, nil)
			if d := h.pending.d; d < every*9/10 || d > every*11/10 {
				t.Fatalf("a check after %s, want in [0.9, 1.1]×%s", d, every)
			}
		}
		h.end()
	})
}

// TestFleetSpread (was TestWatchFleetSpread's property): watchers started together, each with
// its own random source as each process has, check first at points spread over the first
// interval and, after one change, restart spread over at least half an interval rather than
// in step. The root TestWatchFleetSpread checks that processes do get different sources.
func TestFleetSpread(t *testing.T) {
	const n, interval = 16, 3 * time.Second
	for _, changeAt := range []time.Duration{0, 10 * interval / 3, 17 * interval} {
		var firsts, restarts []time.Duration
		for i := range n {
			h := newHarness(t)
			h.cfg.Every = interval
			var seed [32]byte
			seed[0], seed[1] = byte(i), byte(changeAt/time.Second)
			h.cfg.Rand = rand.New(rand.NewChaCha8(seed)).Int64N
			one, two := fetched("canary-pass-1", "canary-key-1"), fetched("canary-pass-2", "canary-key-1")
			h.cfg.Check = func(ctx context.Context) (State, error) {
				if h.clock.Now() >= changeAt {
					return two, nil
				}
				return one, nil
			}
			h.run(one)
			tm := h.clock.take(t, "first check", h.isCheck)
			firsts = append(firsts, tm.d)
			for h.sup.starts() < 2 {
				h.clock.fire(tm)
				tm = h.clock.take(t, "check", h.isCheck) // the check has been acted on
			}
			restarts = append(restarts, h.clock.Now()-changeAt)
			h.end()
		}
		for _, c := range []struct {
			what string
			at   []time.Duration
		}{{"first checks after the start", firsts}, {"restarts after the change", restarts}} {
			what, at := c.what, c.at
			spread := slices.Max(at) - slices.Min(at)
			t.Logf("%d watchers at every %s, a change at %s: %s from %s to %s (spread %s)", n, interval, changeAt, what,
				slices.Min(at).Round(time.Millisecond), slices.Max(at).Round(time.Millisecond), spread.Round(time.Millisecond))
			if spread < interval/2 {
				t.Errorf("%s spread over %s, want about one interval (%s): the watchers check in step", what, spread, interval)
			}
			if slices.Max(at) > 11*interval/10 {
				t.Errorf("%s up to %s after, want within 1.1 intervals", what, slices.Max(at))
			}
		}
	}
}
