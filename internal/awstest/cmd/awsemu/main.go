// Command awsemu runs the project's AWS emulator (kumo behind the awstest fault proxy) for
// benchmarks and manual runs: it seeds it, prints the proxy URL and serves until killed or,
// by default, until its standard input closes.
//
//	awsemu [-latency 2ms] [-rate 40 -burst 40] [-seed FILE] [-fault LINE]... [-ssm NAME=VALUE]...
//	       [-ssm-secure NAME=VALUE]... [-sm ID=SECRETSTRING]... [-stdin=false]
//
// Typical use from a shell (the first line of output is the URL). The emulator checks request
// signatures as AWS does and knows only the test credentials (awstest.AccessKeyID and
// awstest.SecretAccessKey, "test" and "test"):
//
//	awsemu -seed seed.txt -stdin=false >url.txt & sleep 1
//	AWS_ENDPOINT_URL=$(head -n1 url.txt) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//		secretexec --ssm-path /app/prod -- env
//
// The seed file format is awstest.Server.Load's (ssm, ssm-secure, sm, label, fault,
// latency, rate lines).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("awsemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	latency := fs.Duration("latency", 0, "added latency per request, e.g. 2ms")
	rate := fs.Float64("rate", 0, "token-bucket rate limit in requests per second (0: none)")
	burst := fs.Int("burst", 0, "token-bucket size (default: the rate, at least 1)")
	seedFile := fs.String("seed", "", "seed file (ssm/ssm-secure/sm/label/fault/latency/rate lines)")
	watchStdin := fs.Bool("stdin", true, "exit when standard input closes")
	var faults, params, secure, secrets list
	fs.Var(&faults, "fault", "fault `LINE`, e.g. 'GetParametersByPath throttle 3' (repeatable)")
	fs.Var(&params, "ssm", "String parameter `NAME=VALUE` (repeatable)")
	fs.Var(&secure, "ssm-secure", "SecureString parameter `NAME=VALUE` (repeatable)")
	fs.Var(&secrets, "sm", "secret `ID=SECRETSTRING` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "awsemu: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	srv, err := awstest.Start()
	if err != nil {
		fmt.Fprintf(stderr, "awsemu: error: %v\n", err)
		return 1
	}
	defer srv.Close()
	if err := seed(ctx, srv, *seedFile, params, secure, secrets, faults); err != nil {
		fmt.Fprintf(stderr, "awsemu: error: %v\n", err)
		return 1
	}
	if *latency > 0 {
		srv.SetLatency(*latency)
	}
	if *rate > 0 {
		b := *burst
		if b <= 0 {
			b = max(1, int(*rate))
		}
		srv.SetRateLimit(*rate, b)
	}
	fmt.Fprintln(stdout, srv.URL)

	if *watchStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			cancel()
		}()
	}
	<-ctx.Done()
	return 0
}

func seed(ctx context.Context, srv *awstest.Server, file string, params, secure, secrets, faults list) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := srv.Load(ctx, f); err != nil {
			return fmt.Errorf("seed file %q: %w", file, err)
		}
	}
	for _, ps := range []struct {
		flag   string
		kvs    list
		secure bool
	}{{"-ssm", params, false}, {"-ssm-secure", secure, true}} {
		for i, kv := range ps.kvs {
			name, value, ok := strings.Cut(kv, "=")
			if !ok {
				// Not quoted: an argument without "=" may be a value typed in the wrong place.
				return fmt.Errorf("%s number %d has no \"=\": want NAME=VALUE", ps.flag, i+1)
			}
			if err := srv.PutParameter(ctx, name, value, ps.secure); err != nil {
				return err
			}
		}
	}
	for i, kv := range secrets {
		id, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("-sm number %d has no \"=\": want ID=SECRETSTRING", i+1)
		}
		if _, err := srv.CreateSecret(ctx, id, value); err != nil {
			return err
		}
	}
	for _, line := range faults {
		if err := srv.AddFaultText(line); err != nil {
			return err
		}
	}
	return nil
}
