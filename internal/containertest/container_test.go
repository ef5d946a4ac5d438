package containertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
)

// The flags these machines need (default crun runtime, systemd cgroups and the host's own
// limits are refused here); a normal Docker or podman host needs none of them.
var (
	podmanGlobal = []string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}
	runFlags     = []string{"--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
)

// Seeded values. Each is a canary: it must reach the probe (compared by hash) and never show
// up in any output of a run.
var (
	ssmCanaries = map[string]string{
		"SECRET_KEY": "canary-ct-secret-key-8d1e",
		"DB_PASS":    "canary-ct-db-pass 'q' \"dq\" $x #h",
		"API_TOKEN":  "canary-ct-api-token-55aa",
	}
	smCanaries = map[string]string{
		"JWT_SECRET_KEY": "canary-ct-jwt-0b0b",
	}
	// watchCanaries are the two values of the parameter --watch sees rotate.
	watchCanaries = map[string]string{
		"before": "canary-ct-watch-before-71c2",
		"after":  "canary-ct-watch-after-e0d4",
	}
	// listenCanaries are the two values of the parameter the --listen test rotates.
	listenCanaries = map[string]string{
		"before": "canary-ct-listen-before-5e11",
		"after":  "canary-ct-listen-after-9a07",
	}
)

const (
	ssmPath  = "/auraxis/prod"
	secretID = "auraxis/prod/app"
	probeEnv = "SECRET_KEY,DB_PASS,API_TOKEN,JWT_SECRET_KEY"
)

type harness struct {
	image string
	url   string
	bin   string // the secretexec binary in the image
}

func TestContainer(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman not installed: apt-get install podman runc")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed: apt-get install podman runc")
	}
	if testing.Short() {
		t.Skip("container tests build an image and run containers; skipped with -short")
	}
	start := time.Now()
	h := &harness{image: fmt.Sprintf("localhost/secretexec-test:%d", os.Getpid())}
	h.buildImage(t)
	t.Logf("image built in %v", time.Since(start).Round(time.Millisecond))

	srv := awstest.New(t) // kumo behind the proxy that enforces AWS's request limits
	h.url = srv.URL
	seed(t, srv)

	t.Run("exec", h.testExec)
	t.Run("term", h.testTerm)
	t.Run("failclosed", h.testFailClosed)
	t.Run("init", h.testInit)
	t.Run("tls", h.testTLS)
	t.Run("watch", func(t *testing.T) { h.testWatch(t, srv) })
	t.Run("listen", func(t *testing.T) { h.testListen(t, srv) })
	t.Logf("container tests took %v", time.Since(start).Round(time.Millisecond))
}

// buildImage builds secretexec and the probe the way the release does (static, stripped) and
// the test image from them.
func (h *harness) buildImage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	h.bin = filepath.Join(ctxDir, "secretexec")
	for _, b := range []struct{ out, pkg string }{
		{"secretexec", "."},
		{"probe", "./testdata/container/probe"},
	} {
		// The release's flags (Makefile), version stamp included.
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -X main.version=v0.0.0-test -X main.commit=0123456789abcdef", "-o", filepath.Join(ctxDir, b.out), b.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	cf, err := os.ReadFile(filepath.Join(root, "testdata/container/Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), cf, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := podman(t, 60*time.Second, "build", "-q", "-t", h.image, "-f", filepath.Join(ctxDir, "Containerfile"), ctxDir); r.code != 0 {
		t.Fatalf("podman build: exit %d\n%s", r.code, r.stderr)
	}
	t.Cleanup(func() { podman(t, 30*time.Second, "rmi", "-f", h.image) })
}

func seed(t *testing.T, srv *awstest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, v := range ssmCanaries {
		if err := srv.PutParameter(ctx, ssmPath+"/"+name, v, true); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
	}
	js, err := json.Marshal(smCanaries)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateSecret(ctx, secretID, string(js)); err != nil {
		t.Fatalf("seed secret: %v", err)
	}
}

