package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/secretexec/secretexec/internal/awstest"
	"github.com/secretexec/secretexec/internal/cli"
	"github.com/secretexec/secretexec/internal/proc"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "update testscript golden files from actual output")

// noRaceExitSleep is in the environment of every process the tests start: a race-built
// binary (the test binary, which is secretexec in scripts) otherwise sleeps a second at
// every exit, which was most of the suite's time. It changes nothing for a build without
// -race.
const noRaceExitSleep = "GORACE=atexit_sleep_ms=0"

// ownLogVar names the file where the test build of secretexec copies its own stdout and
// stderr, so that every script can check that no seeded value ever appears there.
const ownLogVar = "SEXTEST_OWN_OUTPUT"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"secretexec": func() { os.Exit(teeRun(os.Args[1:])) },
		"envdump":    envdump,
		"status":     status,
		"recorder":   recorder,
		"gunicorn":   gunicorn,
		"httpserve":  httpserve,
	})
}

// teeRun is secretexec as built for scripts: cli.Main with its own output also appended to the
// file named by $SEXTEST_OWN_OUTPUT.
func teeRun(args []string) int {
	stdout, stderr := io.Writer(os.Stdout), io.Writer(os.Stderr)
	if p := os.Getenv(ownLogVar); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err == nil {
			defer f.Close()
			stdout, stderr = io.MultiWriter(os.Stdout, f), io.MultiWriter(os.Stderr, f)
		}
	}
	if p := os.Getenv(signalsFileVar); p != "" {
		proc.SignalsCaught = func() { os.WriteFile(p, []byte(strconv.FormatInt(monotonic(), 10)), 0o600) }
	}
	return cli.Main(context.Background(), cli.Build{}, args, os.Environ(), stdout, stderr)
}

// signalsFileVar names a file where the test build of secretexec writes when its signal
// handlers were registered (CLOCK_MONOTONIC, ns): the same clock across processes.
const signalsFileVar = "SEXTEST_SIGNALS_CAUGHT"

