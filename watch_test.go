package main

import (
	"github.com/secretexec/secretexec/internal/proc"

	"context"
	"errors"
	"fmt"
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
)

// Rotation (--watch, issue 13), end to end: secretexec processes against the emulator, the
// command a recorder (main_test.go) that logs its starts, stops and signals with values by
// hash only. Intervals are --watch's shortest, 1s; "within two intervals" allows for the
// random first check and the ±10%.

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
	cmd.WaitDelay = 5 * time.Second // a command left behind holds the pipes
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		if cmd.ProcessState == nil { // a test that failed early: stop it
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
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

// stderrOf is a finished process's stderr.
func stderrOf(cmd *exec.Cmd) string { return cmd.Stderr.(interface{ String() string }).String() }

// TestWatchRestartsOnChange: a changed parameter and a new AWSCURRENT secret version each
// restart the command once, with the new value, within two intervals; the old command is gone
// before the new one starts; the log names what changed and where from.
func TestWatchRestartsOnChange(t *testing.T) {
	p := newProcEnv(t)
	ctx := context.Background()
	p.putParam("/app/prod/DB_PASS", "canary-watch-pass-1")
	p.createSecret("app/json", map[string]string{"API_KEY": "canary-watch-key-1"})
	cmd, log := p.watching([]string{"--watch", "1s", "--ssm-path", "/app/prod", "--secret-id", "app/json"}, "-var", "DB_PASS", "-var", "API_KEY")
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
	// Each change restarted the command once: no more starts over two more intervals.
	time.Sleep(2200 * time.Millisecond)
	if n := len(log.starts()); n != 3 {
		t.Errorf("%d starts, want 3", n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
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
}

// TestWatchNoChange: checks without a change restart nothing; each check makes the same
// requests the start made (one page, one secret), and no other.
func TestWatchNoChange(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-same-1")
	p.createSecret("app/json", map[string]string{"API_KEY": "canary-watch-same-2"})
	cmd, log := p.watching([]string{"--verbose", "--watch", "1s", "--ssm-path", "/app/prod", "--secret-id", "app/json"})
	log.waitStarts(t, 1, 10*time.Second)
	time.Sleep(4500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
	checks := strings.Count(stderrOf(cmd), "secretexec: checked: no change\n")
	if checks < 3 {
		t.Fatalf("%d checks in 4.5s at --watch 1s, want at least 3; stderr:\n%s", checks, stderrOf(cmd))
	}
	if n := len(log.starts()); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
	// A check may have been under way at SIGTERM: its requests are counted, not its line.
	gp, gs := p.srv.Calls("GetParametersByPath"), p.srv.Calls("GetSecretValue")
	t.Logf("%d checks: %d GetParametersByPath and %d GetSecretValue calls, the start's included: 2 requests per check, as at start", checks, gp, gs)
	if extra := gp - (checks + 1); extra < 0 || extra > 1 || gs != gp || p.srv.TotalCalls() != gp+gs {
		t.Errorf("%d checks, %d calls (%d GetParametersByPath, %d GetSecretValue), want 2 a check and 2 at start", checks, p.srv.TotalCalls(), gp, gs)
	}
}

// TestWatchFailedChecksKeepTheCommand: checks that are denied, then throttled past their
// retries, leave the command alone with one warning for the streak; the next good check
// applies the change.
func TestWatchFailedChecksKeepTheCommand(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-fail-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--retries", "1", "--ssm-path", "/app/prod"}, "-var", "DB_PASS")
	log.waitStarts(t, 1, 10*time.Second)
	p.srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.AccessDenied, Count: 2})
	p.srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Throttle, Count: 2})
	p.putParam("/app/prod/DB_PASS", "canary-watch-fail-2")
	p.waitCalls("GetParametersByPath", 1+4) // the start, then four failed checks
	if n := len(log.starts()); n != 1 {
		t.Fatalf("%d starts while the checks failed, want 1", n)
	}
	starts := log.waitStarts(t, 2, 5*time.Second)
	if field(starts[1], "DB_PASS") == field(starts[0], "DB_PASS") || field(starts[1], "prev") != "gone" {
		t.Errorf("after the checks worked again:\n%s\n%s", starts[0], starts[1])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
	out := stderrOf(cmd)
	warn := regexp.MustCompile(`(?m)^secretexec: warning: a check of the sources failed; the command \(pid \d+\) keeps running and the next check is in about 1s: ssm path "/app/prod": AccessDeniedException: .*$`)
	if n := len(warn.FindAllString(out, -1)); n != 1 || strings.Count(out, "check of the sources failed") != 1 {
		t.Errorf("stderr:\n%s\nwant one warning for the streak, naming the source and the cause", out)
	}
	if !strings.Contains(out, "secretexec: warning: the sources can be checked again\n") {
		t.Errorf("stderr:\n%s\nwant the end of the streak said", out)
	}
}

// TestWatchStopTimeout: a command that ignores SIGTERM is killed after --stop-timeout, and
// the new one starts only then.
func TestWatchStopTimeout(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-stuck-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--stop-timeout", "1500ms", "--ssm-path", "/app/prod"}, "-ignore-term")
	log.waitStarts(t, 1, 10*time.Second)
	p.putParam("/app/prod/DB_PASS", "canary-watch-stuck-2")
	lines := log.waitFor(t, 5*time.Second, "SIGTERM to the old command", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "term ") })
	})
	termAt := time.Now()
	_ = lines
	starts := log.waitStarts(t, 2, 5*time.Second)
	if waited := time.Since(termAt); waited < time.Second {
		t.Errorf("the new command started %s after SIGTERM, want after the 1.5s --stop-timeout", waited)
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
	if !regexp.MustCompile(`secretexec: warning: the command \(pid \d+\) did not stop within 1.5s of SIGTERM: killed it`).MatchString(stderrOf(cmd)) {
		t.Errorf("stderr:\n%s", stderrOf(cmd))
	}
}

