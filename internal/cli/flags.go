package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/health"
	"github.com/secretexec/secretexec/internal/proc"
	"github.com/secretexec/secretexec/internal/watch"
	"github.com/secretexec/secretexec/ref"
)

const envPrefix = env.ReservedPrefix

// config is everything the command line and the SECRETEXEC_* variables say.
type config struct {
	sources     []fetch.Source
	recursive   bool
	backend     string
	region      string
	output      string
	format      string
	noOverride  bool
	allowEmpty  bool
	timeout     time.Duration
	retries     int
	resolveARNs bool
	init        bool
	watch       time.Duration  // --watch: check every so often; 0 = once, at start
	onChange    onChange       // --on-change
	stopSignal  syscall.Signal // --stop-signal
	stopTimeout time.Duration  // --stop-timeout

	// Rotation that keeps the service up.
	healthCheck   string        // --health-check CHECK
	health        *health.Check // healthCheck, parsed
	healthTimeout time.Duration // --health-timeout
	listen        addrList      // --listen ADDR, repeatable
	restartOrder  string        // --restart-order, or "" for the default (startFirst)
	dryRun        bool
	verbose       bool
	quiet         bool
	version       bool
	help          bool
	disable       bool
	command       []string

	// An ECS task definition to run (--ecs-task-definition, --container) and the names the
	// command needs (--require, --require-file).
	taskDef     string
	container   string
	require     nameList
	requireFile string
	task        *taskRun // the task definition's container, once read (configure)

	// ineffective are the flags given (or their twins) that do nothing in this mode, for a
	// warning (ineffectiveFlags).
	ineffective []string

	// The role every AWS request is made with, and the form
	// of secretexec's own messages.
	roleARN         string // --role-arn: AssumeRole on it with the default chain's credentials
	externalID      string // --external-id: the ExternalId the role's trust policy asks for
	roleSessionName string // --role-session-name; "" for defaultSessionName's
	logFormat       string // --log-format: text or json
}

// nameList is --require: variable names, comma-separated and repeatable, each once.
type nameList []string

func (l *nameList) String() string { return strings.Join(*l, ",") }

func (l *nameList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case !env.ValidName(name):
			return fmt.Errorf("%q is not a variable name (letters, digits and _, not starting with a digit)", name)
		case env.Reserved(name):
			return fmt.Errorf("%s: SECRETEXEC_* variables never reach the command", name)
		}
		if !slices.Contains(*l, name) {
			*l = append(*l, name)
		}
	}
	return nil
}

// sourceList collects --ssm-path and --secret-id in command-line order, both into one list.
type sourceList struct {
	kind    fetch.Kind
	all     *[]fetch.Source
	lastErr *error // the flag package flattens Set's error; keep it whole for the hint
}

func (s *sourceList) String() string { return "" }

func (s *sourceList) Set(v string) error {
	src, err := parseSource(s.kind, v)
	if err != nil {
		*s.lastErr = err
		return err
	}
	*s.all = append(*s.all, src)
	return nil
}

func parseSource(kind fetch.Kind, v string) (fetch.Source, error) {
	if kind == fetch.SSMPath {
		if !strings.HasPrefix(v, "/") {
			return fetch.Source{}, usagef(fmt.Sprintf("did you mean --ssm-path /%s?", v), "ssm path %q does not start with /", v)
		}
		p := v
		if len(p) > 1 {
			p = strings.TrimRight(p, "/")
			if p == "" {
				p = "/"
			}
		}
		return fetch.Source{Kind: fetch.SSMPath, Path: p}, nil
	}
	if v == "" {
		return fetch.Source{}, usagef("", "empty --secret-id")
	}
	// NAME=ID binds a plain secret to one variable. Secret names may contain "=", so only a
	// valid variable name before the first "=" makes a binding (an ARN never does).
	if i := strings.IndexByte(v, '='); i > 0 && env.ValidName(v[:i]) {
		if env.Reserved(v[:i]) {
			return fetch.Source{}, usagef("SECRETEXEC_* variables configure secretexec; bind the secret to another name", "--secret-id %q binds a name in secretexec's own SECRETEXEC_ namespace", v)
		}
		if v[i+1:] == "" {
			return fetch.Source{}, usagef("the form is --secret-id NAME=SECRET_ID", "--secret-id %q names no secret", v)
		}
		return fetch.Source{Kind: fetch.Secret, Bind: v[:i], SecretID: v[i+1:]}, checkSecretID(v[i+1:])
	}
	return fetch.Source{Kind: fetch.Secret, SecretID: v}, checkSecretID(v)
}

