// Package awsapi is a small client for the four AWS calls secretexec makes: SSM's
// GetParametersByPath, GetParameters and DescribeParameters, and Secrets Manager's
// GetSecretValue, over AWS's JSON 1.1 protocol.
//
// The SDK's service packages cost every start more than the calls themselves: their package
// initialisation (the ssm package's shape schemas alone: ~2 ms and 1.4 MB), endpoint rules
// and middleware stacks. This package keeps what matters from the SDK — aws.Config (region,
// credential chain, HTTP client, retryer, configured endpoints), the SigV4 signer, the
// standard retryer's decisions and error types (smithy.APIError, smithyhttp.ResponseError,
// retry.MaxAttemptsError) — and does the rest in a few hundred lines: a JSON body, one
// signed POST per attempt, the retry loop, and AWS's error answer decoded. bench/README.md
// records what it bought; endpoint_test.go checks its endpoints against the SDK's rules.
package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Config is what the clients are built from.
type Config struct {
	// AWS gives the region, credentials, HTTP client (nil: the SDK's default), retryer (nil:
	// retry.NewStandard) and configured endpoints (BaseEndpoint and ConfigSources, as
	// config.LoadDefaultConfig fills them). RetryMaxAttempts and RetryMode are not read:
	// the retryer says how often to try (secretexec's --retries).
	AWS aws.Config
	// AttemptTimeout bounds each attempt (connect, send, answer); 0 leaves only ctx.
	AttemptTimeout time.Duration
	// UserAgent is sent as User-Agent; AWS records it in CloudTrail.
	UserAgent string
	// Logf, when set, is told about retries.
	Logf func(format string, args ...any)
}

// maxAnswer bounds an answer's body. The largest real one is a 64 KiB binary secret in
// base64 or ten 8 KiB parameters; anything near this is not AWS.
const maxAnswer = 8 << 20

// Client makes signed JSON 1.1 calls to one service.
type Client struct {
	cfg     Config
	svc     service
	http    aws.HTTPClient
	retryer aws.Retryer
	signer  *v4.Signer
	ep      endpointConfig
	skew    atomic.Int64 // server time - local time, learnt from a clock-skew answer
}

func newClient(cfg Config, svc service) *Client {
	c := &Client{cfg: cfg, svc: svc, http: cfg.AWS.HTTPClient, signer: v4.NewSigner()}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	if cfg.AWS.Retryer != nil {
		c.retryer = cfg.AWS.Retryer()
	}
	if c.retryer == nil {
		c.retryer = retry.NewStandard()
	}
	c.ep = resolveEndpointConfig(cfg.AWS, svc)
	return c
}

// call makes one operation, retried as the retryer decides. It returns how many attempts
// it made; a failed call's error is an *AttemptsError around the last error.
func (c *Client) call(ctx context.Context, op string, in, out any, optFns []func(*Options)) (Metadata, error) {
	o := Options{Region: c.cfg.AWS.Region}
	for _, fn := range optFns {
		fn(&o)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return Metadata{}, err
	}
	url, err := c.ep.url(o.Region)
	if err != nil {
		return Metadata{}, err
	}
	var md Metadata
	var last error // the last attempt's failure that was not the caller's cancellation
	err = c.retry(ctx, op, func(ctx context.Context) error {
		md.Attempts++
		err := c.timed(ctx, func(actx context.Context) error {
			return c.attempt(actx, op, url, o.Region, body, out)
		})
		if err != nil && ctx.Err() == nil {
			last = err
		}
		return err
	})
	if err != nil {
		return md, &AttemptsError{Attempts: md.Attempts, Last: last, Err: err}
	}
	return md, nil
}

// retry runs attempt as the SDK's retry middleware does: a token per attempt, the
// retryer's verdict on each error, its delay (stretched to x-amz-retry-after within 5 s),
// and retry.MaxAttemptsError when attempts run out.
func (c *Client) retry(ctx context.Context, op string, attempt func(context.Context) error) error {
	maxAttempts := c.retryer.MaxAttempts()
	releaseRetry := func(error) error { return nil }
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return &aws.RequestCanceledError{Err: err}
		}
		// The first attempt's token credits the retryer's rate limiter when it succeeds;
		// a retry's success refunds its retry token instead (as the SDK's middleware does).
		releaseAttempt := func(error) error { return nil }
		if n == 1 {
			releaseAttempt = c.retryer.GetInitialToken()
			if r2, ok := c.retryer.(aws.RetryerV2); ok {
				var err error
				if releaseAttempt, err = r2.GetAttemptToken(ctx); err != nil {
					return fmt.Errorf("failed to get retry Send token, %w", err)
				}
			}
		}
		err := attempt(ctx)
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		if err == nil {
			return nil
		}
		if !c.retryer.IsErrorRetryable(err) {
			return err
		}
		if maxAttempts > 0 && n >= maxAttempts {
			return &retry.MaxAttemptsError{Attempt: n, Err: err}
		}
		var terr error
		if releaseRetry, terr = c.retryToken(ctx, err); terr != nil {
			return terr
		}
		delay, derr := c.retryer.RetryDelay(n, err)
		if derr != nil {
			return derr
		}
		delay = retryAfter(delay, err)
		if c.cfg.Logf != nil {
			c.cfg.Logf("%s %s: attempt %d failed (%s), retrying in %s", c.svc.id, op, n, Brief(err), delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return &aws.RequestCanceledError{Err: ctx.Err()}
		case <-t.C:
		}
	}
}

