package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"

	"github.com/secretexec/secretexec/ref"
)

// Options say how to talk to AWS and what a fetch accepts.
type Options struct {
	Region string // "" for the SDK's chain, an ARN's region, then instance metadata
	// DefaultRegion is used when neither Region nor the SDK's chain gives one, before the
	// ARNs' regions: the region of an ECS task definition's own ARN.
	DefaultRegion string
	Retries       int           // attempts per AWS request
	Timeout       time.Duration // the whole fetch's deadline, from which each attempt's limit is derived (AttemptTimeout)
	AppID         string        // the SDK's application id, sent in the User-Agent that CloudTrail records
	AllowEmpty    bool          // an empty path or JSON secret is not an error
	// Role, when set, is assumed with the chain's credentials, and every request is made
	// with the role's.
	Role *Role
	// Logf, when set, is told the region's origin, each retry and the SDK's own log lines
	// (instance-metadata fallbacks); never a value.
	Logf func(format string, args ...any)

	// For tests (export_test.go): a fixed backoff and attempt limit.
	backoff        retry.BackoffDelayer
	attemptTimeout time.Duration
}

// SetupError is a problem with the AWS configuration, found before any request: a broken
// profile, no region or a malformed one, no credentials.
type SetupError struct {
	Kind SetupKind
	Err  error
	// HopLimit: instance metadata accepted a connection but never answered the token
	// request, what a container on EC2 sees when the instance's PUT response hop limit is 1.
	HopLimit bool
	// Role is the role the missing credentials were to assume, or "".
	Role string
}

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// SetupKind says which part of the AWS configuration is wrong.
type SetupKind int

const (
	SetupConfig        SetupKind = iota + 1 // the shared files or the profile
	SetupNoRegion                           // no region anywhere
	SetupBadRegion                          // a region that is not a region's name
	SetupNoCredentials                      // no credentials, or none could be retrieved
)

// imdsTimeout bounds the instance-metadata region probe, and imdsCredsTimeout the first
// fetch of instance-role credentials, so that a laptop or a container that cannot reach IMDS
// fails in about a second instead of waiting for the SDK's longer defaults. On EC2, IMDS
// answers in about a millisecond.
const (
	imdsTimeout      = time.Second
	imdsCredsTimeout = time.Second
)

// New loads the SDK's configuration (the standard chain: environment, shared files, web
// identity, container and instance roles), settles the region, checks its shape and then
// that credentials exist, so that these problems are reported once, with a hint, before any
// source is fetched; then it builds the clients (NewFromConfig). The region comes from
// --region, the SDK's chain, o.DefaultRegion, the first ARN among sources and refs, or
// instance metadata, in that order. Instance metadata is asked only for what is still unknown: given a region and
// credentials, it is never contacted; when it is, one client asks it for both.
func New(ctx context.Context, o Options, sources []Source, refs []ref.VarRef) (*Fetcher, error) {
	// The SDK's own log lines (IMDS fallbacks, a response body it could not discard) are
	// secretexec's verbose lines: without a logger of ours the SDK writes them to stderr
	// itself, with --quiet too. The SDK logs no request or response bodies unless asked to.
	opts := []func(*config.LoadOptions) error{config.WithLogger(sdkLogger(o.Logf))}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &SetupError{Kind: SetupConfig, Err: fmt.Errorf("aws configuration: %w", err)}
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	watch := &imdsWatch{}
	var imdsClient *imds.Client
	imdsc := func() *imds.Client {
		if imdsClient == nil {
			imdsClient = imds.NewFromConfig(cfg, watch.options)
		}
		return imdsClient
	}
	if cfg.Region == "" && o.DefaultRegion != "" {
		cfg.Region = o.DefaultRegion
		logf("region %s, from the task definition's ARN", cfg.Region)
	}
	if cfg.Region == "" {
		if cfg.Region = ARNRegion(sources); cfg.Region != "" {
			logf("region %s, from a secret's ARN", cfg.Region)
		} else if cfg.Region = RefsRegion(refs); cfg.Region != "" {
			logf("region %s, from a reference's ARN", cfg.Region)
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
			logf("region %s, from instance metadata", cfg.Region)
		}
	}
	if cfg.Region == "" {
		return nil, &SetupError{Kind: SetupNoRegion, Err: errors.New("no AWS region configured"), HopLimit: watch.tokenTimedOut()}
	}
	if !ref.ValidRegion(cfg.Region) {
		return nil, &SetupError{Kind: SetupBadRegion, Err: fmt.Errorf("%q is not a valid AWS region name", cfg.Region)}
	}
	if cfg.Credentials == nil {
		return nil, errNoCredentials(nil, false, o.Role)
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
	// Every credential failure, now or at a later refresh, is summarised by its kind
	// (CredentialsError), never formatted whole: a provider's answer may hold credentials.
	cfg.Credentials = summarise(cfg.Credentials)
	if _, err := cfg.Credentials.Retrieve(credCtx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("getting AWS credentials: %w", ctx.Err())
		}
		if credCtx.Err() != nil {
			err = fmt.Errorf("instance metadata gave no role credentials within %s", imdsCredsTimeout)
		}
		return nil, errNoCredentials(err, watch.tokenTimedOut(), o.Role)
	}
	if o.Role != nil {
		if err := assumeRole(ctx, &cfg, o.Role); err != nil {
			return nil, err
		}
		logf("credentials of role %s, session %s", o.Role.ARN, o.Role.SessionName)
	}
	f := NewFromConfig(cfg, o)
	if o.Role != nil {
		f.Role = o.Role.ARN
	}
	return f, nil
}