// checkSecretID refuses a --secret-id ARN that is not a secret's whole ARN, by ref's rules
// for ARNs and regions, as for sm:// references.
func checkSecretID(id string) error {
	if _, err := ref.SecretIDRegion(id); err != nil {
		return usagef("give the secret's name or its full ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME", "--secret-id %q: %v", id, err)
	}
	return nil
}

// onChange is --on-change: what a change does to the command (restart, the zero value;
// exit; or a signal).
type onChange struct {
	action watch.Action
	sig    syscall.Signal // for watch.Signal
}

func (o *onChange) String() string {
	switch o.action {
	case watch.Exit:
		return "exit"
	case watch.Signal:
		return proc.SignalName(o.sig)
	}
	return "restart"
}

func (o *onChange) Set(v string) error {
	switch v {
	case "restart":
		*o = onChange{}
		return nil
	case "exit":
		*o = onChange{action: watch.Exit}
		return nil
	}
	s, err := parseSignal(v)
	if err != nil {
		return fmt.Errorf("want restart, exit or a signal such as SIGHUP: %w", err)
	}
	if s == syscall.SIGKILL || s == syscall.SIGSTOP {
		return fmt.Errorf("%s cannot be handled: use restart", proc.SignalName(s))
	}
	*o = onChange{action: watch.Signal, sig: s}
	return nil
}

// signalFlag is a signal given by name (SIGTERM, TERM, term) or number.
type signalFlag syscall.Signal

func (f *signalFlag) String() string {
	return proc.SignalName(syscall.Signal(*f))
}

func (f *signalFlag) Set(v string) error {
	s, err := parseSignal(v)
	*f = signalFlag(s)
	return err
}

