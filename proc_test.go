package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
	"github.com/secretexec/secretexec/internal/ptytest"
)

// This file is the only place Go tests start processes (TestProcessesOnlyHere checks): every
// process goes through procEnv, which checks at the end of the test that no seeded value
// appears in secretexec's own output, as the testscript harness does for scripts.

var fleet = flag.Bool("fleet", false, "run TestFleet: 100 concurrent starts against a 40 requests/s account (about 15s)")

// procEnv is one test's AWS (awstest behind its fault proxy) and the isolated environment
// secretexec processes get: no shared AWS files, no instance metadata, test credentials.
type procEnv struct {
	t   *testing.T
	srv *awstest.Server
	dir string
	bin string // the secretexec to run; by default the test binary's copy in $PATH

	canaries canaries

	mu      sync.Mutex
	outputs []*bytes.Buffer // every process's stderr
}

func newProcEnv(t *testing.T) *procEnv {
	t.Helper()
	p := &procEnv{t: t, srv: awstest.New(t), dir: t.TempDir(), bin: "secretexec"}
	t.Cleanup(p.checkCanaries)
	return p
}

func (p *procEnv) putParam(name, value string) {
	p.t.Helper()
	p.canaries.add(value)
	if err := p.srv.PutParameter(context.Background(), name, value, true); err != nil {
		p.t.Fatal(err)
	}
}

func (p *procEnv) createSecret(id string, kv map[string]string) {
	p.t.Helper()
	b, _ := json.Marshal(kv)
	p.canaries.add(string(b)) // and so each value
	if _, err := p.srv.CreateSecret(context.Background(), id, string(b)); err != nil {
		p.t.Fatal(err)
	}
}

// own is the file where the test build of secretexec copies its own output.
func (p *procEnv) own() string { return filepath.Join(p.dir, ".own-output") }

// command is secretexec with args, its stdout and stderr captured into buffers that the
// canary check reads.
func (p *procEnv) command(args ...string) (cmd *exec.Cmd, stdout, stderr *bytes.Buffer) {
	cmd = exec.Command(p.bin, args...)
	cmd.Dir = p.dir
	cmd.Env = p.environ()
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	p.mu.Lock()
	p.outputs = append(p.outputs, stderr) // stdout is the command's after exec
	p.mu.Unlock()
	return cmd, stdout, stderr
}

// environ is the whole environment of a process: nothing of the developer's AWS setup
// (AWS_PROFILE, AWS_CA_BUNDLE, service-specific AWS_ENDPOINT_URL_*) reaches it, as in scripts.
func (p *procEnv) environ() []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir, ownLogVar + "=" + p.own(), noRaceExitSleep}, p.srv.Env(p.dir)...)
}

// onTerminal is name with args, in the environment secretexec gets plus extra, started as the
// leader of a new session on the terminal tm (see ptytest.Terminal.Attach): usually a shell
// that then runs secretexec. What the terminal shows is checked for canaries at the end of
// the test, as every process's stderr is.
func (p *procEnv) onTerminal(tm *ptytest.Terminal, extra []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = p.dir
	cmd.Env = append(p.environ(), extra...)
	tm.Attach(cmd)
	p.t.Cleanup(func() {
		tm.Close() // every process on it is gone: the screen is complete
		for _, n := range p.canaries.leaked([]byte(tm.Screen())) {
			p.t.Errorf("a seeded secret value (%d bytes) appears on the terminal", n)
		}
	})
	return cmd
}

