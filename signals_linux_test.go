package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
)

// TestEarlySignalAsPID1: as PID 1 (a container's entrypoint), a SIGTERM that arrives once
// secretexec's handlers exist gives 143 and the usual message, every time, and they exist
// right after package initialisation: registering is the first thing a start does. A
// SIGTERM before the handlers exist ends secretexec with status 2 and no message (the Go
// runtime's default for PID 1), so that window must stay as short as process start. The
// test build reports when the handlers were registered, by
// CLOCK_MONOTONIC, which this process reads too; the window before it is logged.
func TestEarlySignalAsPID1(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-early-pass-1")
	p.srv.AddFault(awstest.Fault{Action: "*", Kind: awstest.Hang})
	caughtFile := filepath.Join(p.dir, "caught")
	// How long it takes here (a -race build takes longer) sets the delays' range.
	var probe time.Duration
	for range 3 {
		cmd, _, _ := p.command("--version")
		cmd.Env = append(cmd.Env, signalsFileVar+"="+caughtFile)
		started := monotonic()
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(caughtFile)
		caught, _ := strconv.ParseInt(string(b), 10, 64)
		probe = max(probe, time.Duration(caught-started))
	}
	step := (2*probe + 10*time.Millisecond) / 24
	var windows []time.Duration
	after := 0
	for i := range 24 {
		os.Remove(caughtFile)
		// A signal before the Go runtime's own handlers is ignored (PID 1): --timeout ends those.
		cmd, stdout, stderr := p.command("--timeout", "300ms", "--ssm-path", "/app/prod", "--", "envdump", "-exit", "0")
		cmd.Env = append(cmd.Env, signalsFileVar+"="+caughtFile)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		started := monotonic()
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start a process in a new PID namespace here (needs root): %v", err)
		}
		// Early delays, spread over about twice the time to the handlers.
		time.Sleep(time.Duration(i) * step)
		sent := monotonic()
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		status := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		}
		b, rerr := os.ReadFile(caughtFile)
		caught, _ := strconv.ParseInt(string(b), 10, 64)
		if rerr != nil || sent < caught {
			t.Logf("SIGTERM %s after start, before the handlers: status %d", time.Duration(sent-started).Round(100*time.Microsecond), status)
			continue
		}
		after++
		windows = append(windows, time.Duration(caught-started))
		if status != 143 {
			t.Errorf("SIGTERM %s after start, %s after the handlers: %v, want status 143; stderr:\n%s",
				time.Duration(sent-started), time.Duration(sent-caught), err, stderr)
			continue
		}
		if want := "secretexec: error: interrupted by SIGTERM while fetching; the command was not started\n"; stderr.String() != want || stdout.Len() != 0 {
			t.Errorf("SIGTERM %s after start: stderr %q stdout %q, want %q", time.Duration(sent-started), stderr, stdout, want)
		}
	}
	if after < 8 {
		t.Fatalf("only %d of 24 signals came after the handlers: the machine is too slow for this test's delays", after)
	}
	slices.Sort(windows)
	t.Logf("exec to handlers registered: min %s, median %s, max %s (%d runs)", windows[0].Round(100*time.Microsecond),
		windows[len(windows)/2].Round(100*time.Microsecond), windows[len(windows)-1].Round(100*time.Microsecond), len(windows))
}
