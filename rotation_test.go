package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Rotation that keeps the service up, end to end, judged by the process tree
// secretexec leaves: no process the old command started outlives a restart, an
// --on-change exit, or secretexec's own exit on a stop signal.

// family is a command that starts three processes of the kinds a wrapper leaves behind
// when only its own pid is signalled: a plain background child, one in the group that
// ignores SIGTERM (only SIGKILL to the group ends it), and one that left the group and
// the session (setsid), which no group signal reaches. Each is a sleep with the marker
// as its argument, so that the test finds them anywhere on the machine. The shell logs
// its pid once it has started them (they may take a moment more to exec sleep).
func family(marker, log string) []string {
	return []string{"sh", "-c", fmt.Sprintf(
		`sleep %[1]s & (trap "" TERM; exec sleep %[1]s) & setsid sleep %[1]s & echo "start $$" >> %[2]s; wait`,
		marker, log)}
}

// marked returns the pids of the live processes whose command line is "sleep MARKER".
func marked(marker string) []int {
	want := []byte("sleep\x00" + marker + "\x00")
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Equal(b, want) {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
				continue // exited, not yet reaped
			}
		}
		out = append(out, pid)
	}
	return out
}

// tree counts the live processes below pid.
func tree(pid int) int {
	ents, _ := os.ReadDir("/proc")
	kids := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(st, ')')
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		kids[pp] = append(kids[pp], p)
	}
	n := 0
	var walk func(int)
	walk = func(p int) {
		for _, k := range kids[p] {
			n++
			walk(k)
		}
	}
	walk(pid)
	return n
}

// shellStarts is the pids a family's shell logged, in order.
func shellStarts(log string) []string {
	b, _ := os.ReadFile(log)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if pid, ok := strings.CutPrefix(line, "start "); ok {
			out = append(out, pid)
		}
	}
	return out
}