func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// envdump is the command secretexec execs in scripts. It shows what it received without
// printing values: "NAME len=N sha=PREFIX" or "NAME unset" per argument; -dir D writes each
// value to D/NAME so a script can cmp the exact bytes; -names prints every variable name;
// -exit N exits with N; a first argument -argv prints argv and nothing else.
func envdump() {
	fs := flag.NewFlagSet("envdump", flag.ExitOnError)
	dir := fs.String("dir", "", "")
	names := fs.Bool("names", false, "")
	code := fs.Int("exit", 0, "")
	if len(os.Args) > 1 && os.Args[1] == "-argv" { // print argv exactly, parse nothing
		fmt.Printf("argv=%q\n", os.Args)
		os.Exit(0)
	}
	fs.Parse(os.Args[1:])
	if *names {
		var all []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			all = append(all, k)
		}
		sort.Strings(all)
		for _, k := range all {
			fmt.Println(k)
		}
	}
	if *dir != "" {
		os.MkdirAll(*dir, 0o700)
	}
	for _, name := range fs.Args() {
		v, ok := os.LookupEnv(name)
		if !ok {
			fmt.Printf("%s unset\n", name)
			continue
		}
		sum := sha256.Sum256([]byte(v))
		fmt.Printf("%s len=%d sha=%x\n", name, len(v), sum[:4])
		if *dir != "" {
			if err := os.WriteFile(filepath.Join(*dir, name), []byte(v+"\n"), 0o600); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(*code)
}

// gunicorn stands in for the command of examples/ecs/task-definition.json: it prints its
// argv, then what envdump prints for each variable named in $SHOW (comma-separated).
func gunicorn() {
	fmt.Printf("gunicorn argv=%q\n", os.Args[1:])
	for _, name := range strings.Split(os.Getenv("SHOW"), ",") {
		if v, ok := os.LookupEnv(name); !ok {
			fmt.Printf("%s unset\n", name)
		} else {
			sum := sha256.Sum256([]byte(v))
			fmt.Printf("%s len=%d sha=%x\n", name, len(v), sum[:4])
		}
	}
}

// httpserve is the server --listen tests run: it serves HTTP on the socket-activation
// protocol's fd 3, as gunicorn -b fd://3 does, and refuses to run unless LISTEN_PID is its
// own pid and LISTEN_FDS is 1.
//
//	httpserve -var NAME [-log FILE] [-delay D] [-slow D]
//
// GET / answers "pid=P NAME=sha..." (the value by hash); GET /health answers 200;
// GET /slow answers after -slow. It starts serving after -delay (a boot); a value that
// begins with "bad" makes it exit 1 at start, as an app whose database rejects a
// password does. On SIGTERM it stops accepting, finishes what is in flight, and exits 0.
func httpserve() {
	fs := flag.NewFlagSet("httpserve", flag.ExitOnError)
	name := fs.String("var", "", "")
	logFile := fs.String("log", "", "")
	delay := fs.Duration("delay", 0, "")
	slow := fs.Duration("slow", 3*time.Second, "")
	fs.Parse(os.Args[1:])
	logf := func(format string, args ...any) {
		if *logFile == "" {
			return
		}
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err == nil {
			fmt.Fprintf(f, format+"\n", args...)
			f.Close()
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		logf("bad-activation pid=%d LISTEN_PID=%s LISTEN_FDS=%s", os.Getpid(), os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"))
		os.Exit(3)
	}
	v := os.Getenv(*name)
	sum := sha256.Sum256([]byte(v))
	if strings.HasPrefix(v, "bad") {
		logf("refused pid=%d", os.Getpid())
		os.Exit(1)
	}
	time.Sleep(*delay)
	l, err := net.FileListener(os.NewFile(3, os.Getenv("LISTEN_FDNAMES")))
	if err != nil {
		logf("no-listener %v", err)
		os.Exit(4)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid=%d %s=%x\n", os.Getpid(), *name, sum[:6])
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*slow)
		fmt.Fprintf(w, "pid=%d slow\n", os.Getpid())
	})
	srv := &http.Server{Handler: mux}
	logf("start pid=%d %s=%x names=%s", os.Getpid(), *name, sum[:6], os.Getenv("LISTEN_FDNAMES"))
	go func() {
		<-sigs
		logf("term pid=%d", os.Getpid())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l.Close() // no more accepts: what is queued is the next command's
		srv.Shutdown(ctx)
		// A connection Accept returned just before the close may not be tracked yet when
		// Shutdown looks: give it the time to be, and wait for it too.
		time.Sleep(100 * time.Millisecond)
		srv.Shutdown(ctx)
		logf("exit pid=%d", os.Getpid())
		os.Exit(0)
	}()
	srv.Serve(l)
	select {} // Shutdown's goroutine exits
}

// recorder is the command --watch tests run: it appends what happens to it to a log, one
// line each, naming values only by hash, and runs until it is told to stop.
//
//	recorder -log FILE [-var NAME]... [-file F] [-term-delay D] [-ignore-term] [-exit N -after D]
//
// At start: "start pid=P prev=gone|alive|none NAME=sha..."; prev says whether the pid of the
// log's last start line still exists (a restart must not overlap the old command). On
// SIGTERM: "term pid=P", then exit 0 after -term-delay (or ignore it with -ignore-term). On
// SIGHUP: "hup pid=P file=sha..." of -file's content. -exit N -after D: exit N after D.
func recorder() {
	fs := flag.NewFlagSet("recorder", flag.ExitOnError)
	logFile := fs.String("log", "", "")
	file := fs.String("file", "", "")
	termDelay := fs.Duration("term-delay", 0, "")
	ignoreTerm := fs.Bool("ignore-term", false, "")
	exitCode := fs.Int("exit", 0, "")
	after := fs.Duration("after", 0, "")
	var vars []string
	fs.Func("var", "", func(v string) error { vars = append(vars, v); return nil })
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	fs.Parse(os.Args[1:])
	logf := func(format string, args ...any) {
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			os.Exit(3)
		}
		fmt.Fprintf(f, format+"\n", args...)
		f.Close()
	}
	hash := func(v string) string { sum := sha256.Sum256([]byte(v)); return fmt.Sprintf("%x", sum[:6]) }
	prev := "none"
	if b, err := os.ReadFile(*logFile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			var pid int
			if n, _ := fmt.Sscanf(line, "start pid=%d", &pid); n == 1 {
				prev = "gone"
				if unix.Kill(pid, 0) == nil {
					prev = "alive"
				}
			}
		}
	}
	line := fmt.Sprintf("start pid=%d prev=%s", os.Getpid(), prev)
	for _, v := range vars {
		line += " " + v + "=" + hash(os.Getenv(v))
	}
	logf("%s", line)
	var exit <-chan time.Time
	if *after > 0 {
		exit = time.After(*after)
	}
	for {
		select {
		case <-exit:
			logf("exit pid=%d code=%d", os.Getpid(), *exitCode)
			os.Exit(*exitCode)
		case s := <-sigs:
			if s == syscall.SIGHUP {
				b, _ := os.ReadFile(*file)
				logf("hup pid=%d file=%s", os.Getpid(), hash(string(b)))
				continue
			}
			logf("term pid=%d", os.Getpid())
			if *ignoreTerm {
				continue
			}
			time.Sleep(*termDelay)
			os.Exit(0)
		}
	}
}

