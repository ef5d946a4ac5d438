package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
	"github.com/secretexec/secretexec/internal/proc"
)

// Rotation (--watch), end to end: secretexec processes against the emulator, the command a
// recorder (main_test.go) that logs its starts, stops and signals with values by hash only.
// Intervals are --watch's shortest, 1s. Only what needs a process is tested here: the old
// command gone before the new one starts, SIGKILL after --stop-timeout, --on-change SIGHUP,
// exit 75, each process's own random first check, and what the real checks fetch and say.
// The loop's logic is unit-tested in internal/watch (watch_test.go there), with a fake clock
// and supervisor; the process tests that became units:
//
//   - TestWatchNoChange: internal/watch TestNoChange ("checked: no change", no restart); the
//     requests per check are counted in TestWatchRestartsOnChange.
//   - TestWatchFailedChecksKeepTheCommand: TestFailedChecksKeepTheCommand (one warning a
//     streak, "the sources can be checked again", the change applied after); a denied and a
//     throttled check, named in the warning, in TestWatchOnChangeExit.
//   - TestWatchSignalMidRestart: TestSignalMidRestart (and TestSignalAfterReap).
//   - TestWatchCommandExitEnds: TestCommandExitEnds and TestCommandExitStatus; a real command's
//     status passed on in TestWatchStopTimeout.
//   - TestWatchNoRestartAfterStop: TestNoRestartAfterStop.
//   - TestWatchFleetSpread's spread of restarts: TestFleetSpread and TestCheckTimes; here,
//     that processes started together draw different first checks.

// recorderLog is a recorder's log, read as it grows.
type recorderLog string

