package proc

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run real processes through Run. Run reaps every child of the test process, so
// none of them may run in parallel with a test that waits for its own children.

func sh(t *testing.T, script string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return runOnce(ctx, "/bin/sh", []string{"sh", "-c", script}, os.Environ())
}

func TestExitStatusPassesThrough(t *testing.T) {
	for _, code := range []int{0, 1, 3, 125, 255} {
		got, err := sh(t, "exit "+strconv.Itoa(code))
		if err != nil || got != code {
			t.Errorf("exit %d: got status %d, err %v", code, got, err)
		}
	}
}

func TestKilledChildIs128PlusN(t *testing.T) {
	for _, sig := range []syscall.Signal{unix.SIGKILL, unix.SIGTERM, unix.SIGSEGV} {
		got, err := sh(t, "kill -"+strings.TrimPrefix(unix.SignalName(sig), "SIG")+" $$")
		if want := 128 + int(sig); err != nil || got != want {
			t.Errorf("%v: got status %d, err %v; want %d", sig, got, err, want)
		}
	}
}

func TestArgv0KeptAndEnvPassed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	ctx := context.Background()
	got, err := runOnce(ctx, "/bin/sh", []string{"custom-argv0", "-c", `printf '%s|%s' "$0" "$PROBE" > "$OUT"`},
		[]string{"PROBE=v a$l", "OUT=" + out})
	if err != nil || got != 0 {
		t.Fatalf("status %d, err %v", got, err)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "custom-argv0|v a$l" {
		t.Errorf("child saw %q", b)
	}
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want error // secretexec maps it as for a failed exec: 127, 126, 126
	}{
		{filepath.Join(dir, "missing"), syscall.ENOENT},
		{notExec, syscall.EACCES},
		{dir, syscall.EACCES},
	} {
		_, err := runOnce(context.Background(), tc.path, []string{"x"}, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v; want %v", tc.path, err, tc.want)
		}
	}
}

// waitFile waits until the child signals readiness by creating path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("child never created %s", path)
}

type result struct {
	status int
	err    error
}

func TestSignalReachesChild(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{unix.SIGTERM, 42},
		{unix.SIGINT, 43},
		{unix.SIGHUP, 44},
		{unix.SIGUSR1, 45},
		{unix.SIGQUIT, 46},
	} {
		name := unix.SignalName(tc.sig)
		t.Run(name, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready")
			trap := strings.TrimPrefix(name, "SIG")
			script := "trap 'exit " + strconv.Itoa(tc.code) + "' " + trap + "; : > " + ready +
				"; while :; do sleep 0.05; done"
			res := make(chan result, 1)
			go func() {
				st, err := sh(t, script)
				res <- result{st, err}
			}()
			waitFile(t, ready)
			// To the supervisor (this process), as docker/podman kill would send it to PID 1.
			if err := unix.Kill(os.Getpid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-res:
				if r.err != nil || r.status != tc.code {
					t.Errorf("status %d, err %v; want %d", r.status, r.err, tc.code)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("child did not exit after the forwarded signal")
			}
		})
	}
}

// zombiesOf lists the pids of zombie processes whose parent is ppid.
func zombiesOf(t *testing.T, ppid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var zs []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue // gone meanwhile
		}
		zombie, parent := false, -1
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			v = strings.TrimSpace(v)
			switch k {
			case "State":
				zombie = strings.HasPrefix(v, "Z")
			case "PPid":
				parent, _ = strconv.Atoi(v)
			}
		}
		f.Close()
		if zombie && parent == ppid {
			zs = append(zs, pid)
		}
	}
	return zs
}

func TestOrphanedGrandchildIsReaped(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	// The inner sh starts a short sleep in the background and exits at once: the sleep is
	// orphaned, reparented to us (Run makes the test process a subreaper), and exits while
	// the child is still running, which leaves a zombie unless Run reaps it.
	script := `sh -c 'sleep 0.2 & echo $! > ` + pidFile + `'; sleep 1; exit 7`
	got, err := sh(t, script)
	if err != nil || got != 7 {
		t.Fatalf("status %d, err %v", got, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(gc))); err == nil {
		t.Errorf("grandchild %d still exists (zombie or running) after Run returned", gc)
	}
	if zs := zombiesOf(t, os.Getpid()); len(zs) > 0 {
		t.Errorf("zombies left with us as parent: %v", zs)
	}
}

func TestContextCancelKillsChild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := runOnce(ctx, "/bin/sh", []string{"sh", "-c", "trap '' TERM; exec sleep 30"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || got != 128+int(unix.SIGKILL) {
		t.Errorf("status %d, err %v; want 137 and DeadlineExceeded", got, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestForwardedSet(t *testing.T) {
	in := map[os.Signal]bool{}
	for _, s := range forwarded() {
		in[s] = true
	}
	for _, s := range []syscall.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGTSTP, unix.SIGCONT, unix.SIGABRT, 34, 64} {
		if !in[s] {
			t.Errorf("%v not forwarded", s)
		}
	}
	for _, s := range []syscall.Signal{unix.SIGCHLD, unix.SIGURG, unix.SIGKILL, unix.SIGSTOP,
		unix.SIGTTIN, unix.SIGTTOU, unix.SIGSEGV, 32, 33} {
		if in[s] {
			t.Errorf("%v forwarded", s)
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	// Warm up: os/signal starts its one watcher goroutine on first use.
	if _, err := sh(t, "exit 0"); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		if _, err := sh(t, "exit 0"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}