func (p *procEnv) checkCanaries() {
	own, _ := os.ReadFile(p.own())
	for _, n := range p.canaries.leaked(own) {
		p.t.Errorf("a seeded secret value (%d bytes) appears in secretexec's own output", n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.outputs {
		for _, n := range p.canaries.leaked(o.Bytes()) {
			p.t.Errorf("a seeded secret value (%d bytes) appears in a process's stderr", n)
		}
	}
}

// start starts cmd (from p.command) in the background of the test: a command it left behind
// holding the pipes does not hang Wait, and one still running when the test ends (a test
// that failed early) is killed.
func (p *procEnv) start(cmd *exec.Cmd) {
	p.t.Helper()
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
	}
}

// waitCalls waits until the proxy has seen n calls of action.
func (p *procEnv) waitCalls(action string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.srv.Calls(action) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s call within 10s", action)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSignalWhileFetching: a signal while a fetch hangs cancels it; secretexec exits 128+N
// at once, never starts the command, leaves no file behind, says so on stderr.
func TestSignalWhileFetching(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
	}{
		{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGHUP, "SIGHUP"},
		// The command's signals: the Go runtime would ignore them, and the
		// command would never hear of them. Without --init they stop the start.
		{syscall.SIGUSR1, "SIGUSR1"}, {syscall.SIGUSR2, "SIGUSR2"}, {syscall.SIGALRM, "SIGALRM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProcEnv(t)
			p.putParam("/app/prod/DB_PASS", "canary-signal-pass-1")
			p.srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Hang})
			out := filepath.Join(p.dir, "out")
			if err := os.Mkdir(out, 0o700); err != nil {
				t.Fatal(err)
			}
			ran := filepath.Join(p.dir, "ran")
			cmd, stdout, stderr := p.command("--ssm-path", "/app/prod", "--output", filepath.Join(out, ".env.runtime"),
				"--", "envdump", "-dir", ran, "DB_PASS")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			p.waitCalls("GetParametersByPath", 1)
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second): // a hang check, not a speed target
				cmd.Process.Kill()
				t.Fatalf("still running 5s after %s", tc.name)
			}
			t.Logf("exited %s after the signal", time.Since(sent).Round(time.Millisecond))
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(tc.sig) {
				t.Fatalf("exit: %v, want status %d; stderr:\n%s", err, 128+int(tc.sig), stderr)
			}
			want := fmt.Sprintf("secretexec: error: interrupted by %s while fetching; the command was not started\n", tc.name)
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr:\n%s\nwant the line %q", stderr, want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
			if _, err := os.Stat(ran); !os.IsNotExist(err) {
				t.Errorf("the command ran (%s exists)", ran)
			}
			if left, _ := os.ReadDir(out); len(left) != 0 {
				t.Errorf("files left in the output folder: %v", left)
			}
		})
	}
}

// TestHeldSignalUnderInit: under --init a command's signal (SIGUSR1) that arrives while
// fetching is held, and not sent to the command at its start, where it would end it before
// it could have a handler: the command runs, and secretexec says so at the
// default level, without an "interrupted" line.
func TestHeldSignalUnderInit(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-held-pass-1")
	p.srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Slow, Delay: 500 * time.Millisecond, Count: 1})
	cmd, stdout, stderr := p.command("--init", "--ssm-path", "/app/prod", "--", "envdump", "-exit", "0", "DB_PASS")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.waitCalls("GetParametersByPath", 1)
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want the command's 0; stderr:\n%s", err, stderr)
	}
	if !strings.Contains(stdout.String(), "DB_PASS len=18 ") {
		t.Errorf("stdout:\n%s\nwant the command's output", stdout)
	}
	want := "secretexec: warning: SIGUSR1 arrived before the command started: not delivered to it, which has just started afresh (docs/signals.md)\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant only %q", stderr, want)
	}
}

// TestSignalWhileWriting: a signal that arrives while --output is written says so, and
// what it says of the file is true: left as it was, or written. (It said "while fetching".)
func TestSignalWhileWriting(t *testing.T) {
	p := newProcEnv(t)
	big := strings.Repeat("x", 4000)
	for i := range 300 {
		p.putParam(fmt.Sprintf("/app/prod/P%03d", i), fmt.Sprintf("canary-write-%03d-%s", i, big))
	}
	out := filepath.Join(p.dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, ".env.runtime")
	hits := 0
	for trial := range 5 {
		if err := os.WriteFile(file, []byte("OLD=1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd, _, stderr := p.command("--ssm-path", "/app/prod", "--output", file, "--", "envdump", "-exit", "0")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The moment secretexec holds a file in the output folder open, it is writing.
		fds := fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)
	watch:
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			ents, _ := os.ReadDir(fds)
			for _, e := range ents {
				if l, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(l, out+"/") {
					break watch
				}
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		b, _ := os.ReadFile(file)
		unchanged := string(b) == "OLD=1\n"
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.ExitCode() == 143 && strings.Contains(stderr.String(), "interrupted by SIGTERM while writing "+file+", which was left as it was; the command was not started"):
			hits++
			if !unchanged {
				t.Errorf("trial %d: said left as it was, but the file changed", trial)
			}
		case errors.As(err, &ee) && ee.ExitCode() == 143 && strings.Contains(stderr.String(), "interrupted by SIGTERM after writing "+file+"; the command was not started"):
			if unchanged {
				t.Errorf("trial %d: said written, but the file is as it was", trial)
			}
		default:
			// Too late for secretexec (the command ran) or too early: no claim to check.
			t.Logf("trial %d: %v; stderr:\n%s", trial, err, stderr)
		}
		if left, _ := os.ReadDir(out); len(left) != 1 {
			t.Errorf("trial %d: the output folder holds %d files, want only the output", trial, len(left))
		}
	}
	if hits == 0 {
		t.Errorf("no trial stopped the write (5 tries): the message for it went untested")
	}
}

// TestProcessesOnlyHere keeps every Go test that starts a process in this file, behind
// procEnv and its canary check.
func TestProcessesOnlyHere(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	// The script helper "status" (main_test.go) runs secretexec inside a script, whose
	// harness already checks secretexec's own output: that one use is known.
	allowed := map[string]int{"main_test.go": 1}
	for _, f := range files {
		if f == "proc_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, bad := range []string{"exec.Command", "os.StartProcess", "syscall.Exec", "unix.Exec"} {
			n += bytes.Count(b, []byte(bad))
		}
		if n > allowed[f] {
			t.Errorf("%s starts processes itself: start them through procEnv in proc_test.go, which checks their output for canaries", f)
		}
	}
}