func parseSignal(v string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("no signal %d", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if s := unix.SignalNum(name); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("unknown signal %q", v)
}

// flagTwin is the SECRETEXEC_* twin of a flag.
func flagTwin(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// noTwin lists flags that have no SECRETEXEC_* twin: a variable must not be able to turn
// the entrypoint into a help or version printer.
var noTwin = map[string]bool{"help": true, "h": true, "version": true}

func newFlagSet(c *config) (*flag.FlagSet, map[string]*sourceList, *error) {
	fs := flag.NewFlagSet("secretexec", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var lastErr error
	lists := map[string]*sourceList{
		"ssm-path":  {kind: fetch.SSMPath, all: &c.sources, lastErr: &lastErr},
		"secret-id": {kind: fetch.Secret, all: &c.sources, lastErr: &lastErr},
	}
	fs.Var(lists["ssm-path"], "ssm-path", "")
	fs.Var(lists["secret-id"], "secret-id", "")
	fs.BoolVar(&c.recursive, "recursive", false, "")
	fs.StringVar(&c.backend, "backend", "", "")
	fs.StringVar(&c.region, "region", "", "")
	fs.StringVar(&c.output, "output", "", "")
	fs.StringVar(&c.format, "format", "dotenv", "")
	fs.BoolVar(&c.noOverride, "no-override", false, "")
	fs.BoolVar(&c.allowEmpty, "allow-empty", false, "")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "")
	fs.IntVar(&c.retries, "retries", 10, "")
	fs.BoolVar(&c.resolveARNs, "resolve-arns", false, "")
	fs.BoolVar(&c.init, "init", false, "")
	fs.DurationVar(&c.watch, "watch", 0, "")
	fs.Var(&c.onChange, "on-change", "")
	c.stopSignal = syscall.SIGTERM // the default, as docker stop's
	fs.Var((*signalFlag)(&c.stopSignal), "stop-signal", "")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", 10*time.Second, "")
	fs.StringVar(&c.taskDef, "ecs-task-definition", "", "")
	fs.StringVar(&c.container, "container", "", "")
	fs.Var(&c.require, "require", "")
	fs.StringVar(&c.requireFile, "require-file", "", "")
	// Rotation that keeps the service up.
	fs.StringVar(&c.healthCheck, "health-check", "", "")
	fs.DurationVar(&c.healthTimeout, "health-timeout", 60*time.Second, "")
	fs.Var(&c.listen, "listen", "")
	fs.StringVar(&c.restartOrder, "restart-order", "", "")
	fs.BoolVar(&c.dryRun, "dry-run", false, "")
	fs.BoolVar(&c.verbose, "verbose", false, "")
	fs.BoolVar(&c.quiet, "quiet", false, "")
	fs.BoolVar(&c.version, "version", false, "")
	fs.BoolVar(&c.help, "help", false, "")
	fs.BoolVar(&c.help, "h", false, "")

	fs.StringVar(&c.roleARN, "role-arn", "", "")
	fs.StringVar(&c.externalID, "external-id", "", "")
	fs.StringVar(&c.roleSessionName, "role-session-name", "", "")
	fs.StringVar(&c.logFormat, "log-format", c.logFormat, "")
	return fs, lists, &lastErr
}

// parseConfig reads the command line, then each SECRETEXEC_* twin of a flag not given.
// environ holds each name once (env.Unique). The config comes back with an error too, as
// far as it was read: its log format says how to report the error.
func parseConfig(args, environ []string) (*config, error) {
	return parseConfigTask(nil, args, environ, nil)
}

// parseConfigTask is parseConfig for a task definition's container t, once read: pre is
// the arguments of a container that runs secretexec itself (its entryPoint and command after
// "secretexec"), parsed before args, so that args' flags win and add their sources after
// pre's; without a COMMAND in args, the container's command runs (pre's, else t's whole
// command line). environ then holds the task definition's environment too.
func parseConfigTask(pre, args, environ []string, t *taskRun) (*config, error) {
	c := &config{task: t, logFormat: "text"}
	// One pass over the environment (each name once: env.Unique) for the SECRETEXEC_*
	// variables.
	twins := map[string]string{}
	for _, kv := range environ {
		if name, v, _ := strings.Cut(kv, "="); strings.HasPrefix(name, envPrefix) {
			twins[name] = v
		}
	}
	// The log format is known before anything can fail, so that a mistake is reported in
	// the form the log pipeline reads: from its twin first, then the flag, as parsed.
	if v := twins[flagTwin("log-format")]; validLogFormat(v) {
		c.logFormat = v
	}
	fs, lists, setErr := newFlagSet(c)
	var preCommand []string
	if t != nil && pre != nil {
		if err := fs.Parse(pre); err != nil {
			return nil, usagef("secretexec reads the flags a container passes to it as its own; fix them in the task definition", "container %q runs secretexec with its entryPoint and command: %s", t.name, strings.TrimPrefix(err.Error(), "invalid value "))
		}
		preCommand = fs.Args()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help = true
			return c, nil
		}
		var he *hintError
		if errors.As(*setErr, &he) {
			return c, he
		}
		return c, usagef("run secretexec --help for the flags", "%s", strings.TrimPrefix(err.Error(), "invalid value "))
	}
	c.command = fs.Args()
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	// The twins: SECRETEXEC_SSM_PATH for --ssm-path. Sources from twins come before the
	// command line's, so a flag's source wins over an image's default.
	twinSources := []fetch.Source{}
	flagSources := c.sources
	c.sources = nil
	known := map[string]bool{envPrefix + "DISABLE": true}
	var twinErr error
	fs.VisitAll(func(f *flag.Flag) {
		if noTwin[f.Name] {
			return
		}
		name := flagTwin(f.Name)
		known[name] = true
		v, ok := twins[name]
		if !ok || given[f.Name] || twinErr != nil {
			return
		}
		if l, isList := lists[f.Name]; isList {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item == "" {
					continue
				}
				src, err := parseSource(l.kind, item)
				if err != nil {
					twinErr = fmt.Errorf("%s: %w", name, err)
					return
				}
				twinSources = append(twinSources, src)
			}
			return
		}
		if v == "" {
			return // an empty twin is the same as an unset one
		}
		if al, ok := f.Value.(*addrList); ok { // a repeatable flag's twin: a comma-separated list
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					_ = al.Set(item)
				}
			}
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			twinErr = usagef("", "%s=%q: %s", name, v, cleanFlagErr(err))
		}
	})
	if twinErr != nil {
		return c, twinErr
	}
	// Twin SSM paths, then twin secrets (an environment has no order), then the flags'.
	sort.SliceStable(twinSources, func(i, j int) bool { return twinSources[i].Kind < twinSources[j].Kind })
	c.sources = append(twinSources, flagSources...)

	var unknown []string
	for name, v := range twins {
		if !known[name] && v != "" {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown) // report the same one every time
		return c, usagef(suggest(unknown[0], known), "unknown variable %s", unknown[0])
	}
	if v := twins[envPrefix+"DISABLE"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, usagef("use 1 or 0", "SECRETEXEC_DISABLE=%q is not a boolean", v)
		}
		c.disable = b
	}
	for i := range c.sources {
		if c.sources[i].Kind == fetch.SSMPath {
			c.sources[i].Recursive = c.recursive
		}
	}
	// The container's command, unless COMMAND is given or --output alone asks for runbook
	// mode (the file is then what compose gets; nothing runs).
	if t != nil && len(c.command) == 0 && c.output == "" {
		c.command = preCommand
		if pre == nil {
			c.command = t.argv
		}
	}
	c.ineffective = ineffectiveFlags(fs, c)
	return c, c.check()
}

