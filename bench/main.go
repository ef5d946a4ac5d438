// Command bench measures secretexec's start-up against a straightforward reference
// implementation (bench/reference), in one run, against the project's AWS emulator with an
// added latency per request. See bench/README.md.
//
//	go run ./bench [-n 30] [-latency 0,5ms] [-scenarios p10,p100,p1000,p1000-short,p1000-empty,secrets,refs] [-o FILE]
//
// For every run it records the time from just before the process is started to the first
// instruction of the command it execs (a static C probe), the CPU time (user+sys) and peak
// RSS of the whole process (wait4; Linux keeps the pre-exec high-water mark across execve),
// and the AWS requests the emulator received. secretexec and the reference alternate
// (ABAB, the first one swapped every round) so that drift hits both alike.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/internal/awstest"
)

func main() {
	n := flag.Int("n", 30, "runs per program, scenario and latency")
	latencies := flag.String("latency", "0,5ms", "comma-separated added latencies per AWS request")
	scenarios := flag.String("scenarios", "p10,p100,p1000,p1000-short,p1000-empty,secrets,refs", "comma-separated scenarios")
	out := flag.String("o", "", "also write the markdown report to this file")
	seBin := flag.String("secretexec", "", "use this secretexec binary instead of building one (to compare versions)")
	flag.Var(&seEnv, "secretexec-env", "add `KEY=VALUE` to secretexec's environment only, for experiments such as GOGC=off (repeatable)")
	flag.BoolVar(&trace, "trace", false, "print the AWS requests of each program's first measured run (offset, duration)")
	flag.Parse()
	if err := run(*n, *latencies, *scenarios, *out, *seBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	trace bool
	seEnv list
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

type scenario struct {
	name, desc string
	se, ref    []string // arguments before "--"
	env        []string // added to the environment
	// paging shapes the emulator's DescribeParameters pages for this scenario: what AWS
	// may answer for an account with many parameters (issue 21).
	paging awstest.DescribePaging
}

const (
	nRefsSSM = 20
	nRefsSM  = 5
)

func scenarioList() []scenario {
	var refsEnv []string
	for i := range nRefsSSM {
		refsEnv = append(refsEnv, fmt.Sprintf("REF_SSM_%02d=ssm:///bench/refs/R%02d", i, i))
	}
	for i := range nRefsSM {
		refsEnv = append(refsEnv, fmt.Sprintf("REF_SM_%d=sm://bench/ref-%d#password", i, i))
	}
	return []scenario{
		{name: "p10", desc: "10 parameters under one path", se: []string{"--ssm-path", "/bench/p10"}, ref: []string{"-path", "/bench/p10"}},
		{name: "p100", desc: "100 parameters under one path", se: []string{"--ssm-path", "/bench/p100"}, ref: []string{"-path", "/bench/p100"}},
		{name: "p1000", desc: "1000 parameters under one path", se: []string{"--ssm-path", "/bench/p1000"}, ref: []string{"-path", "/bench/p1000"}},
		{name: "p1000-short", desc: "1000 parameters, DescribeParameters pages of 10", se: []string{"--ssm-path", "/bench/p1000"}, ref: []string{"-path", "/bench/p1000"},
			paging: awstest.DescribePaging{Size: 10}},
		{name: "p1000-empty", desc: "1000 parameters, empty DescribeParameters pages between full ones", se: []string{"--ssm-path", "/bench/p1000"}, ref: []string{"-path", "/bench/p1000"},
			paging: awstest.DescribePaging{Empty: 1}},
		{name: "secrets", desc: "one path (10) + two JSON secrets",
			se:  []string{"--ssm-path", "/bench/p10", "--secret-id", "bench/app1", "--secret-id", "bench/app2"},
			ref: []string{"-path", "/bench/p10", "-secret", "bench/app1", "-secret", "bench/app2"}},
		{name: "refs", desc: fmt.Sprintf("25 references (%d ssm://, %d sm://)", nRefsSSM, nRefsSM), env: refsEnv},
	}
}

// seed fills the emulator with every scenario's data.
func seed(ctx context.Context, srv *awstest.Server) error {
	for _, n := range []int{10, 100, 1000} {
		for i := range n {
			name := fmt.Sprintf("/bench/p%d/PARAM_%04d", n, i)
			if err := srv.PutParameter(ctx, name, fmt.Sprintf("value-%d-%04d-0123456789abcdef0123456789abcdef", n, i), true); err != nil {
				return err
			}
		}
	}
	for s := 1; s <= 2; s++ {
		var kv []string
		for k := range 10 {
			kv = append(kv, fmt.Sprintf(`"APP%d_KEY_%d":"secret-%d-%d-0123456789abcdef"`, s, k, s, k))
		}
		if _, err := srv.CreateSecret(ctx, fmt.Sprintf("bench/app%d", s), "{"+strings.Join(kv, ",")+"}"); err != nil {
			return err
		}
	}
	for i := range nRefsSSM {
		if err := srv.PutParameter(ctx, fmt.Sprintf("/bench/refs/R%02d", i), fmt.Sprintf("ref-value-%02d-0123456789abcdef", i), true); err != nil {
			return err
		}
	}
	for i := range nRefsSM {
		if _, err := srv.CreateSecret(ctx, fmt.Sprintf("bench/ref-%d", i), fmt.Sprintf(`{"username":"u%d","password":"p%d-0123456789abcdef"}`, i, i)); err != nil {
			return err
		}
	}
	return nil
}

type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
	calls     int
	envN      int
	envHash   string
	stderr    string
}

type stats struct {
	wall, cpu time.Duration
	rssKiB    int64
	calls     int
	actions   string
}

type program struct {
	name, bin string
	args      func(scenario) []string
}

func run(n int, latencyList, scenarioNames, outFile, seBin string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "secretexec-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(os.Stderr, "building secretexec, the reference and the probe ...")
	if seBin == "" {
		seBin = filepath.Join(tmp, "secretexec")
		if err := goBuild(root, seBin, "."); err != nil {
			return err
		}
	}
	refBin := filepath.Join(tmp, "reference")
	if err := goBuild(root, refBin, "./bench/reference"); err != nil {
		return err
	}
	probe := filepath.Join(tmp, "probe")
	if err := command(root, "gcc", "-static", "-O2", "-o", probe, "bench/probe/probe.c"); err != nil {
		return err
	}
	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}

	var lats []time.Duration
	for _, s := range strings.Split(latencyList, ",") {
		if s == "0" {
			lats = append(lats, 0)
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("-latency: %w", err)
		}
		lats = append(lats, d)
	}
	var scens []scenario
	for _, name := range strings.Split(scenarioNames, ",") {
		i := slices.IndexFunc(scenarioList(), func(s scenario) bool { return s.name == name })
		if i < 0 {
			return fmt.Errorf("unknown scenario %q", name)
		}
		scens = append(scens, scenarioList()[i])
	}

	srv, err := awstest.Start()
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(os.Stderr, "seeding the emulator ...")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := seed(ctx, srv); err != nil {
		return err
	}

	// A whole, isolated environment: nothing from this machine's AWS set-up (AWS_CA_BUNDLE
	// alone costs the SDK a CA-bundle parse per start), no ~/.aws, no instance metadata.
	baseEnv := append(srv.Env(tmp), "PATH=/usr/bin:/bin", "HOME="+home)
	progs := []program{
		{"secretexec", seBin, func(s scenario) []string { return append(append([]string{}, s.se...), "--", probe) }},
		{"reference", refBin, func(s scenario) []string { return append(append([]string{}, s.ref...), "--", probe) }},
	}

	var report strings.Builder
	fmt.Fprintf(&report, "%d runs of each program per row, medians; ratio = secretexec / reference.\n\n", n)
	report.WriteString("| scenario | latency | start→exec ms (se / ref) | ratio | CPU ms (se / ref) | ratio | peak RSS MiB (se / ref) | ratio | AWS calls (se / ref) |\n")
	report.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	var details strings.Builder
	for _, lat := range lats {
		srv.SetLatency(lat)
		for _, sc := range scens {
			srv.SetDescribePaging(sc.paging)
			env := append(append([]string{}, baseEnv...), sc.env...)
			var samples [2][]sample
			var actions [2]string
			// Two warm-up runs each, not recorded.
			for i := range 2 + n {
				for k := range 2 {
					p := k
					if i%2 == 1 {
						p = 1 - k
					}
					srv.ResetCalls()
					runEnv := env
					if p == 0 {
						runEnv = append(append([]string{}, env...), seEnv...)
					}
					s, err := runOnce(probe, progs[p].bin, progs[p].args(sc), runEnv)
					if err != nil {
						return fmt.Errorf("%s, %s, %v: %w", progs[p].name, sc.name, lat, err)
					}
					s.calls = srv.TotalCalls()
					if i == 0 {
						actions[p] = actionCounts(srv)
					}
					if i >= 2 {
						samples[p] = append(samples[p], s)
					}
					if trace && i == 2 {
						printTrace(progs[p].name, sc.name, lat, srv.Requests())
						os.Stderr.WriteString(s.stderr)
					}
				}
			}
			a, b := samples[0][0], samples[1][0]
			note := ""
			if a.envN != b.envN || a.envHash != b.envHash {
				// Never a valid comparison: say so in the row rather than hide it.
				note = " ⚠ the two handed over different environments"
				fmt.Fprintf(os.Stderr, "%s: secretexec and the reference handed over different environments (%d entries %s vs %d entries %s)\n",
					sc.name, a.envN, a.envHash, b.envN, b.envHash)
			}
			se, ref := med(samples[0]), med(samples[1])
			se.actions, ref.actions = actions[0], actions[1]
			fmt.Fprintf(&report, "| %s | %v | %.1f / %.1f | **%.2f** | %.1f / %.1f | %.2f | %.1f / %.1f | %.2f | %d / %d |\n",
				sc.desc+note, lat,
				ms(se.wall), ms(ref.wall), ratio(ms(se.wall), ms(ref.wall)),
				ms(se.cpu), ms(ref.cpu), ratio(ms(se.cpu), ms(ref.cpu)),
				mib(se.rssKiB), mib(ref.rssKiB), ratio(float64(se.rssKiB), float64(ref.rssKiB)),
				se.calls, ref.calls)
			fmt.Fprintf(&details, "- %s, %v: secretexec %s; reference %s\n", sc.name, lat, se.actions, ref.actions)
			fmt.Fprintf(os.Stderr, "%-8s %-4v se %7.1f ms  ref %7.1f ms  ratio %.2f\n", sc.name, lat, ms(se.wall), ms(ref.wall), ratio(ms(se.wall), ms(ref.wall)))
		}
	}
	report.WriteString("\nAWS calls per run by action (first run):\n\n")
	report.WriteString(details.String())
	for _, p := range progs {
		if st, err := os.Stat(p.bin); err == nil {
			fmt.Fprintf(&report, "\n%s binary: %d bytes (%.2f MiB), stripped", p.name, st.Size(), float64(st.Size())/(1<<20))
		}
	}
	report.WriteString("\n\n" + machine() + "\n")
	fmt.Print(report.String())
	if outFile != "" {
		return os.WriteFile(outFile, []byte(report.String()), 0o644)
	}
	return nil
}