// TestFleet is a fleet restart: 100 secretexec processes start at once against an account
// limited to 40 requests/s (burst 40), each reading a 25-parameter path (3 pages) and a JSON
// secret: 400 calls at least, so 10s of the account's capacity. Every one must exec with
// every value, inside the default 30s --timeout. Opt-in:
//
//	go test -run TestFleet -fleet -v .
func TestFleet(t *testing.T) {
	if !*fleet {
		t.Skip("opt-in: go test -run TestFleet -fleet -v .")
	}
	const (
		procs  = 100
		params = 25
	)
	p := newProcEnv(t)
	p.bin = filepath.Join(t.TempDir(), "secretexec")
	build := exec.Command("go", "build", "-o", p.bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	names := []string{}
	want := map[string]string{}
	for i := 1; i <= params; i++ {
		n := fmt.Sprintf("P%02d", i)
		v := fmt.Sprintf("fleet-value-%02d-%d", i, i*7919)
		p.putParam("/fleet/prod/"+n, v)
		names, want[n] = append(names, n), v
	}
	secret := map[string]string{}
	for i := 1; i <= 5; i++ {
		n := fmt.Sprintf("S%d", i)
		secret[n] = fmt.Sprintf("fleet-secret-%d-%d", i, i*104729)
		names, want[n] = append(names, n), secret[n]
	}
	p.createSecret("fleet/prod/app", secret)
	sort.Strings(names)
	var expect strings.Builder
	for _, n := range names {
		sum := sha256.Sum256([]byte(want[n]))
		fmt.Fprintf(&expect, "%s len=%d sha=%x\n", n, len(want[n]), sum[:4])
	}
	p.srv.SetRateLimit(40, 40)
	p.srv.ResetCalls()

	type result struct {
		took   time.Duration
		err    error
		stdout string
		stderr string
	}
	results := make([]result, procs)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range procs {
		cmd, stdout, stderr := p.command(append([]string{"--ssm-path", "/fleet/prod", "--secret-id", "fleet/prod/app", "--", "envdump"}, names...)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			err := cmd.Run()
			results[i] = result{took: time.Since(t0), err: err, stdout: stdout.String(), stderr: stderr.String()}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)

	var took []time.Duration
	for i, r := range results {
		took = append(took, r.took)
		switch {
		case r.err != nil:
			t.Errorf("process %d: %v after %s\n%s", i, r.err, r.took, r.stderr)
		case r.stdout != expect.String():
			t.Errorf("process %d: the command did not get every value:\n%s", i, r.stdout)
		case r.took > 30*time.Second:
			t.Errorf("process %d took %s, over the 30s deadline", i, r.took)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	pct := func(q float64) time.Duration { return took[int(q*float64(len(took)-1))].Round(time.Millisecond) }
	total := p.srv.TotalCalls()
	t.Logf("%d processes, 40 req/s burst 40: start-to-exec p50 %s, p90 %s, p99 %s, max %s; wall %s",
		procs, pct(0.5), pct(0.9), pct(0.99), took[len(took)-1].Round(time.Millisecond), wall.Round(time.Millisecond))
	t.Logf("calls %d (GetParametersByPath %d, GetSecretValue %d), of which throttled %d (calls beyond the %d needed)",
		total, p.srv.Calls("GetParametersByPath"), p.srv.Calls("GetSecretValue"), total-procs*4, procs*4)
}