func waitShellStarts(t *testing.T, log string, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if s := shellStarts(log); len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start number %d within %s; starts: %v", n, d, shellStarts(log))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMarked waits until n processes have the marker, and returns them; fewer after d
// fail the test.
func waitMarked(t *testing.T, marker string, n int, d time.Duration) []int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := marked(marker)
		if len(m) >= n || time.Now().After(deadline) {
			if len(m) != n {
				t.Fatalf("%d processes with the marker, want %d: %v", len(m), n, m)
			}
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// familyWatch starts secretexec --watch over a family; the marker is unique to the test.
func (p *procEnv) familyWatch(args ...string) (cmd *exec.Cmd, marker, log string) {
	p.t.Helper()
	marker = fmt.Sprintf("%d.%d", 1000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
	log = filepath.Join(p.dir, "family.log")
	cmd, _, _ = p.command(append(args, append([]string{"--"}, family(marker, log)...)...)...)
	p.t.Cleanup(func() { // after p.start's: the command's processes, whatever secretexec left
		for _, pid := range marked(marker) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	p.start(cmd)
	return cmd, marker, log
}

var rotations = flag.Int("rotations", 3, "rotations in TestRestartStopsWholeCommand (about 1.3s each; -rotations 40 for the full run)")

// TestRestartStopsWholeCommand: rotations (-rotations; 40 for the full run) of a wrapper
// with a background child, a group member that ignores SIGTERM and a setsid grandchild.
// After each one exactly one generation is alive (3 sleeps, and the shell: a constant
// process count), none of the previous generation's processes is left, and the new shell
// started only once they were gone. Each rotation waits for a check (--watch is 1s at
// least), so the suite runs a few and the full 40 run on demand.
func TestRestartStopsWholeCommand(t *testing.T) {
	rotations := *rotations
	if testing.Short() {
		rotations = 3
	}
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-family-0")
	cmd, marker, log := p.familyWatch("--watch", "1s", "--stop-timeout", "300ms", "--ssm-path", "/app/prod")
	waitShellStarts(t, log, 1, 10*time.Second)
	prev := waitMarked(t, marker, 3, 2*time.Second)
	counts := []int{}
	t0 := time.Now()
	for i := 1; i <= rotations; i++ {
		p.putParam("/app/prod/DB_PASS", fmt.Sprintf("canary-family-%d", i))
		waitShellStarts(t, log, i+1, 5*time.Second)
		for _, pid := range marked(marker) {
			if slices.Contains(prev, pid) {
				t.Fatalf("rotation %d: pid %d of the previous generation is still running beside the new one", i, pid)
			}
		}
		now := waitMarked(t, marker, 3, 2*time.Second)
		n := tree(cmd.Process.Pid)
		counts = append(counts, n)
		if len(now) != 3 || n != 4 {
			t.Fatalf("rotation %d: %d sleeps (want 3), %d processes below secretexec (want 4)", i, len(now), n)
		}
		prev = now
	}
	t.Logf("%d rotations in %s; processes below secretexec after each: %v", rotations, time.Since(t0).Round(time.Millisecond), counts)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := exitStatus(t, cmd, 10*time.Second); st != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want the shell's 143", st)
	}
	if left := marked(marker); len(left) != 0 {
		t.Errorf("secretexec exited and left %d of the command's processes running: %v", len(left), left)
	}
}

// TestStopSignalStopsWholeCommand: SIGTERM to secretexec --init, and to --watch, reaches
// the whole command: its group, the setsid grandchild, and the group member that ignores
// it is killed after --stop-timeout; secretexec exits with the shell's status and leaves
// nothing running.
func TestStopSignalStopsWholeCommand(t *testing.T) {
	for _, mode := range [][]string{{"--init"}, {"--watch", "1s"}} {
		t.Run(mode[0], func(t *testing.T) {
			p := newProcEnv(t)
			p.putParam("/app/prod/DB_PASS", "canary-family-stop-1")
			cmd, marker, log := p.familyWatch(append(mode, "--stop-timeout", "500ms", "--ssm-path", "/app/prod")...)
			waitShellStarts(t, log, 1, 10*time.Second)
			waitMarked(t, marker, 3, 2*time.Second)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			if st := exitStatus(t, cmd, 10*time.Second); st != 128+int(syscall.SIGTERM) {
				t.Errorf("exit status %d, want the shell's 143", st)
			}
			took := time.Since(sent)
			if left := marked(marker); len(left) != 0 {
				t.Errorf("secretexec exited and left %d of the command's processes running: %v", len(left), left)
			}
			if took < 500*time.Millisecond {
				t.Errorf("exited %s after SIGTERM: the member ignoring it was not given the 500ms --stop-timeout", took)
			}
		})
	}
}

// TestOnChangeExitStopsWholeCommand: --on-change exit stops every process of the command
// before secretexec exits 75.
func TestOnChangeExitStopsWholeCommand(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-family-exit-1")
	cmd, marker, log := p.familyWatch("--watch", "1s", "--on-change", "exit", "--stop-timeout", "300ms", "--ssm-path", "/app/prod")
	waitShellStarts(t, log, 1, 10*time.Second)
	waitMarked(t, marker, 3, 2*time.Second)
	p.putParam("/app/prod/DB_PASS", "canary-family-exit-2")
	if st := exitStatus(t, cmd, 10*time.Second); st != 75 {
		t.Errorf("exit status %d, want 75", st)
	}
	if left := marked(marker); len(left) != 0 {
		t.Errorf("secretexec exited and left %d of the command's processes running: %v", len(left), left)
	}
}

// TestCommandExitStopsWhatItLeft: a command that exits by itself under --init ends
// secretexec with its status, and what it left running (an entry script's app started in
// the background, a setsid daemon) is stopped before secretexec exits.
func TestCommandExitStopsWhatItLeft(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-family-left-1")
	marker := fmt.Sprintf("%d.%d", 2000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
	cmd, _, stderr := p.command("--init", "--verbose", "--ssm-path", "/app/prod", "--", "sh", "-c",
		fmt.Sprintf(`sleep %[1]s & setsid sleep %[1]s & sleep 0.3; exit 4`, marker))
	t.Cleanup(func() {
		for _, pid := range marked(marker) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if st := exitStatus(t, cmd, 10*time.Second); st != 4 {
		t.Errorf("exit status %d, want the command's 4", st)
	}
	if left := marked(marker); len(left) != 0 {
		t.Errorf("secretexec exited and left %d of the command's processes running: %v", len(left), left)
	}
	if !strings.Contains(stderr.String(), "secretexec: the command left 2 processes running: stopped (SIGTERM)\n") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestSIGHUPKeepsRotating: SIGHUP to secretexec (an operator's reload) goes to the command
// and rotation goes on: the next change restarts it.
func TestSIGHUPKeepsRotating(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-hup-keeps-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--ssm-path", "/app/prod"}, "-var", "DB_PASS")
	log.waitStarts(t, 1, 10*time.Second)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, 5*time.Second, "the forwarded SIGHUP", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "hup ") })
	})
	p.putParam("/app/prod/DB_PASS", "canary-hup-keeps-2")
	starts := log.waitStarts(t, 2, 5*time.Second)
	if field(starts[1], "prev") != "gone" {
		t.Errorf("the old command was still there: %s", starts[1])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
}

// TestClosedStderrKeepsSupervising: secretexec's stderr is a pipe nobody reads any more
// (the log collector went away): its next line does not kill it; it keeps rotating the
// command.
func TestClosedStderrKeepsSupervising(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-epipe-1")
	log := recorderLog(filepath.Join(p.dir, "recorder.log"))
	cmd, _, _ := p.command("--watch", "1s", "--ssm-path", "/app/prod", "--", "recorder", "-log", string(log), "-var", "DB_PASS")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	cmd.WaitDelay = 5 * time.Second // a command left behind holds the pipes
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r.Close() // from here every write to stderr is EPIPE (and SIGPIPE)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	log.waitStarts(t, 1, 10*time.Second)
	for i := 2; i <= 3; i++ {
		p.putParam("/app/prod/DB_PASS", fmt.Sprintf("canary-epipe-%d", i))
		starts := log.waitStarts(t, i, 5*time.Second)
		if field(starts[i-1], "prev") != "gone" {
			t.Errorf("rotation %d: the old command was still there", i)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("secretexec is gone: %v", err)
	}
	if st := exitStatus(t, cmd, 10*time.Second); st != 0 {
		t.Errorf("exit status %d, want the command's 0", st)
	}
}

// TestCommandSIGPIPEDefault: the command started under --init gets SIGPIPE with its
// default action, neither ignored nor caught, whatever secretexec does about its own.
func TestCommandSIGPIPEDefault(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-sigpipe-1")
	out := filepath.Join(p.dir, "status")
	cmd, _, stderr := p.command("--init", "--ssm-path", "/app/prod", "--", "sh", "-c", `grep -E '^Sig(Ign|Cgt)' /proc/$$/status > `+out)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr)
	}
	b, _ := os.ReadFile(out)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, hex, _ := strings.Cut(line, ":")
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if mask&(1<<(syscall.SIGPIPE-1)) != 0 {
			t.Errorf("the command's %s has SIGPIPE: %s", name, line)
		}
	}
}

// TestNoOverrideAddedNoRestart: a parameter added whose variable --no-override keeps with
// the inherited value changes nothing the command gets: it is not restarted. A real
// change afterwards still restarts it.
func TestNoOverrideAddedNoRestart(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-keep-1")
	log := recorderLog(filepath.Join(p.dir, "recorder.log"))
	cmd, _, _ := p.command("--verbose", "--watch", "1s", "--no-override", "--ssm-path", "/app/prod", "--", "recorder", "-log", string(log), "-var", "DB_PASS", "-var", "DB_USER")
	cmd.Env = append(cmd.Env, "DB_USER=inherited-user")
	p.start(cmd)
	log.waitStarts(t, 1, 10*time.Second)
	p.putParam("/app/prod/DB_USER", "canary-keep-user")
	calls := p.srv.Calls("GetParametersByPath")
	p.waitCalls("GetParametersByPath", calls+3) // three checks that see the new parameter
	if n := len(log.starts()); n != 1 {
		t.Errorf("%d starts after a parameter --no-override keeps was added, want 1", n)
	}
	p.putParam("/app/prod/DB_PASS", "canary-keep-2")
	log.waitStarts(t, 2, 5*time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
	if !strings.Contains(stderrOf(cmd), "secretexec: DB_USER added (inherited, kept by --no-override): the command's environment is the same; nothing to do\n") {
		t.Errorf("stderr:\n%s", stderrOf(cmd))
	}
}

// TestOutputFailureWarnsOnce: an --output rewrite that fails at every check (the file was
// replaced by a symlink, which secretexec never writes through) warns once for the streak,
// not at each check; the command keeps running and is not signalled.
func TestOutputFailureWarnsOnce(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-outfail-1")
	out := filepath.Join(p.dir, ".env.runtime")
	cmd, log := p.watching([]string{"--watch", "1s", "--on-change", "SIGHUP", "--output", out, "--ssm-path", "/app/prod"}, "-file", out)
	log.waitStarts(t, 1, 10*time.Second)
	os.Remove(out)
	if err := os.Symlink(filepath.Join(p.dir, "elsewhere"), out); err != nil {
		t.Fatal(err)
	}
	p.putParam("/app/prod/DB_PASS", "canary-outfail-2")
	calls := p.srv.Calls("GetParametersByPath")
	p.waitCalls("GetParametersByPath", calls+4)
	time.Sleep(100 * time.Millisecond) // the last check's warning, if any
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
	if n := strings.Count(stderrOf(cmd), "DB_PASS changed"); n != 1 {
		t.Errorf("stderr:\n%s\nwant one warning for the streak of failed rewrites, got %d", stderrOf(cmd), n)
	}
	if slices.ContainsFunc(log.lines(), func(s string) bool { return strings.HasPrefix(s, "hup ") }) {
		t.Errorf("the command was signalled though --output was not rewritten")
	}
}

// freePort is a loopback TCP port nobody listens on (at the time of asking).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// load is a bounded client load: workers goroutines, each a request at a time on a new
// connection, until stop; it counts what failed and which answers came.
type load struct {
	mu      sync.Mutex
	ok      int
	failed  []string
	answers map[string]int
	worst   time.Duration
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(url string, workers int, pause time.Duration) *load {
	ld := &load{answers: map[string]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range workers {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			for {
				select {
				case <-ld.stop:
					return
				case <-time.After(pause):
				}
				t0 := time.Now()
				resp, err := client.Get(url)
				took := time.Since(t0)
				ld.mu.Lock()
				if took > ld.worst {
					ld.worst = took
				}
				if err != nil {
					ld.failed = append(ld.failed, err.Error())
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						ld.failed = append(ld.failed, resp.Status)
					} else {
						ld.ok++
						_, v, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
						ld.answers[v]++
					}
				}
				ld.mu.Unlock()
			}
		}()
	}
	return ld
}

func (ld *load) end() {
	close(ld.stop)
	ld.wg.Wait()
}

func (ld *load) served(answer string) int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.answers[answer]
}

// TestListenHealthZeroRefused: --listen with --health-check (start-first): under a client
// load on loopback (4 clients, a new connection a request, for about 4s), a rotation serves
// the new value and no request fails, though the server takes 200ms to boot (the check,
// answered by the old command on the shared socket, passes at once: the requests that
// arrive while neither accepts wait in the backlog); a rotation to a
// value the new command refuses (it exits at start) keeps the old command serving the old
// value, with no failed request either, and one warning naming the variable, not its value.
func TestListenHealthZeroRefused(t *testing.T) {
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-listen-1")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log := filepath.Join(p.dir, "serve.log")
	cmd, _, _ := p.command("--verbose", "--watch", "1s", "--listen", "tcp://"+addr, "--health-check", "http://"+addr+"/health",
		"--health-timeout", "5s", "--ssm-path", "/app/prod", "--", "httpserve", "-var", "DB_PASS", "-log", log, "-delay", "200ms")
	p.start(cmd)
	hash := func(v string) string { sum := sha256.Sum256([]byte(v)); return fmt.Sprintf("DB_PASS=%x", sum[:6]) }
	// The load starts once secretexec has bound the socket: from then on a connection
	// waits in the backlog until a command accepts it.
	waitListening(t, addr)
	ld := startLoad("http://"+addr+"/", 4, 10*time.Millisecond)
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(log)
				t.Fatalf("no %s within %s; server log:\n%s", what, d, b)
			}
		}
	}
	// Connections made before the first command accepts wait in the backlog: none fails.
	waitFor("answer with the first value", 10*time.Second, func() bool { return ld.served(hash("canary-listen-1")) > 20 })
	// A slow request (the server answers /slow after 3s) in flight across the rotation: the
	// old command, stopped only once the new one has passed its check, finishes it.
	slow := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: 15 * time.Second}
		resp, err := c.Get("http://" + addr + "/slow")
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(" slow"))) {
				err = fmt.Errorf("HTTP %d %q", resp.StatusCode, b)
			}
		}
		slow <- err
	}()
	time.Sleep(100 * time.Millisecond) // in flight before the change
	p.putParam("/app/prod/DB_PASS", "canary-listen-2")
	waitFor("answer with the second value", 10*time.Second, func() bool { return ld.served(hash("canary-listen-2")) > 20 })
	if err := <-slow; err != nil {
		t.Errorf("the slow request in flight across the rotation failed: %v", err)
	}
	p.putParam("/app/prod/DB_PASS", "bad-canary-listen-3")
	waitFor("refused start", 10*time.Second, func() bool { b, _ := os.ReadFile(log); return bytes.Contains(b, []byte("refused pid=")) })
	before := ld.served(hash("canary-listen-2"))
	time.Sleep(600 * time.Millisecond) // the old command goes on serving
	ld.end()
	if after := ld.served(hash("canary-listen-2")); after <= before {
		t.Errorf("the old command stopped serving after the refused rotation")
	}
	ld.mu.Lock()
	t.Logf("%d requests answered, %d failed, slowest %s; answers: %v", ld.ok, len(ld.failed), ld.worst.Round(time.Millisecond), ld.answers)
	if len(ld.failed) > 0 {
		t.Errorf("%d requests failed, want 0: %v", len(ld.failed), ld.failed[:min(5, len(ld.failed))])
	}
	ld.mu.Unlock()
	if ld.served(hash("bad-canary-listen-3")) > 0 {
		t.Errorf("the refused value was served")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if st := exitStatus(t, cmd, 15*time.Second); st != 0 {
		t.Errorf("exit status %d, want the server's 0", st)
	}
	out := stderrOf(cmd)
	if t.Failed() {
		b, _ := os.ReadFile(log)
		t.Logf("stderr:\n%s\nserver log:\n%s", out, b)
	}
	if !strings.Contains(out, "secretexec: warning: DB_PASS changed (ssm path \"/app/prod\"): the new command exited with status 1 before passing the health check http://"+addr+"/health") {
		t.Errorf("stderr:\n%s\nwant one warning naming DB_PASS and the check", out)
	}
	b, _ := os.ReadFile(log)
	if bytes.Contains(b, []byte("bad-activation")) || strings.Count(string(b), "start pid=") != 2 {
		t.Errorf("server log:\n%s\nwant two starts, each with LISTEN_PID its own pid", b)
	}
}