func (c *Client) retryToken(ctx context.Context, err error) (func(error) error, error) {
	release, terr := c.retryer.GetRetryToken(ctx, err)
	if terr != nil {
		return nil, errors.Join(err, terr)
	}
	return release, nil
}

// timed runs one attempt within the attempt timeout. An attempt cut short by that limit,
// not by the caller, is an *AttemptTimeoutError, which the retryer retries.
func (c *Client) timed(ctx context.Context, attempt func(context.Context) error) error {
	if c.cfg.AttemptTimeout <= 0 {
		return attempt(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	err := attempt(actx)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return &AttemptTimeoutError{Limit: c.cfg.AttemptTimeout}
	}
	return err
}

// Brief is a failure in a line: AWS's code and message ("ThrottlingException: Rate
// exceeded") when AWS answered, without the operation, status and request id around them.
func Brief(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if m := apiErr.ErrorMessage(); m != "" {
			return apiErr.ErrorCode() + ": " + m
		}
		return apiErr.ErrorCode()
	}
	return err.Error()
}

// retryAfter stretches the retryer's delay to AWS's x-amz-retry-after (milliseconds), by
// at most 5 s, as the SDK does.
func retryAfter(delay time.Duration, err error) time.Duration {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return delay
	}
	var ms int64
	if _, serr := fmt.Sscanf(re.Response.Header.Get("X-Amz-Retry-After"), "%d", &ms); serr != nil || ms < 0 {
		return delay
	}
	return min(max(time.Duration(ms)*time.Millisecond, delay), delay+5*time.Second)
}

// attempt sends one signed request and decodes the answer into out.
func (c *Client) attempt(ctx context.Context, op, url, region string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", c.svc.target+"."+op)
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	creds, err := c.cfg.AWS.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("getting AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	skew := time.Duration(c.skew.Load())
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.svc.signingName, region, time.Now().Add(skew).UTC()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil { // as the SDK's HTTP handler: cancellation is not a send error
			return &smithy.CanceledError{Err: ctx.Err()}
		}
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.errorAnswer(op, resp, data, skew)
	}
	if err != nil {
		return &DecodeError{Err: err}
	}
	if len(data) > maxAnswer {
		return &DecodeError{Err: fmt.Errorf("answer larger than %d bytes", maxAnswer)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &DecodeError{Err: err}
	}
	return nil
}

// errorAnswer turns an error answer into the SDK's error chain: an OperationError around
// an awshttp.ResponseError (status and request id) around the AWS error code and message,
// so that the retryer and errors.As(err, &smithy.APIError) see what they would see from
// the SDK's own client.
func (c *Client) errorAnswer(op string, resp *http.Response, data []byte, skew time.Duration) error {
	var e struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(data, &e) // a body that is not JSON still has a status
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = e.Type
	}
	if code == "" {
		code = e.Code
	}
	// "aws.protocoltests#FooError:http://..." or "com.amazonaws.ssm#ParameterNotFound"
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
		if code == "" {
			code = fmt.Sprintf("HTTP%d", resp.StatusCode)
		}
		code = strings.ReplaceAll(code, " ", "")
	}
	msg := e.Message
	if msg == "" {
		msg = e.MessageU
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	var err error = &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
	err = &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
		RequestID:     resp.Header.Get("X-Amzn-Requestid"),
	}
	if serverSkew, ok := c.clockSkew(code, resp, skew); ok {
		c.skew.Store(int64(serverSkew))
		err = &clockSkewError{Err: err}
	}
	return &smithy.OperationError{ServiceID: c.svc.id, OperationName: op, Err: err}
}

// clockSkewCodes are the answers AWS gives a request signed with a time too far off.
var clockSkewCodes = map[string]bool{
	"InvalidSignatureException": true, "SignatureDoesNotMatch": true, "AuthFailure": true,
	"RequestTimeTooSkewed": true, "AccessDeniedException": true,
}

// clockSkew reports the server's offset from the local clock when the answer is a
// clock-skew code and the request's signing time was more than 4 minutes off the answer's
// Date (AWS accepts 5): then the next attempt is signed with the server's time and the
// error is retried, as the SDK does.
func (c *Client) clockSkew(code string, resp *http.Response, used time.Duration) (time.Duration, bool) {
	if !clockSkewCodes[code] {
		return 0, false
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, false
	}
	server := time.Until(date)
	d := server - used
	if d < 0 {
		d = -d
	}
	return server, d > 4*time.Minute
}
