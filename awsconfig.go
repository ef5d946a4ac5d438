package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/awsapi"
)

type clients struct {
	ssm     fetch.SSMAPI
	secrets fetch.SecretsAPI
	region  string
}

// imdsTimeout bounds the instance-metadata region probe, and imdsCredsTimeout the first
// fetch of instance-role credentials, so that a laptop or a container that cannot reach IMDS
// fails in about a second instead of waiting for the SDK's longer defaults. On EC2, IMDS
// answers in about a millisecond.
const (
	imdsTimeout      = time.Second
	imdsCredsTimeout = time.Second
)

// newClients loads the SDK's configuration (the standard chain: environment, shared files,
// container and instance roles), settles the region and checks that credentials exist, so
// that these problems are reported once, with a hint, before any source is fetched. It asks
// instance metadata only for what is still unknown: given a region and credentials, IMDS is
// never contacted.
func newClients(ctx context.Context, c *config, lg *logger) (*clients, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		// Our own retryer: --retries is secretexec's attempt count, and with a retryer given
		// LoadDefaultConfig leaves AWS_MAX_ATTEMPTS and AWS_RETRY_MODE alone — usually set
		// for the command's own SDK, they only pass through secretexec's environment.
		awsconfig.WithRetryer(func() aws.Retryer {
			// Throttled calls back off with full jitter, b*min(1s*2^i, MaxBackoff), b uniform
			// in [0,1) (the SDK's standard backoff): a fleet starting at once spreads out
			// instead of retrying in lockstep. 5s caps one wait so that ten attempts fit in
			// the default --timeout. The adaptive retryer (client-side rate limiting) was
			// measured against it with TestFleet (100 processes, 40 req/s): it halves the
			// throttled calls (~400 vs ~680) but its slowest start was 12.5-17.3s against
			// 11.9-12.6s here; a one-shot process learns too little to pace itself, and the
			// tail is what meets the deadline.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.retries
				o.MaxBackoff = 5 * time.Second
				// The client-side retry quota exists to shed load from long-lived
				// processes; one start-up burst must not give up on throttling that the
				// deadline (--timeout) already bounds.
				o.RateLimiter = ratelimit.None
			})
		}),
		// The SDK's own log lines (retries, IMDS fallbacks) are for --verbose only: stderr
		// keeps one shape. The SDK logs no request or response bodies unless asked to.
		awsconfig.WithLogger(logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
			lg.verbosef("aws sdk: "+format, v...)
		})),
	}
	if c.region != "" {
		opts = append(opts, awsconfig.WithRegion(c.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &hintError{err: fmt.Errorf("aws configuration: %w", err), hint: "check AWS_PROFILE, AWS_CONFIG_FILE and the profile's settings"}
	}
	watch := &imdsWatch{}
	// One IMDS client for the region and the role credentials: one token for both.
	var imdsClient *imds.Client
	imdsc := func() *imds.Client {
		if imdsClient == nil {
			imdsClient = imds.NewFromConfig(cfg, watch.options)
		}
		return imdsClient
	}
	if cfg.Region == "" {
		cfg.Region = fetch.ARNRegion(c.sources)
		if cfg.Region != "" {
			lg.verbosef("region %s, from a secret's ARN", cfg.Region)
		} else if cfg.Region = fetch.RefsRegion(c.refs); cfg.Region != "" {
			lg.verbosef("region %s, from a reference's ARN", cfg.Region)
		}
	}
	if cfg.Region == "" {
		// The IMDS client honours AWS_EC2_METADATA_DISABLED (from cfg's sources) itself,
		// failing at once without a request.
		rctx, cancel := context.WithTimeout(ctx, imdsTimeout)
		out, err := imdsc().GetRegion(rctx, &imds.GetRegionInput{})
		cancel()
		if err == nil && out.Region != "" {
			cfg.Region = out.Region
			lg.verbosef("region %s, from instance metadata", cfg.Region)
		}
	}
	if cfg.Region == "" {
		hint := "pass --region us-east-1 (or set AWS_REGION)"
		if watch.tokenTimedOut() {
			hint += "; " + hopLimitHint
		}
		return nil, &hintError{err: errors.New("no AWS region configured"), hint: hint}
	}
	if err := awsapi.CheckRegion(cfg.Region); err != nil {
		return nil, &hintError{err: err, hint: "a region is a name like us-east-1; check --region, AWS_REGION and the profile"}
	}
	if cfg.Credentials == nil {
		return nil, errNoCredentials(nil, false)
	}
	credCtx := ctx
	if cc, ok := cfg.Credentials.(*aws.CredentialsCache); ok && cc.IsCredentialsProvider(&ec2rolecreds.Provider{}) {
		// The chain found nothing but the instance role: ask IMDS with short timeouts and
		// few retries, and notice a token request that gets no answer (hop limit 1).
		cfg.Credentials = aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) {
			o.Client = imdsc()
		}))
		var cancel context.CancelFunc
		credCtx, cancel = context.WithTimeout(ctx, imdsCredsTimeout)
		defer cancel()
	}
	if _, err := cfg.Credentials.Retrieve(credCtx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("getting AWS credentials: %w", ctx.Err())
		}
		var se *smithyhttp.RequestSendError
		switch {
		case credCtx.Err() != nil:
			err = fmt.Errorf("instance metadata gave no role credentials within %s", imdsCredsTimeout)
		case credCtx != ctx && errors.As(err, &se) && se.Err != nil:
			err = fmt.Errorf("instance metadata unreachable: %w", se.Err)
		}
		return nil, errNoCredentials(err, watch.tokenTimedOut())
	}
	if cfg.HTTPClient == nil {
		// One transport for both services: their connections share its pool and setup.
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	ac := awsapi.Config{AWS: cfg, AttemptTimeout: fetch.AttemptTimeout(c.timeout), UserAgent: userAgent(), Logf: lg.verbosef}
	return &clients{ssm: awsapi.NewSSM(ac), secrets: awsapi.NewSecretsManager(ac), region: cfg.Region}, nil
}