// TestWatchSignalMidRestart: SIGTERM to secretexec while it restarts goes to the command
// being stopped, and no new command starts: secretexec ends with the old command's status.
func TestWatchSignalMidRestart(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-mid-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--ssm-path", "/app/prod"}, "-term-delay", "1s")
	log.waitStarts(t, 1, 10*time.Second)
	p.putParam("/app/prod/DB_PASS", "canary-watch-mid-2")
	log.waitFor(t, 5*time.Second, "the restart's SIGTERM", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "term ") })
	})
	cmd.Process.Signal(syscall.SIGTERM) // the old command takes 1s to stop
	if st := exitStatus(t, cmd, 10*time.Second); st != 0 {
		t.Errorf("exit status %d, want the old command's 0", st)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(log.starts()); n != 1 {
		t.Errorf("%d starts, want 1: nothing starts after SIGTERM; log:\n%s", n, strings.Join(log.lines(), "\n"))
	}
}

// TestWatchCommandExitEnds: the command's own exit ends secretexec with its status; no
// restart.
func TestWatchCommandExitEnds(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-exit-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--ssm-path", "/app/prod"}, "-exit", "3", "-after", "1500ms")
	if st := exitStatus(t, cmd, 10*time.Second); st != 3 {
		t.Errorf("exit status %d, want the command's 3", st)
	}
	if n := len(log.starts()); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// TestWatchOnChangeExit: --on-change exit stops the command and exits with 75.
func TestWatchOnChangeExit(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-onexit-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--on-change", "exit", "--ssm-path", "/app/prod"})
	log.waitStarts(t, 1, 10*time.Second)
	p.putParam("/app/prod/DB_PASS", "canary-watch-onexit-2")
	if st := exitStatus(t, cmd, 10*time.Second); st != proc.StatusChanged {
		t.Errorf("exit status %d, want %d", st, proc.StatusChanged)
	}
	lines := log.lines()
	if n := len(log.starts()); n != 1 || !strings.HasPrefix(lines[len(lines)-1], "term ") {
		t.Errorf("log:\n%s\nwant one start, then the stop", strings.Join(lines, "\n"))
	}
	if !regexp.MustCompile(`(?m)^secretexec: DB_PASS changed \(ssm path "/app/prod"\): stopping the command \(pid \d+\) and exiting with status 75, for a restart with the new values$`).MatchString(stderrOf(cmd)) {
		t.Errorf("stderr:\n%s", stderrOf(cmd))
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

// TestWatchFleetSpread: watchers started together do not check in step, so one change
// restarts them spread over about one interval rather than in the same second.
func TestWatchFleetSpread(t *testing.T) {
	const n, interval = 16, 3 * time.Second
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-fleet-1")
	var cmds []*exec.Cmd
	var logs []recorderLog
	for range n {
		cmd, log := p.watching([]string{"--watch", interval.String(), "--ssm-path", "/app/prod"})
		cmds, logs = append(cmds, cmd), append(logs, log)
	}
	for _, l := range logs {
		l.waitStarts(t, 1, 20*time.Second)
	}
	p.putParam("/app/prod/DB_PASS", "canary-watch-fleet-2")
	changed := time.Now()
	var at []time.Duration
	for _, l := range logs {
		l.waitStarts(t, 2, 2*interval+5*time.Second)
		fi, _ := os.Stat(string(l))
		at = append(at, fi.ModTime().Sub(changed))
	}
	slices.Sort(at)
	spread := at[len(at)-1] - at[0]
	t.Logf("%d watchers at --watch %s, one change: restarts from %s to %s after it (spread %s)", n, interval,
		at[0].Round(10*time.Millisecond), at[len(at)-1].Round(10*time.Millisecond), spread.Round(10*time.Millisecond))
	if spread < interval/2 {
		t.Errorf("restarts spread over %s, want about one interval (%s): the watchers check in step", spread, interval)
	}
	for _, cmd := range cmds {
		cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, cmd := range cmds {
		exitStatus(t, cmd, 10*time.Second)
	}
}

// TestWatchNoRestartAfterStop: once a signal to stop has gone to the command, a change does
// not replace it, even when the command ignores the signal: it is killed after
// --stop-timeout, and its exit ends secretexec.
func TestWatchNoRestartAfterStop(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-watch-stopped-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--stop-timeout", "4s", "--ssm-path", "/app/prod"}, "-ignore-term")
	starts := log.waitStarts(t, 1, 10*time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	termAt := time.Now()
	log.waitFor(t, 5*time.Second, "the forwarded SIGTERM", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "term ") })
	})
	p.putParam("/app/prod/DB_PASS", "canary-watch-stopped-2")
	time.Sleep(2500 * time.Millisecond) // two checks and more
	if n := len(log.starts()); n != 1 {
		t.Errorf("%d starts after SIGTERM and a change, want 1", n)
	}
	pid, _ := strconv.Atoi(field(starts[0], "pid"))
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("the command was stopped for the change: %v", err)
	}
	if st := exitStatus(t, cmd, 10*time.Second); st != 128+9 {
		t.Errorf("exit status %d, want the command's 137", st)
	}
	if took := time.Since(termAt); took < 4*time.Second {
		t.Errorf("killed %s after SIGTERM, want after the 4s --stop-timeout", took)
	}
}