// ineffectiveFlags lists the flags set, on the command line or by their twins, that do
// nothing in this mode: --on-change without --watch, --stop-signal and --stop-timeout
// without --init or --watch. A warning, not a usage error: a twin set for a whole fleet in
// an image (SECRETEXEC_ON_CHANGE) must not stop the starts that do not watch.
func ineffectiveFlags(fs *flag.FlagSet, c *config) []string {
	var names []string
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "on-change" && c.watch == 0:
			names = append(names, "--on-change has no effect without --watch")
		case (f.Name == "stop-signal" || f.Name == "stop-timeout") && !c.supervised():
			names = append(names, "--"+f.Name+" has no effect without --init or --watch")
		}
	})
	return names
}

func cleanFlagErr(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "parse error") {
		return "not a valid value"
	}
	return s
}

// maxWatch is the longest --watch: the loop's arithmetic on it (jitter, deadlines) stays
// far from time.Duration's 292 years.
const maxWatch = 365 * 24 * time.Hour

// check rejects combinations that cannot mean anything.
func (c *config) check() error {
	if c.help || c.version {
		return nil
	}
	switch c.backend {
	case "":
	case "ssm":
		if !c.has(fetch.SSMPath) {
			return usagef("add --ssm-path /app/env", "--backend ssm needs --ssm-path")
		}
	case "secretsmanager":
		if !c.has(fetch.Secret) {
			return usagef("add --secret-id NAME", "--backend secretsmanager needs --secret-id")
		}
	default:
		return usagef("use --backend ssm or --backend secretsmanager", "unknown backend %q", c.backend)
	}
	if _, err := env.ParseFormat(c.format); err != nil {
		return usagef("", "%v", err)
	}
	if c.timeout <= 0 {
		return usagef("", "--timeout must be positive")
	}
	if c.retries < 1 {
		return usagef("--retries 1 makes one attempt, no retries", "--retries must be at least 1")
	}
	if c.quiet && c.verbose {
		return usagef("", "--quiet and --verbose contradict each other")
	}
	if err := c.checkScale(); err != nil {
		return err
	}
	if c.container != "" && c.taskDef == "" {
		return usagef("add --ecs-task-definition FILE", "--container needs --ecs-task-definition")
	}
	// Until the task definition is read, its container may still give the command.
	pending := c.taskDef != "" && c.task == nil
	if len(c.command) == 0 && c.output == "" && !c.dryRun && !pending {
		if c.task != nil {
			return usagef("give the command after --, or set entryPoint or command in the task definition", "container %q gives no command to run", c.task.name)
		}
		return usagef("secretexec [flags] [--] COMMAND [ARG...], or --output FILE, or --dry-run", "no command given")
	}
	if c.watch != 0 {
		if c.watch > maxWatch {
			return usagef("a check at least once a year: --watch 8760h at most (5m is a good start)", "--watch %s is over a year", c.watch)
		}
		if c.watch < time.Second {
			return usagef("a check every second at most: --watch 1s or more (5m is a good start)", "--watch %s is under 1s", c.watch)
		}
		if len(c.command) == 0 && !c.dryRun && !pending {
			return usagef("secretexec --watch 5m [flags] -- COMMAND [ARG...]", "--watch needs a command")
		}
	}
	if c.onChange.action == watch.Signal && c.output == "" {
		return usagef("--on-change "+c.onChange.String()+" tells the command to re-read --output FILE; without a file, use --on-change restart", "--on-change %s needs --output", c.onChange.String())
	}
	if c.stopTimeout <= 0 {
		return usagef("", "--stop-timeout must be positive")
	}
	if c.init && len(c.command) == 0 && !pending {
		return usagef("", "--init needs a command")
	}
	return c.checkRotation()
}

