// Command probe is the test app run behind secretexec in the container tests: it reports, one
// "key=value" line each, what a real app would see (its pid, masked env values, SECRETEXEC_*
// leftovers, whether an orphan it made was reaped) and then exits or waits for a signal.
//
// Values are never printed: a variable shows as "env.NAME=sha256:<12 hex> len=<n>" or
// "env.NAME=unset", and the test compares the hash with the seeded canary's.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	envNames := fs.String("env", "", "comma-separated variable names to report, masked")
	exitCode := fs.Int("exit", 0, "exit with this status")
	waitTerm := fs.Int("wait-term", -1, "if >= 0: print ready=1, wait for SIGTERM, exit with this status")
	orphan := fs.Bool("orphan", false, "make an orphaned grandchild that exits quickly, then report whether it was reaped")
	mode := fs.String("mode", "", "internal: spawner|grandchild (re-exec for -orphan), sleeper (for -serve)")
	serveVar := fs.String("serve", "", "serve HTTP on the socket-activation fd 3: GET / answers pid and VAR's hash, GET /health 200; leaves a sleeping child")
	ps := fs.Bool("ps", false, "print one line per process: proc=PID ppid=PPID comm=COMM")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	switch {
	case *mode == "spawner":
		return spawner()
	case *mode == "grandchild":
		time.Sleep(200 * time.Millisecond)
		return 0
	case *mode == "sleeper":
		time.Sleep(time.Hour)
		return 0
	case *ps:
		return listProcs()
	case *serveVar != "":
		return serve(*serveVar)
	}

	// Register before announcing readiness so no early TERM kills us by default action.
	term := make(chan os.Signal, 1)
	if *waitTerm >= 0 {
		signal.Notify(term, syscall.SIGTERM)
	}

	fmt.Printf("pid=%d\n", os.Getpid())
	fmt.Printf("ppid=%d\n", os.Getppid())
	fmt.Printf("pid1=%s\n", comm(1))
	if *envNames != "" {
		for _, name := range strings.Split(*envNames, ",") {
			if v, ok := os.LookupEnv(name); ok {
				sum := sha256.Sum256([]byte(v))
				fmt.Printf("env.%s=sha256:%s len=%d\n", name, hex.EncodeToString(sum[:])[:12], len(v))
			} else {
				fmt.Printf("env.%s=unset\n", name)
			}
		}
	}
	var leftovers []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "SECRETEXEC_") {
			leftovers = append(leftovers, name)
		}
	}
	sort.Strings(leftovers)
	fmt.Printf("secretexec_vars=%s\n", orNone(strings.Join(leftovers, ",")))

	if *orphan {
		orphanCheck()
	}

	if *waitTerm >= 0 {
		fmt.Println("ready=1")
		select {
		case <-term:
			fmt.Println("got=TERM")
			return *waitTerm
		case <-time.After(60 * time.Second):
			fmt.Println("got=timeout")
			return 99
		}
	}
	return *exitCode
}

// orphanCheck starts a spawner that starts a grandchild and exits at once, so the grandchild is
// reparented to PID 1 (or the nearest subreaper). The grandchild exits after 200 ms; a second
// later it is either gone (reaped by whoever is PID 1) or a zombie.
func orphanCheck() {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	out, err := exec.Command(self, "-mode=spawner").Output()
	if err != nil {
		fmt.Printf("orphan.error=%v\n", err)
		return
	}
	gc, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		fmt.Printf("orphan.error=bad pid %q\n", out)
		return
	}
	time.Sleep(time.Second)
	state := procField(gc, "State")
	switch {
	case state == "":
		fmt.Println("orphan=reaped")
	case strings.HasPrefix(state, "Z"):
		fmt.Printf("orphan=zombie parent=%s\n", procField(gc, "PPid"))
	default:
		fmt.Printf("orphan=alive state=%s\n", state)
	}
}

func spawner() int {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	cmd := exec.Command(self, "-mode=grandchild")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(cmd.Process.Pid)
	return 0 // without waiting: the grandchild is orphaned
}

// procField returns a field of /proc/PID/status, or "" if the process does not exist.
func procField(pid int, key string) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// serve is an app started with systemd's socket-activation protocol, as gunicorn is under
// secretexec --listen: it refuses to run unless LISTEN_PID is its own pid, serves on fd 3,
// and starts a child that sleeps, which a restart must stop with it. On SIGTERM it stops
// accepting, finishes what is in flight and exits 0.
func serve(name string) int {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		fmt.Fprintf(os.Stderr, "probe: bad activation: LISTEN_PID=%q LISTEN_FDS=%q, pid %d\n", os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getpid())
		return 3
	}
	l, err := net.FileListener(os.NewFile(3, "listen"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 4
	}
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	if err := exec.Command(self, "-mode=sleeper").Start(); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 5
	}
	v := os.Getenv(name)
	sum := sha256.Sum256([]byte(v))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid=%d env.%s=sha256:%s len=%d\n", os.Getpid(), name, hex.EncodeToString(sum[:])[:12], len(v))
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})
	srv := &http.Server{Handler: mux}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		os.Exit(0)
	}()
	fmt.Printf("serving=1 pid=%d\n", os.Getpid())
	srv.Serve(l)
	select {} // Shutdown's goroutine exits
}

// listProcs prints every process of the container (its /proc).
func listProcs() int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 1
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fmt.Printf("proc=%d ppid=%s comm=%s\n", pid, procField(pid, "PPid"), comm(pid))
	}
	return 0
}

func comm(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