// status N COMMAND [ARG...] runs COMMAND with its output passed through and succeeds only if
// it exits with status N: how scripts pin secretexec's exit codes (125, 126, 127).
func status() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: status N COMMAND [ARG...]")
		os.Exit(2)
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if got != want {
		fmt.Fprintf(os.Stderr, "status: %s exited with %d, want %d\n", os.Args[2], got, want)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	// The emulator keeps one store per process (see internal/awstest), so scripts run one
	// after another, each on its own emulator with an empty store.
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			h := &harness{}
			testscript.Run(t, testscript.Params{
				Files:               []string{file},
				RequireExplicitExec: true,
				RequireUniqueNames:  true,
				UpdateScripts:       *update,
				Setup:               h.setup,
				Cmds:                h.allCmds(),
			})
		})
	}
}

// harness is one script's AWS: the kumo emulator behind the fault-injecting proxy of
// internal/awstest, and the values seeded so far, which are the script's canaries.
type harness struct {
	srv      *awstest.Server
	imds     *fakeIMDS
	cred     *credServer
	canaries canaries
}

// setup gives each script an empty emulator and a whole, isolated environment: no shared
// AWS files, no instance metadata, fixed test credentials.
func (e *harness) setup(env *testscript.Env) error {
	srv, err := awstest.Start()
	if err != nil {
		return err
	}
	e.srv = srv
	work := env.WorkDir
	log := filepath.Join(work, ".own-output")
	// EMU_HOSTPORT is the emulator's address, for scripts that reach it another way; REPO
	// the repository, for scripts that read its examples.
	hostport := strings.TrimPrefix(srv.URL, "http://")
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	for _, kv := range append(srv.Env(work), "HOME="+filepath.Join(work, "home"), ownLogVar+"="+log, "EMU_HOSTPORT="+hostport, "REPO="+repo, noRaceExitSleep) {
		k, v, _ := strings.Cut(kv, "=")
		env.Setenv(k, v)
	}
	env.Defer(func() {
		srv.Close()
		if e.imds != nil {
			e.imds.Close()
		}
		if e.cred != nil {
			e.cred.Close()
		}
		out, _ := os.ReadFile(log)
		for _, n := range e.canaries.leaked(out) {
			env.T().Fatal(fmt.Sprintf("a seeded secret value (%d bytes) appears in secretexec's own output", n))
		}
	})
	return nil
}

func writeValues(ts *testscript.TestScript, dir string, m map[string]string) {
	dir = ts.MkAbs(dir)
	ts.Check(os.MkdirAll(dir, 0o700))
	for k, v := range m {
		ts.Check(os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o600))
	}
}