var gunicornBench = flag.Bool("gunicorn", false, "run TestGunicornRotation: the rotation measurement with Debian's gunicorn and Flask (about 90s)")

// TestGunicornRotation is the rotation measurement (bench/README.md), tried as a user would: a Flask app under
// gunicorn (2 workers) whose / answers a hash of DB_PASS, under about 100 requests a second
// on loopback (a new connection each), one rotation in the middle of 20s; the failed
// requests counted, and the time from the change to the first answer with the new value.
// Opt-in (needs /usr/bin/python3 with python3-gunicorn and python3-flask):
//
//	go test -run TestGunicornRotation -gunicorn -v .
func TestGunicornRotation(t *testing.T) {
	if !*gunicornBench {
		t.Skip("opt-in: go test -run TestGunicornRotation -gunicorn -v .")
	}
	app := `import hashlib, os
from flask import Flask
v = os.environ.get("DB_PASS", "")
if v.startswith("bad"):
    raise SystemExit("the database refused the password")
app = Flask(__name__)
@app.route("/")
def index():
    return "x DB_PASS=" + hashlib.sha256(v.encode()).hexdigest()[:12]
@app.route("/health")
def health():
    return "ok"
`
	hash := func(v string) string { sum := sha256.Sum256([]byte(v)); return fmt.Sprintf("DB_PASS=%x", sum[:6]) }
	for _, mode := range []struct {
		name   string
		listen bool
		health bool
		bad    bool
	}{
		{"today's --watch restart (gunicorn binds the port)", false, false, false},
		{"--listen, stop-first", true, false, false},
		{"--listen --health-check, start-first", true, true, false},
		{"a rotation to a value that fails the health check", true, true, true},
		{"the same, gunicorn --preload (the app loads in the master, which exits)", true, true, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			p := newProcEnv(t)
			os.WriteFile(filepath.Join(p.dir, "app.py"), []byte(app), 0o600)
			p.putParam("/app/prod/DB_PASS", "canary-gunicorn-1")
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			args := []string{"--watch", "1s", "--ssm-path", "/app/prod"}
			bind := []string{"-b", addr}
			if mode.listen {
				// gunicorn finds the socket by LISTEN_FDS and LISTEN_PID itself; -b fd://3
				// as well would make it open fd 3 twice and fail (EBADF, gunicorn 20.1).
				args = append(args, "--listen", "tcp://"+addr)
				bind = nil
			}
			if strings.Contains(mode.name, "--preload") {
				bind = append(bind, "--preload")
			}
			if mode.health {
				args = append(args, "--health-check", "http://"+addr+"/health")
			}
			args = append(args, "--", "/usr/bin/python3", "-m", "gunicorn", "--chdir", p.dir, "-w", "2")
			args = append(append(args, bind...), "app:app")
			cmd, _, _ := p.command(args...)
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				exitStatus(t, cmd, 40*time.Second)
				if testing.Verbose() {
					t.Logf("stderr:\n%s", stderrOf(cmd))
				}
			}()
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if r, err := http.Get("http://" + addr + "/health"); err == nil {
					r.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("gunicorn did not answer; stderr:\n%s", stderrOf(cmd))
				}
			}
			ld := startLoad("http://"+addr+"/", 4, 40*time.Millisecond)
			time.Sleep(10 * time.Second)
			next := "canary-gunicorn-2"
			if mode.bad {
				next = "bad-canary-gunicorn-2"
			}
			p.putParam("/app/prod/DB_PASS", next)
			changed := time.Now()
			newAt := time.Duration(0)
			for time.Since(changed) < 10*time.Second {
				if newAt == 0 && ld.served(hash(next)) > 0 {
					newAt = time.Since(changed)
				}
				time.Sleep(5 * time.Millisecond)
			}
			ld.end()
			ld.mu.Lock()
			defer ld.mu.Unlock()
			kinds := map[string]int{}
			for _, f := range ld.failed {
				switch {
				case strings.Contains(f, "refused"):
					kinds["refused"]++
				case strings.Contains(f, "reset"):
					kinds["reset"]++
				default:
					kinds["other"]++
				}
			}
			t.Logf("| %s | %d of %d failed %v | %s | slowest %s |", mode.name, len(ld.failed), ld.ok+len(ld.failed), kinds, newAt.Round(time.Millisecond), ld.worst.Round(time.Millisecond))
		})
	}
}