// runOnce runs bin once through the probe's launcher and reads what the launcher and the
// probe printed: t0 (in the forked child just before execve), t1 (the probe's first
// instruction) and the rusage of the whole process.
func runOnce(launcher, bin string, args, env []string) (sample, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(launcher, append([]string{"-launch", bin}, args...)...)
	cmd.Env = env
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var t0, t1 time.Duration
	var s sample
	var status = -1
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "t0":
			t0 = parseTime(f[1])
		case len(f) == 4 && f[0] == "t1":
			t1 = parseTime(f[1])
			s.envN, _ = strconv.Atoi(f[2])
			s.envHash = f[3]
		case len(f) == 5 && f[0] == "rusage":
			ut, _ := strconv.ParseInt(f[1], 10, 64)
			st, _ := strconv.ParseInt(f[2], 10, 64)
			s.cpu = time.Duration(ut+st) * time.Microsecond
			s.rssKiB, _ = strconv.ParseInt(f[3], 10, 64)
			status, _ = strconv.Atoi(f[4])
		}
	}
	if status != 0 || t0 == 0 || t1 == 0 {
		return sample{}, fmt.Errorf("exit status %d, output %q, stderr %q", status, stdout.String(), stderr.String())
	}
	s.wall = t1 - t0
	s.stderr = stderr.String()
	return s, nil
}

