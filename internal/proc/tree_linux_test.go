package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startSh starts a shell script on s and waits until it has started want descendants of
// this process in all (itself included).
func startSh(t *testing.T, s *Supervisor, script string, want int) *Child {
	t.Helper()
	c, err := s.Start("/bin/sh", []string{"sh", "-c", script}, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(-c.pid, unix.SIGKILL)
		for _, st := range descendants() {
			_ = unix.Kill(st.pid, unix.SIGKILL)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for len(descendants()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d descendants, want %d", len(descendants()), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// TestStopStopsTheWholeTree: Stop reaches a background child in the command's group and
// a setsid grandchild outside it, and returns once none is left, with the command's status.
func TestStopStopsTheWholeTree(t *testing.T) {
	s := New()
	defer s.Close()
	s.StopTimeout = 5 * time.Second
	c := startSh(t, s, "sleep 1000 & setsid sleep 1000 & wait", 3)
	t0 := time.Now()
	status, killed := s.Stop(c)
	if status != StatusSignaled(unix.SIGTERM) || killed {
		t.Errorf("status %d, killed %v: want 143 from SIGTERM alone", status, killed)
	}
	if left := descendants(); len(left) != 0 {
		t.Errorf("%d processes left after Stop: %v", len(left), left)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("Stop took %s: SIGTERM should have been enough", took)
	}
}

// TestStopKillsAfterTimeout: a group member that ignores the stop signal outlives the
// command, and is killed at the stop timeout; so is a setsid one that ignores it.
func TestStopKillsAfterTimeout(t *testing.T) {
	s := New()
	defer s.Close()
	s.StopTimeout = 300 * time.Millisecond
	c := startSh(t, s, `(trap "" TERM; exec sleep 1000) & setsid sh -c 'trap "" TERM; exec sleep 1000' & wait`, 3)
	t0 := time.Now()
	status, killed := s.Stop(c)
	took := time.Since(t0)
	if status != StatusSignaled(unix.SIGTERM) || !killed {
		t.Errorf("status %d, killed %v: want the shell's 143, then SIGKILL for the rest", status, killed)
	}
	if left := descendants(); len(left) != 0 {
		t.Errorf("%d processes left after Stop: %v", len(left), left)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("Stop took %s, want about the 300ms stop timeout", took)
	}
}

// TestStopLeavesKeptCommand: stopping one command while another (the new one of a
// start-first restart) runs leaves the other's whole tree alone.
func TestStopLeavesKeptCommand(t *testing.T) {
	s := New()
	defer s.Close()
	s.StopTimeout = 2 * time.Second
	old := startSh(t, s, "sleep 1000 & setsid sleep 1000 & wait", 3)
	keep := startSh(t, s, "sleep 1000 & wait", 5)
	if _, killed := s.Stop(old, keep); killed {
		t.Errorf("SIGKILL was needed")
	}
	if left := outside([]*Child{keep}); len(left) != 0 {
		t.Errorf("%d processes of the old command left: %v", len(left), left)
	}
	if n := len(descendants()); n != 2 {
		t.Errorf("%d processes left, want the kept shell and its sleep", n)
	}
	if _, exited := s.Exited(keep); exited {
		t.Errorf("the kept command exited")
	}
	s.Stop(keep)
}

// TestStopLeft: what a command leaves running when it exits by itself is stopped.
func TestStopLeft(t *testing.T) {
	s := New()
	defer s.Close()
	s.StopTimeout = 2 * time.Second
	c := startSh(t, s, "sleep 1000 & setsid sleep 1000 & sleep 0.2; exit 3", 3)
	if status, err := s.Wait(context.Background(), c); err != nil || status != 3 {
		t.Fatalf("status %d, %v; want 3", status, err)
	}
	if n, killed := s.StopLeft(); n != 2 || killed {
		t.Errorf("StopLeft found %d (killed %v), want 2 stopped by SIGTERM", n, killed)
	}
	if left := descendants(); len(left) != 0 {
		t.Errorf("%d processes left: %v", len(left), left)
	}
}

// TestSignalDuringStopGoesToKept: a signal that arrives while the old command of a
// start-first restart is being stopped goes to the new one, which stays, not to the old
// one, which is going.
func TestSignalDuringStopGoesToKept(t *testing.T) {
	s := New()
	defer s.Close()
	s.StopTimeout = 5 * time.Second
	dir := t.TempDir()
	old := startSh(t, s, `trap 'sleep 0.5; exit 0' TERM; while :; do sleep 0.05; done`, 2)
	ready := dir + "/ready"
	keep := startSh(t, s, `trap 'exit 45' USR1; : > `+ready+`; while :; do sleep 0.05; done`, 4)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new command did not start")
		}
	}
	go func() {
		time.Sleep(200 * time.Millisecond) // while the old one runs its TERM trap
		_ = unix.Kill(os.Getpid(), unix.SIGUSR1)
	}()
	s.Stop(old, keep)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if status, err := s.Wait(ctx, keep); err != nil || status != 45 {
		t.Errorf("the new command: status %d, %v; want 45 from the SIGUSR1 sent during the stop", status, err)
	}
}

// TestOwnHelpersLeftAlone: a process this one runs itself with os/exec (the SDK's
// credential_process, run by a check while a command is supervised) is os/exec's: a Stop
// neither signals it nor waits for it, and the reaping does not take its status.
func TestOwnHelpersLeftAlone(t *testing.T) {
	s := New()
	defer s.Close()
	s.StopTimeout = 2 * time.Second
	wantExit7 := func(what string, err error) {
		t.Helper()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Errorf("%s: os/exec saw %v, want exit status 7", what, err)
		}
	}

	c := startSh(t, s, "sleep 1000 & wait", 2)
	during := exec.Command("/bin/sh", "-c", "sleep 0.5; exit 7")
	if err := during.Start(); err != nil {
		t.Fatal(err)
	}
	s.Stop(c)
	wantExit7("a helper running during a Stop", during.Wait())

	// A helper that exits while a command is waited for: its SIGCHLD makes Wait reap.
	c = startSh(t, s, "sleep 0.6", 1)
	exited := exec.Command("/bin/sh", "-c", "exit 7")
	if err := exited.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Wait(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	wantExit7("a helper that exited during a Wait", exited.Wait())
}
