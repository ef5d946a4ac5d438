package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/proc"
)

// The loop's decisions, with fakes for the supervisor, the check, the clock and the log:
// each check's result is handed over by the test, and what the loop does to commands comes
// back as events ("start 2", "stop 1", "signal 1 SIGHUP").

type fakeProc struct {
	pid    int
	env    string
	exit   chan int // the test makes it exit by sending its status
	exited bool
	status int
}

func (p *fakeProc) Pid() int { return p.pid }
func (p *fakeProc) Signal(sig syscall.Signal) error {
	fakeEvents(p).add(fmt.Sprintf("signal %d %s", p.pid, proc.SignalName(sig)))
	return nil
}

type events struct {
	mu   sync.Mutex
	list []string
	c    chan string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.list = append(e.list, s)
	e.mu.Unlock()
	e.c <- s
}

var evs sync.Map // *fakeProc -> *events

func fakeEvents(p *fakeProc) *events { e, _ := evs.Load(p); return e.(*events) }

type fakeSV struct {
	ev      *events
	mu      sync.Mutex
	procs   []*fakeProc
	pending []syscall.Signal
	forward func(syscall.Signal, bool)
	// onStop, when set, runs inside Stop: a signal arriving while the command is stopped.
	onStop func(sv *fakeSV, p *fakeProc)
	// startErr fails the next Start.
	startErr error
	// onStart, when set, runs on each command started by Start.
	onStart func(p *fakeProc)
	// sigs are signals sent to secretexec: Wait forwards them, as the real one does.
	sigs chan syscall.Signal
}

func newFakeSV() *fakeSV {
	return &fakeSV{ev: &events{c: make(chan string, 100)}, sigs: make(chan syscall.Signal, 1)}
}

func (f *fakeSV) newProc() *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &fakeProc{pid: len(f.procs) + 1, exit: make(chan int, 1)}
	evs.Store(p, f.ev)
	f.procs = append(f.procs, p)
	return p
}

func (f *fakeSV) snapshotProcs() []*fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.procs)
}

func (f *fakeSV) Start(path string, env []string) (Process, error) {
	if f.startErr != nil {
		return nil, f.startErr
	}
	p := f.newProc()
	p.env = strings.Join(env, " ")
	f.ev.add(fmt.Sprintf("start %d %s", p.pid, p.env))
	if f.onStart != nil {
		f.onStart(p)
	}
	return p, nil
}