// NewFromConfig builds the SSM and Secrets Manager clients from cfg: every client the
// command and its tests use is built here, with secretexec's retryer (--retries, the
// standard retryer), the per-attempt limit and attempt count (withAttempts), the
// application id and the logger. AWS_MAX_ATTEMPTS and AWS_RETRY_MODE, usually set for the
// command's own SDK, only pass through secretexec's environment: --retries decides.
func NewFromConfig(cfg aws.Config, o Options) *Fetcher {
	perAttempt := AttemptTimeout(o.Timeout)
	if o.attemptTimeout > 0 {
		perAttempt = o.attemptTimeout
	}
	retryer := newRetryer(o)
	cfg.Retryer = func() aws.Retryer { return retryer }
	cfg.RetryMaxAttempts, cfg.RetryMode = 0, ""
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), withAttempts(perAttempt))
	if o.AppID != "" {
		cfg.AppID = o.AppID
	}
	cfg.Logger = sdkLogger(o.Logf)
	if cfg.HTTPClient == nil {
		// One transport for both services: their connections share its pool and setup.
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	return &Fetcher{
		SSM:        ssm.NewFromConfig(cfg),
		Secrets:    &lazySecrets{cfg: cfg},
		Region:     cfg.Region,
		AllowEmpty: o.AllowEmpty,
	}
}

// sdkLogger is the SDK's logger: logf (secretexec's verbose lines), or nothing at all.
func sdkLogger(logf func(string, ...any)) logging.Logger {
	if logf == nil {
		return logging.Nop{}
	}
	return logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		logf("aws sdk: "+format, v...)
	})
}

func errNoCredentials(cause error, tokenTimedOut bool, role *Role) error {
	what := "no AWS credentials found"
	se := &SetupError{Kind: SetupNoCredentials, HopLimit: tokenTimedOut}
	if role != nil {
		// The step that failed is the first of two: the credentials that assume the role.
		what = "no AWS credentials found to assume role " + role.ARN + " with"
		se.Role = role.ARN
	}
	se.Err = errors.New(what)
	if cause != nil {
		se.Err = fmt.Errorf("%s: %w", what, cause)
	}
	return se
}

// imdsWatch configures the IMDS client secretexec makes and watches its HTTP requests for
// the one symptom worth a specific hint: a connection to IMDS that was accepted but whose
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

// lazySecrets is the Secrets Manager client, built on first use: a start that reads no
// secret does not pay for building it (bench/README.md).
type lazySecrets struct {
	cfg  aws.Config
	once sync.Once
	c    *secretsmanager.Client
}

func (l *lazySecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	l.once.Do(func() { l.c = secretsmanager.NewFromConfig(l.cfg) })
	return l.c.GetSecretValue(ctx, in, optFns...)
}