// checkRotation checks --health-check, --health-timeout, --listen and --restart-order.
func (c *config) checkRotation() error {
	restarts := c.watch > 0 && c.onChange.action == watch.Restart
	if c.healthCheck != "" {
		h, err := health.Parse(c.healthCheck)
		if err != nil {
			return usagef("--health-check http://127.0.0.1:8000/health, or tcp://127.0.0.1:8000", "--health-check: %v", err)
		}
		if !restarts {
			return usagef("--health-check gates the restarts of --watch D (--on-change restart); the first start is never delayed", "--health-check needs --watch")
		}
		c.health = h
	}
	if c.healthTimeout <= 0 {
		return usagef("", "--health-timeout must be positive")
	}
	for _, a := range c.listen {
		network, addr, err := proc.ParseListen(a)
		if err != nil {
			return usagef("--listen tcp://0.0.0.0:8000 or --listen unix:///run/app.sock", "--listen: %v", err)
		}
		// secretexec holds that socket open: the kernel accepts a connection to it whatever
		// the command does, so a tcp:// check of it would pass for a broken command.
		if port, ok := c.health.TCPPort(); ok && network == "tcp" {
			if _, lport, _ := net.SplitHostPort(addr); lport == port {
				return usagef("check what the command answers: --health-check http://127.0.0.1:"+port+"/health",
					"--health-check tcp:// on port %s, which --listen holds open, passes whatever the command does", port)
			}
		}
	}
	if len(c.listen) > 0 && !c.supervised() {
		return usagef("the sockets are passed to each command secretexec starts: add --init or --watch D", "--listen needs --init or --watch")
	}
	switch c.restartOrder {
	case "", "stop-first", "start-first":
	default:
		return usagef("--restart-order stop-first or --restart-order start-first", "unknown --restart-order %q", c.restartOrder)
	}
	if c.restartOrder != "" && !restarts {
		return usagef("", "--restart-order needs --watch (and --on-change restart)")
	}
	return nil
}

// addrList is a repeatable flag's values, in order.
type addrList []string

func (l *addrList) String() string { return strings.Join(*l, ",") }

func (l *addrList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// startFirst reports whether a restart starts the new command before it stops the old one:
// --restart-order's order, by default start-first when a health check gates the restarts of a
// command that shares --listen's sockets.
func (c *config) startFirst() bool {
	if c.restartOrder == "" {
		return c.health != nil && len(c.listen) > 0
	}
	return c.restartOrder == "start-first"
}

// supervised reports whether secretexec stays the command's parent (--init, which --watch
// implies: the command is restarted or signalled on a change).
func (c *config) supervised() bool { return c.init || c.watch > 0 }

func (c *config) has(k fetch.Kind) bool {
	for _, s := range c.sources {
		if s.Kind == k {
			return true
		}
	}
	return false
}

// suggest names the closest known variable for a mistyped one.
func suggest(name string, known map[string]bool) string {
	best, bestD := "", 4
	for k := range known {
		if d := distance(name, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if best == "" {
		return "SECRETEXEC_* variables configure secretexec; run secretexec --help for the list"
	}
	return "did you mean " + best + "?"
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func validLogFormat(v string) bool { return v == "text" || v == "json" }

// checkScale checks --log-format and the role flags.
func (c *config) checkScale() error {
	if !validLogFormat(c.logFormat) {
		return usagef("use --log-format text or --log-format json", "unknown log format %q", c.logFormat)
	}
	if c.roleARN == "" {
		if c.externalID != "" || c.roleSessionName != "" {
			return usagef("add --role-arn arn:aws:iam::ACCOUNT:role/NAME", "--external-id and --role-session-name need --role-arn")
		}
		return nil
	}
	if err := ref.CheckRoleARN(c.roleARN); err != nil {
		return usagef("give the role's whole ARN, arn:aws:iam::ACCOUNT:role/NAME", "--role-arn %q: %v", c.roleARN, err)
	}
	if n := c.roleSessionName; n != "" && !fetch.ValidSessionName(n) {
		return usagef("a session name is 2 to 64 characters of letters, digits and +=,.@_-", "--role-session-name %q is not a valid session name", n)
	}
	if id := c.externalID; id != "" && !fetch.ValidExternalID(id) {
		return usagef("an external id is 2 to 1224 characters of letters, digits and +=,.@:/_-", "--external-id is not a valid external id")
	}
	return nil
}

// role is --role-arn's role, or nil. Its session name defaults to "secretexec-" and the
// host name, which is the task's or container's in ECS and Docker, so that CloudTrail says
// which start read the secrets: environ's HOSTNAME (Docker and ECS set it), else the
// kernel's.
func (c *config) role(environ []string) *fetch.Role {
	if c.roleARN == "" {
		return nil
	}
	name := c.roleSessionName
	if name == "" {
		host, _ := env.Lookup(environ, "HOSTNAME")
		if host == "" {
			host, _ = os.Hostname()
		}
		name = fetch.SessionName(host)
	}
	return &fetch.Role{ARN: c.roleARN, ExternalID: c.externalID, SessionName: name}
}