type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// podman runs one podman command. Every run's output is checked for canaries: what the probe
// prints is masked, so any canary in it came from secretexec.
func podman(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", append(append([]string{}, podmanGlobal...), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("podman %s: timed out after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, r.stdout, r.stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	noCanary(t, r.stdout+r.stderr)
	return r
}

func noCanary(t *testing.T, out string) {
	t.Helper()
	for _, m := range []map[string]string{ssmCanaries, smCanaries, watchCanaries, listenCanaries} {
		for name, v := range m {
			if strings.Contains(out, v) {
				t.Errorf("the value of %s appears in the output", name)
			}
		}
	}
}

// awsEnv is the environment every run gets, as podman flags: the emulator (or another
// endpoint) and static test credentials; in the scratch image no AWS files exist anyway.
func (h *harness) awsEnv(url string) []string {
	var flags []string
	for _, kv := range awstest.Env(url, "/nonexistent") {
		flags = append(flags, "-e", kv)
	}
	return flags
}

// run runs the image to completion with extra podman flags, then the image and probe args.
func (h *harness) run(t *testing.T, podmanFlags []string, cmd ...string) result {
	t.Helper()
	args := append([]string{"run", "--rm"}, runFlags...)
	args = append(args, podmanFlags...)
	args = append(args, h.image)
	args = append(args, cmd...)
	return podman(t, 30*time.Second, args...)
}

// report parses the probe's "key=value" lines.
func report(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func hashOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return fmt.Sprintf("sha256:%s len=%d", hex.EncodeToString(sum[:])[:12], len(v))
}

func checkSecrets(t *testing.T, rep map[string]string) {
	t.Helper()
	for _, m := range []map[string]string{ssmCanaries, smCanaries} {
		for name, v := range m {
			if got := rep["env."+name]; got != hashOf(v) {
				t.Errorf("probe saw %s as %q, want %q", name, got, hashOf(v))
			}
		}
	}
	if got := rep["secretexec_vars"]; got != "none" {
		t.Errorf("SECRETEXEC_* variables reached the app: %s", got)
	}
}

func (h *harness) sources() []string {
	return append(h.awsEnv(h.url), "-e", "SECRETEXEC_SSM_PATH="+ssmPath, "-e", "SECRETEXEC_SECRET_ID="+secretID)
}

// (a) The default: secretexec execs the probe, which becomes PID 1 with the secrets.
func (h *harness) testExec(t *testing.T) {
	r := h.run(t, h.sources()) // the image's own CMD
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("run took %v", r.took.Round(time.Millisecond))
	rep := report(r.stdout)
	if rep["pid"] != "1" || rep["pid1"] != "probe" {
		t.Errorf("probe is not PID 1 after exec: pid=%s, PID 1 is %s", rep["pid"], rep["pid1"])
	}
	// The image's CMD reports three of the four; ask for all of them explicitly.
	r = h.run(t, h.sources(), "/probe", "-env", probeEnv, "-exit", "7")
	if r.code != 7 {
		t.Fatalf("exit %d, want the probe's 7\nstderr:\n%s", r.code, r.stderr)
	}
	checkSecrets(t, report(r.stdout))
	if r.stderr != "" {
		t.Errorf("secretexec printed on a successful run: %q", r.stderr)
	}
}

// (b) podman kill --signal TERM reaches the app and its status is the container's.
func (h *harness) testTerm(t *testing.T) {
	rep, code := h.signalRun(t, "TERM", h.sources(), "/probe", "-wait-term", "42")
	if code != 42 {
		t.Errorf("container exit %d, want the probe's 42", code)
	}
	if rep["got"] != "TERM" || rep["pid"] != "1" {
		t.Errorf("probe report: %v", rep)
	}
}