// value reads a script argument: "@FILE" is the content of a file in $WORK less the one
// newline that ends every txtar file (so a value ending in a newline is written with two),
// and go:"..." a Go string literal, for bytes a script cannot hold (go:"a\x00b").
func value(ts *testscript.TestScript, arg string) string {
	if q, ok := strings.CutPrefix(arg, "go:"); ok {
		v, err := strconv.Unquote(q)
		ts.Check(err)
		return v
	}
	if strings.HasPrefix(arg, "@") {
		return strings.TrimSuffix(ts.ReadFile(arg[1:]), "\n")
	}
	return arg
}

// idSuffix turns a secret id into the suffix of the variables sm-create and sm-put set.
var idSuffix = strings.NewReplacer("/", "_", "-", "_", ".", "_")

// allCmds are the scripts' commands: cmds and credCmds (creds_test.go).
func (e *harness) allCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	m := e.cmds()
	maps.Copy(m, e.credCmds())
	return m
}

func (e *harness) cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	ctx := context.Background()
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// ssm-put [-string] NAME VALUE|@FILE: a SecureString (or String) parameter.
		"ssm-put": func(ts *testscript.TestScript, neg bool, args []string) {
			secure := true
			if len(args) > 0 && args[0] == "-string" {
				secure, args = false, args[1:]
			}
			if len(args) != 2 {
				ts.Fatalf("usage: ssm-put [-string] NAME VALUE|@FILE")
			}
			v := value(ts, args[1])
			e.canaries.add(v)
			ts.Check(e.srv.PutParameter(ctx, args[0], v, secure))
		},
		// ssm-put-many PREFIX N: parameters PREFIX/P0001..PN with values "value-of-P0001-<n>".
		"ssm-put-many": func(ts *testscript.TestScript, neg bool, args []string) {
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			for i := 1; i <= n; i++ {
				name := fmt.Sprintf("%s/P%04d", args[0], i)
				v := fmt.Sprintf("value-of-P%04d-%d", i, i*7919)
				e.canaries.add(v)
				ts.Check(e.srv.PutParameter(ctx, name, v, true))
			}
		},
		// sm-create-sized ID KEY N...: a JSON secret whose keys KEY1.. hold N-byte values.
		"sm-create-sized": func(ts *testscript.TestScript, neg bool, args []string) {
			m := map[string]string{}
			for i, a := range args[2:] {
				n, err := strconv.Atoi(a)
				ts.Check(err)
				v := strings.Repeat(fmt.Sprintf("canary-%d-", i), n/9+1)[:n]
				m[fmt.Sprintf("%s%d", args[1], i+1)] = v
				e.canaries.add(v)
			}
			b, err := json.Marshal(m)
			ts.Check(err)
			_, err = e.srv.CreateSecret(ctx, args[0], string(b))
			ts.Check(err)
		},
		// sm-create-nested ID KEY DEPTH: a secret {"KEY": [[[...]]]} nested DEPTH arrays deep,
		// cut off there (not valid JSON however deep).
		"sm-create-nested": func(ts *testscript.TestScript, neg bool, args []string) {
			n, err := strconv.Atoi(args[2])
			ts.Check(err)
			_, err = e.srv.CreateSecret(ctx, args[0], `{"`+args[1]+`":`+strings.Repeat("[", n))
			ts.Check(err)
		},
		// sm-create [-binary] ID VALUE|@FILE: a secret; $ARN_<ID with / - . as _> is its ARN.
		"sm-create": func(ts *testscript.TestScript, neg bool, args []string) {
			binary := len(args) > 0 && args[0] == "-binary"
			if binary {
				args = args[1:]
			}
			if len(args) != 2 {
				ts.Fatalf("usage: sm-create [-binary] ID VALUE|@FILE")
			}
			v := value(ts, args[1])
			e.canaries.add(v) // a binary secret's bytes must not show either
			var arn string
			var err error
			if binary {
				arn, err = e.srv.CreateSecretBinary(ctx, args[0], []byte(v))
			} else {
				arn, err = e.srv.CreateSecret(ctx, args[0], v)
			}
			ts.Check(err)
			ts.Setenv("ARN_"+idSuffix.Replace(args[0]), arn)
		},
		// sm-put ID VALUE|@FILE: a new current version; the old one becomes AWSPREVIOUS.
		// $VERSION_<ID as above> is the new version id.
		"sm-put": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 2 {
				ts.Fatalf("usage: sm-put ID VALUE|@FILE")
			}
			v := value(ts, args[1])
			e.canaries.add(v)
			id, err := e.srv.PutSecretValue(ctx, args[0], v)
			ts.Check(err)
			ts.Setenv("VERSION_"+idSuffix.Replace(args[0]), id)
		},
		// ssm-label NAME VERSION LABEL...: labels a parameter version (in front of the emulator).
		"ssm-label": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 3 {
				ts.Fatalf("usage: ssm-label NAME VERSION LABEL...")
			}
			v, err := strconv.ParseInt(args[1], 10, 64)
			ts.Check(err)
			ts.Check(e.srv.LabelParameterVersion(args[0], v, args[2:]...))
		},
		// fault ACTION KIND [COUNT] [DELAY]: see awstest.ParseFault. "fault clear" removes all
		// faults, the rate limit and the latency.
		"fault": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) == 1 && args[0] == "clear" {
				e.srv.ClearFaults()
				return
			}
			ts.Check(e.srv.AddFaultText(strings.Join(args, " ")))
		},
		// rate RPS BURST: a token bucket over all calls, answering ThrottlingException.
		"rate": func(ts *testscript.TestScript, neg bool, args []string) {
			rps, err := strconv.ParseFloat(args[0], 64)
			ts.Check(err)
			burst, err := strconv.Atoi(args[1])
			ts.Check(err)
			e.srv.SetRateLimit(rps, burst)
		},
		// latency D: added to every call.
		"latency": func(ts *testscript.TestScript, neg bool, args []string) {
			d, err := time.ParseDuration(args[0])
			ts.Check(err)
			e.srv.SetLatency(d)
		},
		// imds MODE [REGION]: a fake instance-metadata endpoint (see fakeIMDS) in
		// $AWS_EC2_METADATA_SERVICE_ENDPOINT, with AWS_EC2_METADATA_DISABLED cleared.
		"imds": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 1 {
				ts.Fatalf("usage: imds closed|blackhole|hoplimit|ec2 REGION")
			}
			if e.imds != nil {
				e.imds.Close()
			}
			f, err := startIMDS(args[0], args[1:])
			ts.Check(err)
			e.imds = f
			if strings.HasPrefix(args[0], "hostile") {
				for _, c := range credCanaries {
					e.canaries.add(c)
				}
			}
			ts.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.URL)
			ts.Setenv("AWS_EC2_METADATA_DISABLED", "")
		},
		// imds-conns N: the fake IMDS accepted exactly N connections ("! imds-conns 0": some).
		"imds-conns": func(ts *testscript.TestScript, neg bool, args []string) {
			want, err := strconv.Atoi(args[0])
			ts.Check(err)
			if got := int(e.imds.conns.Load()); (got == want) == neg {
				ts.Fatalf("%d connections to IMDS, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
			}
		},
		// imds-tokens N: the fake IMDS answered exactly N token requests since it started.
		"imds-tokens": func(ts *testscript.TestScript, neg bool, args []string) {
			want, err := strconv.Atoi(args[0])
			ts.Check(err)
			if got := int(e.imds.tokens.Load()); (got == want) == neg {
				ts.Fatalf("%d IMDS token requests, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
			}
		},
		// fails-within D COMMAND [ARG...]: COMMAND fails, and within D. This is a
		// correctness bound ("fails rather than hangs"), set well above the expected time so
		// that a slow machine does not flake; the time taken is logged.
		"fails-within": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 2 {
				ts.Fatalf("usage: fails-within D COMMAND [ARG...]")
			}
			d, err := time.ParseDuration(args[0])
			ts.Check(err)
			start := time.Now()
			err = ts.Exec(args[1], args[2:]...)
			took := time.Since(start)
			ts.Logf("%s failed in %s", args[1], took.Round(time.Millisecond))
			if err == nil {
				ts.Fatalf("%s succeeded, want a failure", args[1])
			}
			if took > d {
				ts.Fatalf("%s took %s to fail, want under %s", args[1], took.Round(time.Millisecond), d)
			}
		},
		// read-dotenv FILE DIR: parse FILE with compose-go's dotenv parser (what docker
		// compose --env-file uses), no variable lookup, and write each value to DIR/NAME
		// followed by one newline, as envdump -dir does.
		"read-dotenv": func(ts *testscript.TestScript, neg bool, args []string) {
			m, err := composedotenv.GetEnvFromFile(map[string]string{"HOME": "/home/should-not-expand"}, []string{ts.MkAbs(args[0])})
			ts.Check(err)
			writeValues(ts, args[1], m)
		},
		// read-json FILE DIR: the same for --format json.
		"read-json": func(ts *testscript.TestScript, neg bool, args []string) {
			var m map[string]string
			ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
			writeValues(ts, args[1], m)
		},
		// mode FILE PERM: FILE's permission bits are PERM (octal).
		"mode": func(ts *testscript.TestScript, neg bool, args []string) {
			fi, err := os.Lstat(ts.MkAbs(args[0]))
			ts.Check(err)
			want, err := strconv.ParseUint(args[1], 8, 32)
			ts.Check(err)
			if got := fi.Mode().Perm(); (uint64(got) == want) == neg {
				ts.Fatalf("%s has mode %#o, want %#o", args[0], got, want)
			}
		},
		// no-temp-files DIR: no leftover temporary file of --output (FILE.tmp-NNN) in DIR.
		"no-temp-files": func(ts *testscript.TestScript, neg bool, args []string) {
			left, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "*.tmp-*"))
			ts.Check(err)
			if len(left) > 0 {
				ts.Fatalf("temporary files left behind: %q", left)
			}
		},
		// calls ACTION N: exactly N calls of ACTION ("*" for all) since the last "calls reset".
		"calls": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) == 1 && args[0] == "reset" {
				e.srv.ResetCalls()
				return
			}
			if len(args) != 2 {
				ts.Fatalf("usage: calls ACTION N | calls reset")
			}
			want, err := strconv.Atoi(args[1])
			ts.Check(err)
			got := e.srv.Calls(args[0])
			if (got == want) == neg {
				ts.Fatalf("%d %s calls, want %s%d", got, args[0], map[bool]string{true: "not ", false: ""}[neg], want)
			}
		},
		// json-lines FILE: every line of FILE ("stderr": the last command's) is one JSON object
		// of --log-format json: "time" (RFC 3339), "level" (error, warning, info, debug) and
		// "msg" first, then only the fields the logger knows.
		"json-lines": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: json-lines FILE")
			}
			out := strings.TrimSuffix(ts.ReadFile(args[0]), "\n")
			if out == "" {
				ts.Fatalf("%s is empty", args[0])
			}
			known := map[string]bool{"hint": true, "source": true, "variable": true, "attempt": true, "delay": true, "pid": true, "status": true}
			for i, line := range strings.Split(out, "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					ts.Fatalf("line %d is not a JSON object: %v", i+1, err)
				}
				if !strings.HasPrefix(line, `{"time":"`) || !strings.Contains(line, `","level":"`) {
					ts.Fatalf("line %d does not start with time and level: %s", i+1, line)
				}
				tm, _ := m["time"].(string)
				if _, err := time.Parse(time.RFC3339Nano, tm); err != nil {
					ts.Fatalf("line %d: time %q: %v", i+1, tm, err)
				}
				switch m["level"] {
				case "error", "warning", "info", "debug":
				default:
					ts.Fatalf("line %d: level %v", i+1, m["level"])
				}
				if _, ok := m["msg"].(string); !ok {
					ts.Fatalf("line %d has no msg", i+1)
				}
				for k := range m {
					if k != "time" && k != "level" && k != "msg" && !known[k] {
						ts.Fatalf("line %d has an unknown field %q", i+1, k)
					}
				}
			}
		},
		// role ARN [EXTERNAL_ID|-] [LIFETIME]: a role AssumeRole may be called on (see
		// awstest.AssumableRole); LIFETIME is how long its credentials last.
		"role": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 1 || len(args) > 3 {
				ts.Fatalf("usage: role ARN [EXTERNAL_ID|-] [LIFETIME]")
			}
			r := awstest.AssumableRole{ARN: args[0]}
			if len(args) > 1 && args[1] != "-" {
				r.ExternalID = args[1]
			}
			if len(args) > 2 {
				d, err := time.ParseDuration(args[2])
				ts.Check(err)
				r.Lifetime = d
			}
			e.srv.AddRole(r)
		},
		// assumed N [SESSION_REGEXP]: N AssumeRole calls so far, each signed with the test
		// credentials, and the last one's RoleSessionName matches SESSION_REGEXP.
		"assumed": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 1 || len(args) > 2 {
				ts.Fatalf("usage: assumed N [SESSION_REGEXP]")
			}
			want, err := strconv.Atoi(args[0])
			ts.Check(err)
			calls := e.srv.AssumeRoleCalls()
			if len(calls) != want {
				ts.Fatalf("%d AssumeRole calls, want %d", len(calls), want)
			}
			for _, c := range calls {
				if c.Caller != awstest.AccessKeyID {
					ts.Fatalf("AssumeRole signed with %q, want the base credentials", c.Caller)
				}
			}
			if len(args) == 2 && len(calls) > 0 {
				last := calls[len(calls)-1].SessionName
				if !regexp.MustCompile(args[1]).MatchString(last) {
					ts.Fatalf("session name %q does not match %s", last, args[1])
				}
			}
		},
		// signed-with ACTION base|assumed [N]: every ACTION call since the last "calls reset"
		// was signed with the test credentials, or with keys AssumeRole handed out (N distinct
		// ones, if given).
		"signed-with": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 2 || len(args) > 3 {
				ts.Fatalf("usage: signed-with ACTION base|assumed [N]")
			}
			keys := map[string]bool{}
			for _, c := range e.srv.Requests() {
				if c.Action != args[0] {
					continue
				}
				keys[c.AccessKeyID] = true
				switch args[1] {
				case "base":
					if c.AccessKeyID != awstest.AccessKeyID {
						ts.Fatalf("%s signed with %q, want the base credentials", c.Action, c.AccessKeyID)
					}
				case "assumed":
					if !e.srv.Assumed(c.AccessKeyID) {
						ts.Fatalf("%s signed with %q, not with a key AssumeRole handed out", c.Action, c.AccessKeyID)
					}
				default:
					ts.Fatalf("usage: signed-with ACTION base|assumed [N]")
				}
			}
			if len(keys) == 0 {
				ts.Fatalf("no %s calls", args[0])
			}
			if len(args) == 3 {
				n, err := strconv.Atoi(args[2])
				ts.Check(err)
				if len(keys) != n {
					ts.Fatalf("%s calls signed with %d keys, want %d", args[0], len(keys), n)
				}
			}
		},
		// signed ACTION REGION...: the ACTION calls since the last "calls reset" were signed for
		// these regions (in any order). kumo answers every region from one store, so the
		// signing region is where a request would have gone in AWS.
		"signed": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 1 {
				ts.Fatalf("usage: signed ACTION REGION...")
			}
			var got []string
			for _, c := range e.srv.Requests() {
				if c.Action == args[0] {
					got = append(got, c.Region)
				}
			}
			sort.Strings(got)
			want := append([]string(nil), args[1:]...)
			sort.Strings(want)
			if (strings.Join(got, " ") == strings.Join(want, " ")) == neg {
				ts.Fatalf("%s calls signed for %q, want %q", args[0], got, want)
			}
		},
	}
}