func parseTime(s string) time.Duration {
	sec, nsec, _ := strings.Cut(s, ".")
	a, _ := strconv.ParseInt(sec, 10, 64)
	b, _ := strconv.ParseInt(nsec, 10, 64)
	return time.Duration(a)*time.Second + time.Duration(b)
}

func printTrace(prog, scen string, lat time.Duration, calls []awstest.Call) {
	fmt.Fprintf(os.Stderr, "trace %s %s %v:\n", prog, scen, lat)
	if len(calls) == 0 {
		return
	}
	t0 := calls[0].Start
	for _, c := range calls {
		fmt.Fprintf(os.Stderr, "  %7.2f ms  %6.2f ms  %s\n", ms(c.Start.Sub(t0)), ms(c.End.Sub(c.Start)), c.Action)
	}
}

func actionCounts(srv *awstest.Server) string {
	counts := map[string]int{}
	for _, c := range srv.Requests() {
		counts[c.Action]++
	}
	var parts []string
	for a, c := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", a, c))
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func med(ss []sample) stats {
	median := func(get func(sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stats{
		wall:   time.Duration(median(func(s sample) int64 { return int64(s.wall) })),
		cpu:    time.Duration(median(func(s sample) int64 { return int64(s.cpu) })),
		rssKiB: median(func(s sample) int64 { return s.rssKiB }),
		calls:  int(median(func(s sample) int64 { return int64(s.calls) })),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(kib int64) float64      { return float64(kib) / 1024 }
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the secretexec module")
	}
	return filepath.Dir(mod), nil
}

func goBuild(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

func command(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// machine describes where the numbers come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u unix.Utsname
	_ = unix.Uname(&u)
	return fmt.Sprintf("Machine: %d CPUs (%s), Linux %s, %s.", runtime.NumCPU(), model,
		unix.ByteSliceToString(u.Release[:]), runtime.Version())
}
