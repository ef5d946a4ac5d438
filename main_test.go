package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sivchari/kumo"
)

var update = flag.Bool("update", false, "update testscript golden files from actual output")

// ownLogVar names the file where the test build of secretexec copies its own stdout and
// stderr, so that every script can check that no seeded value ever appears there.
const ownLogVar = "SEXTEST_OWN_OUTPUT"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"secretexec": func() { os.Exit(teeRun(os.Args[1:])) },
		"envdump":    envdump,
	})
}

// teeRun is secretexec as built for scripts: run() with its own output also appended to the
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
	return run(context.Background(), args, os.Environ(), stdout, stderr)
}

// envdump is the command secretexec execs in scripts. It shows what it received without
// printing values: "NAME len=N sha=PREFIX" or "NAME unset" per argument; -dir D writes each
// value to D/NAME so a script can cmp the exact bytes; -names prints every variable name;
// -exit N exits with N.
func envdump() {
	fs := flag.NewFlagSet("envdump", flag.ExitOnError)
	dir := fs.String("dir", "", "")
	names := fs.Bool("names", false, "")
	code := fs.Int("exit", 0, "")
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

func TestScripts(t *testing.T) {
	emu := startEmulator(t)
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	// The emulator keeps one store per process, so scripts run one after another, each on
	// a wiped store.
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			testscript.Run(t, testscript.Params{
				Files:               []string{file},
				RequireExplicitExec: true,
				RequireUniqueNames:  true,
				UpdateScripts:       *update,
				Setup:               emu.setup,
				Cmds:                emu.cmds(),
			})
		})
	}
}

// emulator is the kumo AWS emulator shared by the scripts of one test run.
type emulator struct {
	url string
	ssm *ssm.Client
	sm  *secretsmanager.Client

	mu      sync.Mutex
	canary  map[*testscript.TestScript][]string
	current []string
}

func startEmulator(t *testing.T) *emulator {
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return &emulator{url: srv.URL, ssm: ssm.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
}

// setup gives each script an empty emulator and a whole, isolated environment: no shared
// AWS files, no instance metadata, fixed test credentials.
func (e *emulator) setup(env *testscript.Env) error {
	if err := e.wipe(context.Background()); err != nil {
		return err
	}
	e.mu.Lock()
	e.current = nil
	e.mu.Unlock()
	work := env.WorkDir
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            e.url,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_CONFIG_FILE":             filepath.Join(work, ".aws-none", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(work, ".aws-none", "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"HOME":                        filepath.Join(work, "home"),
		ownLogVar:                     filepath.Join(work, ".own-output"),
	} {
		env.Setenv(k, v)
	}
	log := filepath.Join(work, ".own-output")
	env.Defer(func() {
		e.mu.Lock()
		canaries := e.current
		e.mu.Unlock()
		out, _ := os.ReadFile(log)
		for _, c := range canaries {
			if bytes.Contains(out, []byte(c)) {
				env.T().Fatal(fmt.Sprintf("a seeded secret value (%d bytes) appears in secretexec's own output", len(c)))
			}
		}
	})
	return nil
}

func (e *emulator) wipe(ctx context.Context) error {
	var names []string
	p := ssm.NewDescribeParametersPaginator(e.ssm, &ssm.DescribeParametersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, m := range out.Parameters {
			names = append(names, aws.ToString(m.Name))
		}
	}
	for _, n := range names {
		if _, err := e.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(n)}); err != nil {
			return err
		}
	}
	sp := secretsmanager.NewListSecretsPaginator(e.sm, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range out.SecretList {
			if _, err := e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: s.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addCanary records a seeded value: secretexec's own output must never contain it. Values
// too short to be told apart from ordinary words are not tracked; nor are their lines.
func (e *emulator) addCanary(v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range append([]string{v}, strings.Split(v, "\n")...) {
		if s = strings.TrimSpace(s); len(s) >= 6 {
			e.current = append(e.current, s)
		}
	}
}

// value reads a script argument: "@FILE" is the content of a file in $WORK less the one
// newline that ends every txtar file (so a value ending in a newline is written with two).
func value(ts *testscript.TestScript, arg string) string {
	if strings.HasPrefix(arg, "@") {
		return strings.TrimSuffix(ts.ReadFile(arg[1:]), "\n")
	}
	return arg
}

func (e *emulator) cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	ctx := context.Background()
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// ssm-put [-string] NAME VALUE|@FILE: a SecureString (or String) parameter.
		"ssm-put": func(ts *testscript.TestScript, neg bool, args []string) {
			typ := ssmtypes.ParameterTypeSecureString
			if len(args) > 0 && args[0] == "-string" {
				typ, args = ssmtypes.ParameterTypeString, args[1:]
			}
			if len(args) != 2 {
				ts.Fatalf("usage: ssm-put [-string] NAME VALUE|@FILE")
			}
			v := value(ts, args[1])
			e.addCanary(v)
			_, err := e.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(args[0]), Value: aws.String(v), Type: typ, Overwrite: aws.Bool(true)})
			ts.Check(err)
		},
		// ssm-put-many PREFIX N: parameters PREFIX/P0001..PN with values "value-of-P0001-<n>".
		"ssm-put-many": func(ts *testscript.TestScript, neg bool, args []string) {
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			for i := 1; i <= n; i++ {
				name := fmt.Sprintf("%s/P%04d", args[0], i)
				v := fmt.Sprintf("value-of-P%04d-%d", i, i*7919)
				e.addCanary(v)
				_, err := e.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString})
				ts.Check(err)
			}
		},
		// sm-create ID VALUE|@FILE: a secret with a SecretString. -binary stores SecretBinary.
		"sm-create": func(ts *testscript.TestScript, neg bool, args []string) {
			in := &secretsmanager.CreateSecretInput{}
			if len(args) > 0 && args[0] == "-binary" {
				args = args[1:]
				if len(args) != 2 {
					ts.Fatalf("usage: sm-create [-binary] ID VALUE|@FILE")
				}
				in.SecretBinary = []byte(value(ts, args[1]))
			} else {
				if len(args) != 2 {
					ts.Fatalf("usage: sm-create [-binary] ID VALUE|@FILE")
				}
				v := value(ts, args[1])
				in.SecretString = aws.String(v)
				e.addCanary(v)
				if kvs, err := parseJSONForCanaries(v); err == nil {
					for _, kv := range kvs {
						e.addCanary(kv)
					}
				}
			}
			in.Name = aws.String(args[0])
			out, err := e.sm.CreateSecret(ctx, in)
			ts.Check(err)
			ts.Setenv("ARN_"+strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(args[0]), aws.ToString(out.ARN))
		},
	}
}