func (l recorderLog) lines() []string {
	b, _ := os.ReadFile(string(l))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// starts returns the log's start lines.
func (l recorderLog) starts() []string {
	var out []string
	for _, line := range l.lines() {
		if strings.HasPrefix(line, "start ") {
			out = append(out, line)
		}
	}
	return out
}

// waitFor waits until ok holds for the log's lines, or fails the test after d.
func (l recorderLog) waitFor(t *testing.T, d time.Duration, what string, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		lines := l.lines()
		if ok(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; the command's log:\n%s", what, d, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l recorderLog) waitStarts(t *testing.T, n int, d time.Duration) []string {
	t.Helper()
	l.waitFor(t, d, fmt.Sprintf("start number %d", n), func([]string) bool { return len(l.starts()) >= n })
	return l.starts()
}

// field is the value of key=... in a log line.
func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// watching starts secretexec with args and the recorder as its command, logging to a file;
// it returns the process and the log.
func (p *procEnv) watching(args []string, rec ...string) (*exec.Cmd, recorderLog) {
	p.t.Helper()
	log := recorderLog(filepath.Join(p.dir, fmt.Sprintf("recorder-%d.log", time.Now().UnixNano())))
	cmd, _, _ := p.command(append(args, append([]string{"--", "recorder", "-log", string(log)}, rec...)...)...)
	p.start(cmd)
	return cmd, log
}

// exitStatus waits for cmd and returns its exit status.
func exitStatus(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		cmd.Process.Kill()
		t.Fatalf("secretexec still running after %s", within)
		return -1
	}
}

// waitOwn waits until ok holds for what secretexec has said so far (its own output, copied to
// a file as it goes: a running process's stderr buffer cannot be read), or fails after d.
func (p *procEnv) waitOwn(t *testing.T, d time.Duration, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(p.own())
		if ok(string(b)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; secretexec said:\n%s", what, d, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stderrOf is a finished process's stderr.
func stderrOf(cmd *exec.Cmd) string { return cmd.Stderr.(interface{ String() string }).String() }

// TestWatchRestartsOnChange: a changed parameter and a new AWSCURRENT secret version each
// restart the command once, with the new value, within about an interval; the old command is
// gone before the new one starts; the log names what changed and where from; each check makes
// the same requests the start made (one page, one secret), and no other.
func TestWatchRestartsOnChange(t *testing.T) {
	p := newProcEnv(t)
	ctx := context.Background()
	p.putParam("/app/prod/DB_PASS", "canary-watch-pass-1")
	p.createSecret("app/json", map[string]string{"API_KEY": "canary-watch-key-1"})
	cmd, log := p.watching([]string{"--verbose", "--watch", "1s", "--ssm-path", "/app/prod", "--secret-id", "app/json"}, "-var", "DB_PASS", "-var", "API_KEY")
	starts := log.waitStarts(t, 1, 10*time.Second)
	first := starts[0]

	p.putParam("/app/prod/DB_PASS", "canary-watch-pass-2")
	changed := time.Now()
	starts = log.waitStarts(t, 2, 2*time.Second+3*time.Second)
	t.Logf("restarted %s after the parameter changed", time.Since(changed).Round(10*time.Millisecond))
	second := starts[1]
	if field(second, "prev") != "gone" || field(second, "DB_PASS") == field(first, "DB_PASS") || field(second, "API_KEY") != field(first, "API_KEY") {
		t.Errorf("after the parameter changed:\n%s\n%s\nwant the old command gone and only DB_PASS new", first, second)
	}

	if _, err := p.srv.PutSecretValue(ctx, "app/json", `{"API_KEY":"canary-watch-key-2"}`); err != nil {
		t.Fatal(err)
	}
	p.canaries.add(`{"API_KEY":"canary-watch-key-2"}`)
	starts = log.waitStarts(t, 3, 5*time.Second)
	third := starts[2]
	if field(third, "prev") != "gone" || field(third, "API_KEY") == field(second, "API_KEY") || field(third, "DB_PASS") != field(second, "DB_PASS") {
		t.Errorf("after the new secret version:\n%s\n%s\nwant the old command gone and only API_KEY new", second, third)
	}
	// Each change restarted the command once: the check after the last restart finds no change.
	p.waitOwn(t, 5*time.Second, "check after the last restart", func(out string) bool {
		i := strings.Index(out, "API_KEY changed")
		return i >= 0 && strings.Contains(out[i:], "secretexec: checked: no change\n")
	})
	if n := len(log.starts()); n != 3 {
		t.Errorf("%d starts, want 3", n)
	}
	cmd.Process.Signal(syscall.SIGTERM) // just after a check: the next is about an interval away
	if st := exitStatus(t, cmd, 10*time.Second); st != 0 {
		t.Errorf("exit status %d, want the command's 0", st)
	}
	out := stderrOf(cmd)
	for _, re := range []string{
		`(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): restarting the command \(pid \d+\)$`,
		`(?m)^secretexec: API_KEY changed \(secret "app/json"\): restarting the command \(pid \d+\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("stderr:\n%s\nwant a line matching %s", out, re)
		}
	}
	// Every check says one line with --verbose: no change, or what it restarted for. A check
	// may have been under way at SIGTERM: its requests are counted, not its line.
	checks := strings.Count(out, "secretexec: checked: no change\n") + strings.Count(out, ": restarting the command (pid ")
	gp, gs := p.srv.Calls("GetParametersByPath"), p.srv.Calls("GetSecretValue")
	t.Logf("%d checks: %d GetParametersByPath and %d GetSecretValue calls, the start's included: 2 requests per check, as at start", checks, gp, gs)
	if extra := gp - (checks + 1); checks < 3 || extra < 0 || extra > 1 || gs != gp || p.srv.TotalCalls() != gp+gs {
		t.Errorf("%d checks, %d calls (%d GetParametersByPath, %d GetSecretValue), want 2 a check and 2 at start", checks, p.srv.TotalCalls(), gp, gs)
	}
}

// TestWatchStopTimeout: a command that ignores SIGTERM is killed after --stop-timeout, and
// the new one starts only then; a command killed by a signal ends secretexec with 128+N.
func TestWatchStopTimeout(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-stuck-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--stop-timeout", "1s", "--ssm-path", "/app/prod"}, "-ignore-term")
	log.waitStarts(t, 1, 10*time.Second)
	p.putParam("/app/prod/DB_PASS", "canary-watch-stuck-2")
	log.waitFor(t, 5*time.Second, "SIGTERM to the old command", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "term ") })
	})
	termAt := time.Now()
	starts := log.waitStarts(t, 2, 5*time.Second)
	if waited := time.Since(termAt); waited < 700*time.Millisecond {
		t.Errorf("the new command started %s after SIGTERM, want after the 1s --stop-timeout", waited)
	}
	if field(starts[1], "prev") != "gone" {
		t.Errorf("the old command was still there: %s", starts[1])
	}
	// The new command ignores SIGTERM too: kill it, and secretexec passes on its status.
	pid, _ := strconv.Atoi(field(starts[1], "pid"))
	syscall.Kill(pid, syscall.SIGKILL)
	if st := exitStatus(t, cmd, 10*time.Second); st != 128+9 {
		t.Errorf("exit status %d, want the command's 137", st)
	}
	if !regexp.MustCompile(`secretexec: warning: the command \(pid \d+\) did not stop within 1s of SIGTERM: killed it`).MatchString(stderrOf(cmd)) {
		t.Errorf("stderr:\n%s", stderrOf(cmd))
	}
}

// TestWatchOnChangeExit: --on-change exit stops the command and exits with 75. Before it, a
// denied check and a check throttled past --retries leave the command alone, with one warning
// for the streak naming the source and the cause, and the end of the streak said; the next
// good check applies the change.
func TestWatchOnChangeExit(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-onexit-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--retries", "1", "--on-change", "exit", "--ssm-path", "/app/prod"})
	log.waitStarts(t, 1, 10*time.Second)
	p.srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.AccessDenied, Count: 1})
	p.srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Throttle, Count: 1})
	p.putParam("/app/prod/DB_PASS", "canary-watch-onexit-2")
	if st := exitStatus(t, cmd, 10*time.Second); st != proc.StatusChanged {
		t.Errorf("exit status %d, want %d", st, proc.StatusChanged)
	}
	lines := log.lines()
	if n := len(log.starts()); n != 1 || !strings.HasPrefix(lines[len(lines)-1], "term ") || strings.Count(strings.Join(lines, "\n"), "term ") != 1 {
		t.Errorf("log:\n%s\nwant one start, then the stop", strings.Join(lines, "\n"))
	}
	if n := p.srv.Calls("GetParametersByPath"); n < 1+3 {
		t.Errorf("%d GetParametersByPath calls, want the start's, two failed checks and a good one", n)
	}
	out := stderrOf(cmd)
	warn := regexp.MustCompile(`(?m)^secretexec: warning: a check of the sources failed; the command \(pid \d+\) keeps running and the next check is in about 1s: ssm path "/app/prod": AccessDeniedException: .*$`)
	if n := len(warn.FindAllString(out, -1)); n != 1 || strings.Count(out, "check of the sources failed") != 1 {
		t.Errorf("stderr:\n%s\nwant one warning for the streak, naming the source and the cause", out)
	}
	again := strings.Index(out, "secretexec: warning: the sources can be checked again\n")
	exit := regexp.MustCompile(`(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): stopping the command \(pid \d+\) and exiting with status 75, for a restart with the new values$`).FindStringIndex(out)
	if again < 0 || exit == nil || again > exit[0] || strings.Index(out, "check of the sources failed") > again {
		t.Errorf("stderr:\n%s\nwant the streak's warning, its end said, then the change", out)
	}
}

// TestWatchOnChangeSignal: --on-change SIGHUP rewrites --output, then signals the command,
// which stays the same process.
func TestWatchOnChangeSignal(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-hup-1")
	out := filepath.Join(p.dir, ".env.runtime")
	cmd, log := p.watching([]string{"--watch", "1s", "--on-change", "SIGHUP", "--output", out, "--ssm-path", "/app/prod"}, "-file", out)
	log.waitStarts(t, 1, 10*time.Second)
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p.putParam("/app/prod/DB_PASS", "canary-watch-hup-2")
	lines := log.waitFor(t, 5*time.Second, "SIGHUP", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "hup ") })
	})
	after, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	hup := lines[slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "hup ") })]
	if string(after) == string(before) || !strings.Contains(string(after), "canary-watch-hup-2") {
		t.Errorf("--output not rewritten with the new value")
	}
	if field(hup, "pid") != field(log.starts()[0], "pid") || len(log.starts()) != 1 {
		t.Errorf("log:\n%s\nwant SIGHUP to the one command", strings.Join(lines, "\n"))
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("--output mode %v, %v", fi.Mode(), err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
	if !regexp.MustCompile(`(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): .*\.env\.runtime rewritten, sending SIGHUP to the command \(pid \d+\)$`).MatchString(stderrOf(cmd)) {
		t.Errorf("stderr:\n%s", stderrOf(cmd))
	}
}

// TestWatchFleetSpread: watchers started together do not check in step: each process draws
// its own first check in the first interval. (That this spreads a fleet's restarts over about
// an interval is internal/watch's TestFleetSpread, which needs no processes or waiting.)
func TestWatchFleetSpread(t *testing.T) {
	const n = 4
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-fleet-1")
	var cmds []*exec.Cmd
	var logs []recorderLog
	for range n {
		cmd, log := p.watching([]string{"--verbose", "--watch", "1m", "--ssm-path", "/app/prod"})
		cmds, logs = append(cmds, cmd), append(logs, log)
	}
	first := regexp.MustCompile(`(?m)^secretexec: watching 1 source every 1m0s; the first check in (\S+)$`)
	out := p.waitOwn(t, 20*time.Second, fmt.Sprintf("%d watchers", n), func(out string) bool {
		return len(first.FindAllString(out, -1)) == n
	})
	at := map[time.Duration]bool{}
	for _, m := range first.FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil || d <= 0 || d > time.Minute {
			t.Errorf("first check in %q, want in (0, 1m]", m[1])
		}
		at[d] = true
	}
	t.Logf("%d watchers at --watch 1m: first checks at %v", n, slices.Sorted(maps.Keys(at)))
	if len(at) < 2 {
		t.Errorf("%d watchers drew the same first check: they check in step", n)
	}
	for _, l := range logs {
		l.waitStarts(t, 1, 20*time.Second) // the recorder catches SIGTERM once it has started
	}
	for _, cmd := range cmds {
		cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, cmd := range cmds {
		if st := exitStatus(t, cmd, 10*time.Second); st != 0 {
			t.Errorf("exit status %d, want the command's 0", st)
		}
	}
}
