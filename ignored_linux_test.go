package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchKeepsInheritedIgnores: under --watch, started with SIGHUP and SIGINT ignored
// (trap "" HUP INT), the first command and every restarted one ignore them (SigIgn in their
// /proc/PID/status), and a SIGHUP to secretexec is ignored: it neither stops nor restarts
// the command.
func TestWatchKeepsInheritedIgnores(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-ignores-pass-1")
	log := filepath.Join(p.dir, "sigign.log")
	cmd, _, stderr := p.command("--watch", "1s", "--ssm-path", "/app/prod", "--",
		"sh", "-c", `grep SigIgn /proc/$$/status >> "$0"; exec sleep 60`, log)
	// Through a shell that ignores them, as nohup or a script's trap '' would.
	cmd.Args = append([]string{"sh", "-c", `trap '' HUP INT; exec "$0" "$@"`, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	lines := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(log)
			if got := strings.Split(strings.TrimSpace(string(b)), "\n"); len(b) > 0 && len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d starts within 10s; stderr:\n%s", n, stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	lines(1)
	// A hangup to secretexec: ignored, neither forwarded nor stopping it.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.putParam("/app/prod/DB_PASS", "canary-ignores-pass-2")
	got := lines(2)
	for i, l := range got {
		f := strings.Fields(l)
		mask, err := strconv.ParseUint(f[len(f)-1], 16, 64)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if mask&3 != 3 {
			t.Errorf("command %d: %s, want SIGHUP and SIGINT ignored (bits 0 and 1)", i+1, l)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if st := exitStatus(t, cmd, 10*time.Second); st != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want 143 (sleep ended by the forwarded SIGTERM); stderr:\n%s", st, stderr)
	}
	if strings.Contains(stderr.String(), "SIGHUP") {
		t.Errorf("stderr:\n%s\nwant the ignored SIGHUP unseen", stderr)
	}
}