// signalRun starts a detached container, waits for the probe's ready=1, sends sig with podman
// kill (to the container's PID 1) and returns the probe's report and the container's status.
func (h *harness) signalRun(t *testing.T, sig string, podmanFlags []string, cmd ...string) (map[string]string, int) {
	t.Helper()
	args := append([]string{"run", "-d"}, runFlags...)
	args = append(append(append(args, podmanFlags...), h.image), cmd...)
	r := podman(t, 30*time.Second, args...)
	if r.code != 0 {
		t.Fatalf("podman run -d: exit %d\n%s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { podman(t, 30*time.Second, "rm", "-f", id) })
	logs := func() result { return podman(t, 10*time.Second, "logs", id) }
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs().stdout, "ready=1") {
		if time.Now().After(deadline) {
			l := logs()
			t.Fatalf("probe never got ready\nstdout:\n%s\nstderr:\n%s", l.stdout, l.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if k := podman(t, 10*time.Second, "kill", "--signal", sig, id); k.code != 0 {
		t.Fatalf("podman kill: exit %d\n%s", k.code, k.stderr)
	}
	w := podman(t, 30*time.Second, "wait", id)
	code, err := strconv.Atoi(strings.TrimSpace(w.stdout))
	if err != nil {
		t.Fatalf("podman wait: %q %q", w.stdout, w.stderr)
	}
	return report(logs().stdout), code
}

// (c) Fail closed: with any source failing the container exits 125 quickly and the app never
// starts.
func (h *harness) testFailClosed(t *testing.T) {
	// An address where nothing listens: connections are refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name  string
		flags []string
		want  *regexp.Regexp // in secretexec's stderr: the source is named
	}{
		{"empty ssm path", append(h.awsEnv(h.url), "-e", "SECRETEXEC_SSM_PATH=/auraxis/nothing-here"), regexp.MustCompile(`/auraxis/nothing-here`)},
		{"missing secret", append(h.awsEnv(h.url), "-e", "SECRETEXEC_SSM_PATH="+ssmPath, "-e", "SECRETEXEC_SECRET_ID=auraxis/prod/missing"), regexp.MustCompile(`auraxis/prod/missing`)},
		{"unreachable endpoint", append(h.awsEnv(deadURL), "-e", "SECRETEXEC_SSM_PATH="+ssmPath, "-e", "SECRETEXEC_TIMEOUT=3s"), regexp.MustCompile(`/auraxis/prod`)},
		{"missing secret under --init", append(h.awsEnv(h.url), "-e", "SECRETEXEC_INIT=1", "-e", "SECRETEXEC_SECRET_ID=auraxis/prod/missing"), regexp.MustCompile(`auraxis/prod/missing`)},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			r := h.run(t, tc.flags, "/probe", "-env", probeEnv)
			if r.code != 125 {
				t.Errorf("exit %d, want 125", r.code)
			}
			if strings.Contains(r.stdout, "pid=") {
				t.Errorf("the probe ran:\n%s", r.stdout)
			}
			if !tc.want.MatchString(r.stderr) || !strings.Contains(r.stderr, "secretexec: error:") {
				t.Errorf("stderr does not name the source (%v):\n%s", tc.want, r.stderr)
			}
			if r.took > 15*time.Second {
				t.Errorf("took %v", r.took)
			}
			t.Logf("exit %d in %v", r.code, r.took.Round(time.Millisecond))
		})
	}
}

// (d) --init: secretexec stays PID 1, the probe is its child, TERM is forwarded, the probe's
// orphaned grandchild is reaped, the status passes through. The same probe run without
// --init shows the zombie, so the check can fail.
func (h *harness) testInit(t *testing.T) {
	initEntry := []string{"--entrypoint", `["/secretexec","--init","--"]`}
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"flag", append(h.sources(), initEntry...)},
		{"env", append(h.sources(), "-e", "SECRETEXEC_INIT=1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, code := h.signalRun(t, "TERM", tc.flags, "/probe", "-env", probeEnv, "-orphan", "-wait-term", "43")
			if code != 43 {
				t.Errorf("container exit %d, want the probe's 43", code)
			}
			if rep["pid"] == "1" || rep["pid1"] != "secretexec" || rep["ppid"] != "1" {
				t.Errorf("want probe as a child of secretexec as PID 1; got pid=%s ppid=%s, PID 1 is %s", rep["pid"], rep["ppid"], rep["pid1"])
			}
			if rep["got"] != "TERM" {
				t.Errorf("TERM not forwarded to the probe: %v", rep)
			}
			if rep["orphan"] != "reaped" {
				t.Errorf("orphaned grandchild: %s", rep["orphan"])
			}
			checkSecrets(t, rep)
		})
	}
	t.Run("exit_status", func(t *testing.T) {
		r := h.run(t, append(h.sources(), initEntry...), "/probe", "-exit", "9")
		if r.code != 9 {
			t.Errorf("exit %d, want 9\nstderr:\n%s", r.code, r.stderr)
		}
		if rep := report(r.stdout); rep["pid1"] != "secretexec" {
			t.Errorf("PID 1 is %s", rep["pid1"])
		}
	})
	t.Run("killed_child", func(t *testing.T) {
		// The probe handles only TERM; a forwarded HUP kills it, and the status says so.
		_, code := h.signalRun(t, "HUP", append(h.sources(), initEntry...), "/probe", "-wait-term", "0")
		if code != 128+1 {
			t.Errorf("exit %d, want 129 (128+SIGHUP)", code)
		}
	})
	t.Run("contrast_without_init", func(t *testing.T) {
		r := h.run(t, h.sources(), "/probe", "-orphan")
		if rep := report(r.stdout); !strings.HasPrefix(rep["orphan"], "zombie") {
			t.Errorf("without --init the probe as PID 1 should leave a zombie; got %q", rep["orphan"])
		}
	})
}