const hopLimitHint = "instance metadata did not answer the token request; from a container on EC2 it needs hop limit 2: aws ec2 modify-instance-metadata-options --instance-id ID --http-put-response-hop-limit 2"

func errNoCredentials(cause error, tokenTimedOut bool) error {
	hint := "give the task or instance a role, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
	if tokenTimedOut {
		hint = hopLimitHint
	}
	err := errors.New("no AWS credentials found")
	if cause != nil {
		err = fmt.Errorf("no AWS credentials found: %w", cause)
	}
	return &hintError{err: err, hint: hint}
}

// imdsWatch configures the IMDS clients secretexec makes and watches their HTTP requests
// for the one symptom worth a specific hint: a connection to IMDS that was accepted but whose
// token request (PUT /latest/api/token) got no answer. That is what a container on EC2 sees
// when the instance's PUT response hop limit is 1: the answer is dropped one hop short.
type imdsWatch struct {
	mu       sync.Mutex
	timedOut bool
}

func (w *imdsWatch) tokenTimedOut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.timedOut
}

// options are the IMDS client options: the SDK's IMDS timeouts (250ms to connect, 500ms to
// the answer's headers) and two attempts, instead of the fetch retryer's ten.
func (w *imdsWatch) options(o *imds.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 2
		so.MaxBackoff = 100 * time.Millisecond
		so.RateLimiter = ratelimit.None
	})
	o.DisableDefaultMaxBackoff = true // else the IMDS client swaps in a backoff of up to 1s
	o.HTTPClient = &watchedClient{w: w, c: awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 250 * time.Millisecond }).
		WithTransportOptions(func(tr *http.Transport) { tr.ResponseHeaderTimeout = 500 * time.Millisecond })}
}

type watchedClient struct {
	w *imdsWatch
	c aws.HTTPClient
}

func (wc *watchedClient) Do(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut || req.URL.Path != "/latest/api/token" {
		return wc.c.Do(req)
	}
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }}
	resp, err := wc.c.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	var ne net.Error
	if err != nil && connected.Load() && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)) {
		wc.w.mu.Lock()
		wc.w.timedOut = true
		wc.w.mu.Unlock()
	}
	return resp, err
}