func (f *fakeSV) Wait(ctx context.Context, pr Process) (int, error) {
	p := pr.(*fakeProc)
	if p.exited {
		return p.status, nil
	}
	for {
		select {
		case st := <-p.exit:
			p.exited, p.status = true, st
			return st, nil
		case sig := <-f.sigs:
			f.ev.add(fmt.Sprintf("forward %d %s", p.pid, proc.SignalName(sig)))
			f.forward(sig, f.Stops(sig))
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (f *fakeSV) Exited(pr Process) (int, bool) {
	p := pr.(*fakeProc)
	if !p.exited {
		select {
		case st := <-p.exit:
			p.exited, p.status = true, st
		default:
		}
	}
	return p.status, p.exited
}

func (f *fakeSV) Stop(pr Process, keep ...Process) (int, bool) {
	p := pr.(*fakeProc)
	f.ev.add(fmt.Sprintf("stop %d", p.pid))
	if f.onStop != nil {
		f.onStop(f, p)
	}
	if st, ok := f.Exited(p); ok {
		return st, false
	}
	p.exited, p.status = true, 143
	return 143, false
}

func (f *fakeSV) Pause(p Process, pause bool, keep Process) bool {
	f.ev.add(fmt.Sprintf("pause %d %v", p.Pid(), pause))
	return true
}

func (f *fakeSV) Pending() []syscall.Signal {
	p := f.pending
	f.pending = nil
	return p
}

func (f *fakeSV) Stops(sig syscall.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT
}

func (f *fakeSV) OnForward(fn func(syscall.Signal, bool)) { f.forward = fn }

// nowClock fires at once: the checks' pace is the test's.
type nowClock struct{}

func (nowClock) After(time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

type fakeLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *fakeLog) add(kind, format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, kind+": "+fmt.Sprintf(format, args...))
	l.mu.Unlock()
}
func (l *fakeLog) Infof(format string, args ...any)    { l.add("info", format, args...) }
func (l *fakeLog) Warnf(format string, args ...any)    { l.add("warning", format, args...) }
func (l *fakeLog) Verbosef(format string, args ...any) { l.add("verbose", format, args...) }
func (l *fakeLog) Error(err error)                     { l.add("error", "%v", err) }
func (l *fakeLog) Brief(err error) string              { return err.Error() }

func (l *fakeLog) count(kind, sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.HasPrefix(s, kind+": ") && strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// loop is one Run with its fakes.
type loop struct {
	t      *testing.T
	sv     *fakeSV
	log    *fakeLog
	checks chan checkResult
	done   chan int
	first  *fakeProc
}

func state(kv ...string) State {
	st := State{Path: "/bin/app", From: map[string]string{}}
	for _, s := range kv {
		name, _, _ := strings.Cut(s, "=")
		st.Env = append(st.Env, s)
		if !strings.HasPrefix(name, "INHERITED") {
			st.From[name] = "ssm path \"/app\""
		}
	}
	return st
}

func startLoop(t *testing.T, cfg Config, first State) *loop {
	l := &loop{t: t, sv: newFakeSV(), log: &fakeLog{}, checks: make(chan checkResult), done: make(chan int, 1)}
	l.first = l.sv.newProc()
	cfg.Every = time.Second
	cfg.StopSignal, cfg.StopTimeout = syscall.SIGTERM, time.Second
	cfg.What = "1 source"
	cfg.Clock = nowClock{}
	cfg.Rand = func(int64) int64 { return 0 }
	cfg.Log = l.log
	cfg.Check = func(ctx context.Context) (State, error) {
		select {
		case r := <-l.checks:
			return r.st, r.err
		case <-ctx.Done():
			return State{}, ctx.Err()
		}
	}
	go func() { l.done <- Run(context.Background(), cfg, l.sv, l.first, first) }()
	return l
}

// check hands the loop one check's result.
func (l *loop) check(st State, err error) {
	l.t.Helper()
	select {
	case l.checks <- checkResult{st, err}:
	case <-time.After(5 * time.Second):
		l.t.Fatal("the loop did not ask for a check")
	}
}

// settle waits until the loop has applied the last result: it asks for the next check.
func (l *loop) settle() {
	l.t.Helper()
	l.check(State{}, errSettle)
}

var errSettle = errors.New("settle")

// next is the next event, or "" after a short wait.
func (l *loop) next() string {
	select {
	case e := <-l.sv.ev.c:
		return e
	case <-time.After(200 * time.Millisecond):
		return ""
	}
}

func (l *loop) want(events ...string) {
	l.t.Helper()
	for _, w := range events {
		if got := l.next(); !strings.HasPrefix(got, w) {
			l.t.Fatalf("event %q, want %q", got, w)
		}
	}
	if got := l.next(); got != "" {
		l.t.Fatalf("unexpected event %q", got)
	}
}

func (l *loop) end(within time.Duration) int {
	l.t.Helper()
	select {
	case st := <-l.done:
		return st
	case <-time.After(within):
		l.t.Fatal("Run did not end")
		return -1
	}
}

// TestRestartStopsThenStarts: a change stops the old command whole (Stop), then starts the
// new one with the new environment.
func TestRestartStopsThenStarts(t *testing.T) {
	l := startLoop(t, Config{Action: Restart}, state("A=1"))
	l.check(state("A=2"), nil)
	l.want("stop 1", "start 2 A=2")
	l.sv.procs[1].exit <- 0
	if st := l.end(time.Second); st != 0 {
		t.Errorf("status %d", st)
	}
}

// TestSIGHUPKeepsRotating: a forwarded SIGHUP (a reload, not a stop) does not end
// rotation: the next change is applied. A forwarded SIGTERM does.
func TestSIGHUPKeepsRotating(t *testing.T) {
	l := startLoop(t, Config{Action: Restart}, state("A=1"))
	l.settle()
	l.sv.sigs <- syscall.SIGHUP
	l.want("forward 1 SIGHUP")
	l.check(state("A=2"), nil)
	l.want("stop 1", "start 2 A=2")
	l.settle()
	l.sv.sigs <- syscall.SIGTERM
	l.want("forward 2 SIGTERM")
	l.check(state("A=3"), nil)
	l.settle()
	l.want() // nothing after a stop signal
	l.sv.procs[1].exit <- 143
	if st := l.end(time.Second); st != 143 {
		t.Errorf("status %d, want the command's 143", st)
	}
}

// TestStopSignalAfterStopMeansNoStart: a stop signal that arrives once the old command is
// gone, before the new one starts (Pending), means no new command.
func TestStopSignalAfterStopMeansNoStart(t *testing.T) {
	l := startLoop(t, Config{Action: Restart}, state("A=1"))
	l.sv.onStop = func(sv *fakeSV, p *fakeProc) { sv.pending = append(sv.pending, syscall.SIGTERM) }
	l.check(state("A=2"), nil)
	l.want("stop 1")
	if st := l.end(time.Second); st != 143 {
		t.Errorf("status %d, want the old command's 143", st)
	}
}

// TestSignalDuringStopMeansNoStart: a stop signal forwarded while the old command is being
// stopped means no new command.
func TestSignalDuringStopMeansNoStart(t *testing.T) {
	l := startLoop(t, Config{Action: Restart}, state("A=1"))
	l.sv.onStop = func(sv *fakeSV, p *fakeProc) { sv.forward(syscall.SIGTERM, true) }
	l.check(state("A=2"), nil)
	l.want("stop 1")
	if st := l.end(time.Second); st != 143 {
		t.Errorf("status %d, want the old command's 143", st)
	}
}

// TestPendingSignalGoesToNewCommand: a signal for the command (SIGUSR1) that came while
// none ran is delivered to the new one.
func TestPendingSignalGoesToNewCommand(t *testing.T) {
	l := startLoop(t, Config{Action: Restart}, state("A=1"))
	l.sv.onStop = func(sv *fakeSV, p *fakeProc) { sv.pending = append(sv.pending, syscall.SIGUSR1) }
	l.check(state("A=2"), nil)
	l.want("stop 1", "start 2", "signal 2 SIGUSR1")
}

// TestExitDuringCommitEnds: a command that exits by itself while the change is being
// committed ends Run with its own status; no restart.
func TestExitDuringCommitEnds(t *testing.T) {
	var l *loop
	l = startLoop(t, Config{Action: Restart, Output: ".env", Commit: func(context.Context, State) error {
		l.first.exit <- 7
		return nil
	}}, state("A=1"))
	l.check(state("A=2"), nil)
	if st := l.end(time.Second); st != 7 {
		t.Errorf("status %d, want the command's 7", st)
	}
	l.want() // neither stopped nor started
}

// TestSameEnvironmentNoRestart: a parameter added whose variable the inherited
// environment keeps (--no-override) changes nothing the command gets: no restart.
func TestSameEnvironmentNoRestart(t *testing.T) {
	l := startLoop(t, Config{Action: Restart}, state("A=1", "INHERITED_B=x"))
	st := state("A=1", "INHERITED_B=x")
	st.From["INHERITED_B"] = "inherited, kept by --no-override"
	l.check(st, nil)
	l.settle()
	l.want()
	if l.log.count("verbose", "environment is the same") != 1 {
		t.Errorf("log: %q", l.log.lines)
	}
	l.check(state("A=2", "INHERITED_B=x"), nil)
	l.want("stop 1", "start 2")
}

// TestCommitFailureWarnsOncePerStreak: a failing --output rewrite warns once, however many
// checks find it failing, and once more when it works again.
func TestCommitFailureWarnsOncePerStreak(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	l := startLoop(t, Config{Action: Signal, Signal: syscall.SIGHUP, Output: ".env", Commit: func(context.Context, State) error {
		if fail.Load() {
			return errors.New("cannot write .env")
		}
		return nil
	}}, state("A=1"))
	for range 4 {
		l.check(state("A=2"), nil)
	}
	l.settle()
	l.want()
	if n := l.log.count("warning", "cannot write .env"); n != 1 {
		t.Errorf("%d warnings for 4 failed rewrites, want 1: %q", n, l.log.lines)
	}
	fail.Store(false)
	l.check(state("A=2"), nil)
	l.want("signal 1 SIGHUP")
	if n := l.log.count("warning", "can be written again"); n != 1 {
		t.Errorf("log: %q", l.log.lines)
	}
}

// TestExitStopsWhole: --on-change exit stops the command (whole: Stop) and ends with 75.
func TestExitStopsWhole(t *testing.T) {
	l := startLoop(t, Config{Action: Exit}, state("A=1"))
	l.check(state("A=2"), nil)
	l.want("stop 1")
	if st := l.end(time.Second); st != 75 {
		t.Errorf("status %d, want 75", st)
	}
}

// healthLoop is a loop whose health check passes for the environments in good.
func healthLoop(t *testing.T, startFirst bool, good ...string) *loop {
	var l *loop
	l = startLoop(t, Config{Action: Restart, StartFirst: startFirst, HealthCheck: "http://127.0.0.1:8000/health",
		HealthTimeout: time.Second, HealthEvery: time.Millisecond,
		Health: func(context.Context) error {
			procs := l.sv.snapshotProcs()
			env := procs[len(procs)-1].env
			if slices.Contains(good, env) {
				return nil
			}
			return errors.New("HTTP 503")
		}}, state("A=1"))
	return l
}

// TestStartFirstHealthy: start-first with a check that passes: the new command starts,
// then the old one is stopped, keeping the new one.
func TestStartFirstHealthy(t *testing.T) {
	l := healthLoop(t, true, "A=2")
	l.check(state("A=2"), nil)
	l.want("start 2 A=2", "stop 1")
	l.check(state("A=3"), nil) // fails its check
	l.want("start 3 A=3", "stop 3")
}

// TestStartFirstUnhealthyKeepsOld: a new command that fails its check is stopped, the old
// one keeps running, one warning names the variable and the last result (no value), and
// the same values are not tried again; other values are.
func TestStartFirstUnhealthyKeepsOld(t *testing.T) {
	l := healthLoop(t, true, "A=3")
	l.check(state("A=2"), nil)
	l.want("start 2 A=2", "stop 2")
	for range 3 {
		l.check(state("A=2"), nil)
	}
	l.settle()
	l.want() // not tried again
	if n := l.log.count("warning", "A changed"); n != 1 || l.log.count("warning", "last check: HTTP 503") != 1 {
		t.Errorf("log: %q", l.log.lines)
	}
	l.check(state("A=3"), nil)
	l.want("start 3 A=3", "stop 1")
}

// TestStartFirstNewExits: a new command that exits before passing is not kept; the old
// one runs on.
func TestStartFirstNewExits(t *testing.T) {
	l := healthLoop(t, true)
	l.sv.onStart = func(p *fakeProc) { p.exit <- 1 }
	l.check(state("A=2"), nil)
	l.want("start 2 A=2", "stop 2")
	if l.log.count("warning", "exited with status 1 before passing") != 1 {
		t.Errorf("log: %q", l.log.lines)
	}
}

// TestPauseOldDuringProbe: with a shared socket, each probe of a start-first restart is made
// with the old command paused, and it is continued after.
func TestPauseOldDuringProbe(t *testing.T) {
	m := startLoop(t, Config{Action: Restart, StartFirst: true, PauseOld: true, HealthCheck: "tcp://127.0.0.1:8000",
		HealthTimeout: time.Second, HealthEvery: time.Millisecond,
		Health: func(context.Context) error { return nil }}, state("A=1"))
	m.check(state("A=2"), nil)
	m.want("start 2 A=2", "pause 1 true", "pause 1 false", "stop 1")
}

// TestStopFirstUnhealthyStartsOldAgain: stop-first with a check the new command fails:
// it is stopped and the command starts again with the previous values.
func TestStopFirstUnhealthyStartsOldAgain(t *testing.T) {
	l := healthLoop(t, false, "A=1")
	l.check(state("A=2"), nil)
	l.want("stop 1", "start 2 A=2", "stop 2", "start 3 A=1")
	l.check(state("A=2"), nil)
	l.settle()
	l.want()
}

// TestStartFirstStartFailsKeepsOldValues: a new command that cannot start leaves the loop
// knowing that the old values run: sources going back to them change nothing.
func TestStartFirstStartFailsKeepsOldValues(t *testing.T) {
	l := healthLoop(t, true, "A=2")
	l.sv.startErr = errors.New("exec format error")
	l.check(state("A=2"), nil)
	l.settle()
	l.want()
	if l.log.count("warning", "the new command could not start") != 1 {
		t.Errorf("log: %q", l.log.lines)
	}
	l.sv.startErr = nil
	l.check(state("A=1"), nil) // what runs
	l.settle()
	l.want()
}

// TestStopFirstUnhealthyPassesPendingSignals: a signal for the command that comes while the
// rejected new command is being stopped goes to the command started again with the old
// values, not nowhere.
func TestStopFirstUnhealthyPassesPendingSignals(t *testing.T) {
	l := healthLoop(t, false, "A=1")
	l.sv.onStart = func(p *fakeProc) {
		if p.env == "A=2" {
			l.sv.pending = []syscall.Signal{syscall.SIGHUP} // arrives while it is checked
		}
	}
	l.check(state("A=2"), nil)
	l.want("stop 1", "start 2 A=2", "stop 2", "start 3 A=1", "signal 3 SIGHUP")
}