// (f) TLS from an image with no CA bundle. The binary links the fallback roots
// (golang.org/x/crypto/x509roots/fallback, used by crypto/x509 only when the system has no
// roots), so it can reach AWS from FROM scratch. A server whose certificate no public root
// signed is refused, exit 125, the app not started. A CA bundle at the system path wins over
// the fallback: with the test CA mounted there, the same run succeeds.
func (h *harness) testTLS(t *testing.T) {
	target, err := url.Parse(h.url)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer ts.Close()
	env := append(h.awsEnv(ts.URL), "-e", "SECRETEXEC_SSM_PATH="+ssmPath, "-e", "SECRETEXEC_SECRET_ID="+secretID,
		"-e", "SECRETEXEC_TIMEOUT=10s", "-e", "SECRETEXEC_RETRIES=1")

	v, err := exec.Command(h.bin, "--version").Output()
	if err != nil || !regexp.MustCompile(`^secretexec v0\.0\.0-test \(commit 0123456789ab, go1\.\d+`).Match(v) {
		t.Errorf("--version of the stamped release build: %q (%v)", v, err)
	}
	info, err := exec.Command("go", "version", "-m", h.bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, info)
	}
	if !regexp.MustCompile(`(?m)^\s+dep\s+golang.org/x/crypto/x509roots/fallback\s`).Match(info) {
		t.Errorf("the binary does not link the fallback CA roots:\n%s", info)
	}

	const fallbackLine = "secretexec: no system CA store: TLS uses the bundled Mozilla roots"
	r := h.run(t, append(env, "-e", "SECRETEXEC_VERBOSE=1"), "/probe", "-env", probeEnv)
	if !strings.Contains(r.stderr, fallbackLine) {
		t.Errorf("in a FROM scratch image secretexec did not install the bundled roots; stderr:\n%s", r.stderr)
	}
	if r.code != 125 {
		t.Fatalf("exit %d with an untrusted certificate, want 125\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "certificate signed by unknown authority") {
		t.Errorf("want a certificate trust failure, got:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout, "pid=") {
		t.Errorf("the probe ran despite the failed fetch:\n%s", r.stdout)
	}

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	r = h.run(t, append(env, "-e", "SECRETEXEC_VERBOSE=1", "-v", bundle+":/etc/ssl/certs/ca-certificates.crt:ro"), "/probe", "-env", probeEnv)
	if r.code != 0 {
		t.Fatalf("exit %d with the CA in the system bundle, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, fallbackLine) {
		t.Errorf("the bundled roots were installed although the image has a CA store")
	}
	checkSecrets(t, report(r.stdout))
}

// (g) Rotation in a FROM scratch container: secretexec is PID 1 with --watch (as a twin), the
// probe its child; a new parameter value restarts the probe inside the container with the
// new value; podman kill TERM still ends the container with the probe's status.
func (h *harness) testWatch(t *testing.T, srv *awstest.Server) {
	const path = "/auraxis/watch"
	ctx := context.Background()
	if err := srv.PutParameter(ctx, path+"/DB_PASS", watchCanaries["before"], true); err != nil {
		t.Fatal(err)
	}
	flags := append(h.awsEnv(h.url), "-e", "SECRETEXEC_SSM_PATH="+path, "-e", "SECRETEXEC_WATCH=1s")
	args := append(append(append([]string{"run", "-d"}, runFlags...), flags...), h.image, "/probe", "-env", "DB_PASS", "-wait-term", "0")
	r := podman(t, 30*time.Second, args...)
	if r.code != 0 {
		t.Fatalf("podman run -d: exit %d\n%s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { podman(t, 30*time.Second, "rm", "-f", id) })
	ready := func(n int) result {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			l := podman(t, 10*time.Second, "logs", id)
			if strings.Count(l.stdout, "ready=1") >= n {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatalf("the probe did not get ready %d times\nstdout:\n%s\nstderr:\n%s", n, l.stdout, l.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ready(1)
	if err := srv.PutParameter(ctx, path+"/DB_PASS", watchCanaries["after"], true); err != nil {
		t.Fatal(err)
	}
	l := ready(2)
	var values, pid1s []string
	for _, line := range strings.Split(l.stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "env.DB_PASS="); ok {
			values = append(values, v)
		}
		if v, ok := strings.CutPrefix(line, "pid1="); ok {
			pid1s = append(pid1s, v)
		}
	}
	if len(values) != 2 || values[0] != hashOf(watchCanaries["before"]) || values[1] != hashOf(watchCanaries["after"]) {
		t.Errorf("the probe saw DB_PASS as %q, want the value before and after the rotation", values)
	}
	if len(pid1s) != 2 || pid1s[0] != "secretexec" || pid1s[1] != "secretexec" {
		t.Errorf("PID 1 was %q, want secretexec both times", pid1s)
	}
	if !regexp.MustCompile(`(?m)^secretexec: DB_PASS changed \(ssm path "/auraxis/watch"\): restarting the command \(pid \d+\)$`).MatchString(l.stderr) {
		t.Errorf("stderr:\n%s", l.stderr)
	}
	if k := podman(t, 10*time.Second, "kill", "--signal", "TERM", id); k.code != 0 {
		t.Fatalf("podman kill: exit %d\n%s", k.code, k.stderr)
	}
	w := podman(t, 30*time.Second, "wait", id)
	if code := strings.TrimSpace(w.stdout); code != "0" {
		t.Errorf("container exit %s, want the probe's 0", code)
	}
}

// testListen: secretexec as PID 1 with --listen and --health-check (start-first), an app that
// serves on the passed socket and leaves a child running, and one rotation under a steady
// client: no request fails, the client sees the new value, PID 1 is still secretexec, and of
// the old generation nothing is left (the new server and its child are the only probes).
func (h *harness) testListen(t *testing.T, srv *awstest.Server) {
	const path = "/auraxis/listen"
	ctx := context.Background()
	if err := srv.PutParameter(ctx, path+"/DB_PASS", listenCanaries["before"], true); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // secretexec binds it, in the container (host network)
	flags := append(h.awsEnv(h.url), "-e", "SECRETEXEC_SSM_PATH="+path, "-e", "SECRETEXEC_WATCH=1s",
		"-e", "SECRETEXEC_LISTEN=tcp://"+addr, "-e", "SECRETEXEC_HEALTH_CHECK=http://"+addr+"/health")
	args := append(append(append([]string{"run", "-d"}, runFlags...), flags...), h.image, "/probe", "-serve", "DB_PASS")
	r := podman(t, 30*time.Second, args...)
	if r.code != 0 {
		t.Fatalf("podman run -d: exit %d\n%s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { podman(t, 30*time.Second, "rm", "-f", id) })

	// The client: one request every 20 ms, bounded in count and time, until told to stop.
	client := &http.Client{Timeout: 5 * time.Second}
	type answer struct {
		body string
		err  error
	}
	answers := make(chan answer, 4096)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := client.Get("http://" + addr + "/")
			a := answer{err: err}
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				a.body = string(b)
				if resp.StatusCode != http.StatusOK {
					a.err = fmt.Errorf("HTTP %d", resp.StatusCode)
				}
			}
			answers <- a
		}
	}()
	// Until the first answer, connections may be refused: the container is starting.
	var failed, total int
	var oldPid string
	served := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case a := <-answers:
				if oldPid == "" && a.err != nil {
					continue // before the first start
				}
				total++
				if a.err != nil {
					failed++
					t.Logf("request failed: %v", a.err)
					continue
				}
				if oldPid == "" {
					oldPid = strings.TrimPrefix(strings.Fields(a.body)[0], "pid=")
				}
				if strings.Contains(a.body, "env.DB_PASS="+hashOf(want)) {
					return
				}
			case <-deadline:
				l := podman(t, 10*time.Second, "logs", id)
				t.Fatalf("no answer with the value %q within %s\nstdout:\n%s\nstderr:\n%s", want, within, l.stdout, l.stderr)
			}
		}
	}
	served(listenCanaries["before"], 20*time.Second)
	if err := srv.PutParameter(ctx, path+"/DB_PASS", listenCanaries["after"], true); err != nil {
		t.Fatal(err)
	}
	served(listenCanaries["after"], 20*time.Second)
	time.Sleep(time.Second) // the old generation stops once the new one has passed
	close(stop)
	<-done
	for len(answers) > 0 {
		if a := <-answers; a.err != nil {
			failed++
		}
		total++
	}
	t.Logf("%d requests across the rotation, %d failed", total, failed)
	if failed != 0 {
		t.Errorf("%d of %d requests failed across a start-first rotation on the kept socket", failed, total)
	}

	ps := podman(t, 10*time.Second, "exec", id, "/probe", "-ps")
	if ps.code != 0 {
		t.Fatalf("podman exec /probe -ps: exit %d\n%s", ps.code, ps.stderr)
	}
	var probes []string
	pid1 := ""
	for _, line := range strings.Split(strings.TrimSpace(ps.stdout), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		pid, comm := strings.TrimPrefix(f[0], "proc="), strings.TrimPrefix(f[2], "comm=")
		switch {
		case pid == "1":
			pid1 = comm
		case comm == "probe":
			probes = append(probes, pid)
		}
		if pid == oldPid {
			t.Errorf("the old server (pid %s) is still running: %s", oldPid, line)
		}
	}
	if pid1 != "secretexec" {
		t.Errorf("PID 1 is %q, want secretexec\n%s", pid1, ps.stdout)
	}
	if len(probes) != 2 {
		t.Errorf("%d probe processes (%v), want the new server and its child only\n%s", len(probes), probes, ps.stdout)
	}
	logs := podman(t, 10*time.Second, "logs", id)
	noCanary(t, logs.stderr)
	if !strings.Contains(logs.stderr, "DB_PASS changed") {
		t.Errorf("stderr:\n%s", logs.stderr)
	}
	if k := podman(t, 10*time.Second, "kill", "--signal", "TERM", id); k.code != 0 {
		t.Fatalf("podman kill: exit %d\n%s", k.code, k.stderr)
	}
	w := podman(t, 30*time.Second, "wait", id)
	if code := strings.TrimSpace(w.stdout); code != "0" {
		t.Errorf("container exit %s, want the server's 0", code)
	}
}
