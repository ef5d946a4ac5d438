package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/internal/ptytest"
)

// The job control a shell does is tested end to end, with secretexec in bash on a terminal,
// in the root package (terminal_test.go). These tests cover where no shell can resume a
// stopped job, and where there is no terminal. They run the supervisor in a process of its
// own, this test binary started as a small "secretexec --init": helperVar set, it runs its
// arguments with Run and exits with the status.

const helperVar = "SUPERVISE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperVar) == "1" {
		path, err := exec.LookPath(os.Args[1])
		if err == nil {
			var status int
			if status, err = runOnce(context.Background(), path, os.Args[1:], os.Environ()); err == nil {
				os.Exit(status)
			}
		}
		fmt.Fprintln(os.Stderr, "supervise helper:", err)
		os.Exit(125)
	}
	os.Exit(m.Run())
}

// helper is the supervisor running args.
func helper(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", helperVar+"=1") // no race-runtime sleep at exit
	return cmd
}

// waitExit waits for cmd, a hang check rather than a speed target.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(ptytest.Timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the supervisor did not exit within %s", ptytest.Timeout)
		return nil
	}
}

// A command that stops for Ctrl-Z and the trap that shows it continued.
const ctrlZScript = `trap 'echo cont:$((1+2))' CONT; echo ready:$((1+1)); until read l; do :; done; echo echo:$l`

// ctrlZContinues types Ctrl-Z at the command under a supervisor that no shell can resume
// (its process group is orphaned) and checks that the command is continued at once, as the
// kernel would have discarded the Ctrl-Z for an exec'd command there.
func ctrlZContinues(t *testing.T, cmd *exec.Cmd, tm *ptytest.Terminal) {
	t.Helper()
	tm.Expect("ready:2")
	tm.Type("\x1a")
	tm.Expect("cont:3") // stopped, then continued
	tm.Type("x\n")
	tm.Expect("echo:x")
	if err := waitExit(t, cmd); err != nil {
		t.Fatalf("supervisor: %v; screen:\n%s", err, tm.Screen())
	}
}

// The supervisor as the session leader of a terminal, as under docker exec -t, ssh -t or
// script: no shell to resume it, so a Ctrl-Z must not leave the command stopped, nor stop
// the supervisor for ever.
func TestCtrlZWhereNoShellCanResume(t *testing.T) {
	tm := ptytest.Open(t)
	cmd := helper("sh", "-c", ctrlZScript)
	tm.Attach(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctrlZContinues(t, cmd, tm)
}

// The supervisor as PID 1 with a terminal, as under docker run -t: no signal from inside its
// PID namespace can stop it.
func TestCtrlZAsPID1(t *testing.T) {
	tm := ptytest.Open(t)
	cmd := helper("sh", "-c", "echo pid:$PPID:; "+ctrlZScript)
	tm.Attach(cmd)
	cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID
	if err := cmd.Start(); err != nil {
		t.Skipf("no PID namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	tm.Expect("pid:1:")
	ctrlZContinues(t, cmd, tm)
}

// Without a terminal the supervisor does not watch the command's stops, as before job
// control was followed: a command stopped by someone else is theirs to continue, and the
// supervisor goes on (following, it would stop its process group, which here a parent
// could resume, and be stuck). The supervisor under test runs under another one started in
// a session of its own, without a terminal, so that its process group is not orphaned.
func TestNoTerminalStopNotFollowed(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := helper(os.Args[0], "sh", "-c", `echo $$ > `+pidFile+`; kill -STOP $$; echo resumed:$((1+1))`)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := 0
	for deadline := time.Now().Add(ptytest.Timeout); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command did not stop; output:\n%s", &out)
		}
		if pid == 0 {
			b, _ := os.ReadFile(pidFile)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		} else if st, err := ptytest.ReadStat(pid); err == nil && st.State == "T" {
			break
		}
	}
	// The setup: the inner supervisor has no terminal and a process group of its own in
	// the outer one's session.
	sh, err := ptytest.ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := ptytest.ReadStat(sh.PPid)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := ptytest.ReadStat(inner.PPid)
	if err != nil {
		t.Fatal(err)
	}
	if inner.TtyNr != 0 || inner.Session != outer.Session || inner.PGrp == outer.PGrp || outer.PPid != os.Getpid() {
		t.Fatalf("setup: inner supervisor %+v, outer %+v", inner, outer)
	}
	if err := unix.Kill(pid, unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd); err != nil {
		t.Fatalf("supervisors: %v; output:\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "resumed:2") {
		t.Errorf("output:\n%s", &out)
	}
}