var fleetListen = flag.Bool("fleet-listen", false, "run TestFleetListenRotation: 10 watchers at --watch 5s with --listen and start-first, one rotation under load (about 20s)")

// TestFleetListenRotation (opt-in, -fleet-listen): ten services started together, each
// secretexec --watch 5s with --listen and --health-check (start-first) in front of its own
// server, each under its own client load; one change to the parameter they share. Every
// service comes to serve the new value, and no request to any of them fails at any moment:
// a fleet's rotation spreads over the interval and none is down meanwhile. (Processes
// rather than containers: the socket, the order and the check are the same.)
func TestFleetListenRotation(t *testing.T) {
	if !*fleetListen {
		t.Skip("opt-in: go test -run TestFleetListenRotation -fleet-listen -v .")
	}
	const n = 10
	p := newProcEnv(t)
	p.putParam("/app/prod/DB_PASS", "canary-fleet-listen-1")
	hash := func(v string) string { sum := sha256.Sum256([]byte(v)); return fmt.Sprintf("DB_PASS=%x", sum[:6]) }
	var loads []*load
	for i := range n {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cmd, _, _ := p.command("--watch", "5s", "--listen", "tcp://"+addr, "--health-check", "http://"+addr+"/health",
			"--ssm-path", "/app/prod", "--", "httpserve", "-var", "DB_PASS", "-log", filepath.Join(p.dir, fmt.Sprintf("serve-%d.log", i)), "-delay", "200ms")
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
		waitListening(t, addr)
		loads = append(loads, startLoad("http://"+addr+"/", 2, 20*time.Millisecond))
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		all := true
		for _, ld := range loads {
			all = all && ld.served(hash("canary-fleet-listen-1")) > 5
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not every service answered with the first value")
		}
	}
	p.putParam("/app/prod/DB_PASS", "canary-fleet-listen-2")
	changed := time.Now()
	at := make([]time.Duration, n)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		left := 0
		for i, ld := range loads {
			if at[i] == 0 && ld.served(hash("canary-fleet-listen-2")) > 0 {
				at[i] = time.Since(changed)
			}
			if at[i] == 0 {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d services never served the new value", left, n)
		}
	}
	time.Sleep(time.Second) // the last old generations stop
	total, failed := 0, 0
	for i, ld := range loads {
		ld.end()
		ld.mu.Lock()
		total += ld.ok + len(ld.failed)
		failed += len(ld.failed)
		if len(ld.failed) > 0 {
			t.Errorf("service %d: %d requests failed: %v", i, len(ld.failed), ld.failed[:min(3, len(ld.failed))])
		}
		ld.mu.Unlock()
	}
	slices.Sort(at)
	t.Logf("%d services, one rotation: new value served from %s to %s after the change; %d requests, %d failed",
		n, at[0].Round(10*time.Millisecond), at[n-1].Round(10*time.Millisecond), total, failed)
}
