package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/secretexec/secretexec/internal/logattr"
)

// Every AWS call is retried by the SDK's standard retryer, in the SDK's retry middleware:
// its decisions (throttling, 5xx, connection errors, clock skew), its exponential backoff
// with full jitter (a 1s base for throttling, 50ms for the rest) and x-amz-retry-after.
// secretexec sets how many attempts (--retries), caps one wait, turns the client-side retry
// quota off, adds undecodable answers to what is retried, bounds each attempt, counts the
// attempts of a call, and says each retry under --verbose: all through the retryer's options
// and two small middlewares (withAttempts).

// maxBackoff caps one wait between attempts, so that ten attempts fit in the default
// --timeout.
const maxBackoff = 5 * time.Second

// newRetryer is the retryer of the SSM and Secrets Manager clients.
//
// Throttled calls back off with full jitter: a fleet starting at once spreads out instead of
// retrying in lockstep. The adaptive retryer (client-side rate limiting) was measured against
// it with TestFleet (bench/README.md): a one-shot process learns too little to pace itself,
// and its slowest starts were slower.
func newRetryer(o Options) aws.Retryer {
	r := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.Retries
		so.MaxBackoff = maxBackoff
		// First: the SDK's connection check would retry a failed handshake.
		so.Retryables = append([]retry.IsErrorRetryable{noRetryTLS}, so.Retryables...)
		so.Retryables = append(so.Retryables, retryGarbled)
		// The client-side retry quota exists to shed load from long-lived processes; one
		// start-up burst must not give up on throttling that --timeout already bounds.
		so.RateLimiter = ratelimit.None
		if o.backoff != nil {
			so.Backoff = o.backoff
		}
	})
	if o.Logf == nil {
		return r
	}
	return &loggedRetryer{RetryerV2: r, logf: o.Logf}
}

// retryGarbled is what secretexec adds to the SDK's retry.DefaultRetryables: a successful
// answer whose body cannot be decoded (cut short or mangled on the way) is retried like a
// connection error. Error answers are left to the SDK's own rules, decodable or not.
var retryGarbled = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if garbled(err) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// noRetryTLS is what secretexec puts before the SDK's retry.DefaultRetryables: a TLS
// handshake that failed on what the other end sent (it does not speak TLS, as when an
// https:// endpoint is a plain-HTTP port, or its certificate is not trusted) fails the same
// way on every attempt, so it is reported at once instead of retried until --timeout.
var noRetryTLS = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if TLSRefused(err) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

// TLSRefused reports whether err is a TLS handshake refused for what the server sent.
func TLSRefused(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return NotTLS(err) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// NotTLS reports whether err is a TLS handshake answered by something that does not speak
// TLS (net/http says so with ErrSchemeMismatch when the answer was plain HTTP).
func NotTLS(err error) bool {
	var rh tls.RecordHeaderError
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &rh)
}

// garbled reports whether err is a successful answer (HTTP 2xx) that could not be decoded.
func garbled(err error) bool {
	var de *smithy.DeserializationError
	var apiErr smithy.APIError
	if !errors.As(err, &de) || errors.As(err, &apiErr) {
		return false
	}
	status, ok := httpStatus(err)
	return !ok || status/100 == 2
}

// httpStatus is the HTTP status of the answer behind err, if one came.
func httpStatus(err error) (int, bool) {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return re.HTTPStatusCode(), true
	}
	return 0, false
}

// loggedRetryer is the retryer under --verbose: it says each retry, with the failed
// attempt's cause and the wait before the next one. It never sees a value: an error
// answer's code and message, or what went wrong on the way.
type loggedRetryer struct {
	aws.RetryerV2
	logf func(format string, args ...any)
}

func (r *loggedRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if derr != nil {
		return d, derr
	}
	call := "AWS call"
	var ae *attemptError
	if errors.As(err, &ae) {
		call = ae.service + " " + ae.op
	}
	asks := ""
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Header.Get("X-Amz-Retry-After") != "" {
		// The SDK waits as AWS asks, between d and d+5s.
		asks = fmt.Sprintf(" or as AWS asks (x-amz-retry-after %sms)", re.Response.Header.Get("X-Amz-Retry-After"))
	}
	r.logf("%s: attempt %d failed (%s), retrying in %s%s", call, logattr.Attempt(attempt), brief(err), logattr.Delay(d.Round(time.Millisecond)), asks)
	return d, derr
}

// AttemptTimeout is how long one attempt of an AWS call may take (connect, send, answer)
// within the overall deadline total: a quarter of it, at least 1s and at most 5s. SSM and
// Secrets Manager answer in tens of milliseconds, so an attempt that has not answered in
// seconds is a hung connection (a dropped NAT mapping, a stalled proxy) that a fresh one
// can get past, and one such connection must not use up all of --timeout.
func AttemptTimeout(total time.Duration) time.Duration {
	return min(5*time.Second, max(time.Second, total/4))
}

// withAttempts returns the SDK APIOptions entry that bounds each attempt of every call by
// perAttempt (an attempt cut short is retried like a timeout) and records, per call, how
// many attempts were made and how the last complete one failed, so that an error after
// retries, or a deadline reached while backing off, still says what AWS answered.
func withAttempts(perAttempt time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if err := stack.Finalize.Insert(callRecorder{}, "Retry", middleware.Before); err != nil {
			return err
		}
		return stack.Finalize.Insert(attemptLimit{d: perAttempt}, "Retry", middleware.After)
	}
}

type recordKey struct{}

// callRecord is one call's attempts; they run one after another, so it needs no lock.
type callRecord struct {
	attempts int
	last     error // the last attempt's error that was not the caller's cancellation
}

// callRecorder wraps the whole call, retries included.
type callRecorder struct{}

func (callRecorder) ID() string { return "secretexecCallRecorder" }

func (callRecorder) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	rec := &callRecord{}
	out, md, err := next.HandleFinalize(context.WithValue(ctx, recordKey{}, rec), in)
	if err != nil && rec.attempts > 0 {
		err = &AttemptsError{Attempts: rec.attempts, Last: rec.last, Err: err}
	}
	return out, md, err
}

// attemptLimit runs once per attempt, inside the SDK's retry loop.
type attemptLimit struct{ d time.Duration }

func (attemptLimit) ID() string { return "secretexecAttemptLimit" }

func (m attemptLimit) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	rec, _ := ctx.Value(recordKey{}).(*callRecord)
	if rec != nil {
		rec.attempts++
	}
	actx, cancel := context.WithTimeout(ctx, m.d)
	defer cancel() // the answer has been read and decoded when next returns
	out, md, err := next.HandleFinalize(actx, in)
	if err == nil {
		return out, md, nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		// The SDK takes a cancelled context as final; this one is our own limit, not the
		// caller's, so it becomes an error the retryer does retry.
		err = &AttemptTimeoutError{Limit: m.d}
	}
	if rec != nil && ctx.Err() == nil {
		rec.last = err
	}
	return out, md, &attemptError{service: awsmiddleware.GetServiceID(ctx), op: awsmiddleware.GetOperationName(ctx), err: err}
}

// attemptError is one failed attempt, with the call it belongs to, for --verbose.
type attemptError struct {
	service, op string
	err         error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// attemptCount is how many attempts a successful call made.
func attemptCount(md middleware.Metadata) int {
	if r, ok := retry.GetAttemptResults(md); ok {
		return len(r.Results)
	}
	return 1
}

// AttemptTimeoutError is one attempt that got no complete answer within its time.
type AttemptTimeoutError struct{ Limit time.Duration }

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %s", e.Limit)
}

// RetryableError tells the SDK's retryer to try again.
func (e *AttemptTimeoutError) RetryableError() bool { return true }

// Timeout marks it as a timeout for the SDK and for net.Error checks.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// AttemptsError is an AWS call that failed, with how many attempts it made. Err is the
// call's final error; Last is the last attempt's own failure, which differs from Err when
// the deadline or a signal ended the call while it was backing off or waiting.
type AttemptsError struct {
	Attempts int
	Last     error
	Err      error
}

func (e *AttemptsError) Error() string { return e.Err.Error() }

// Unwrap gives both errors, Err first, so errors.Is finds the cancellation and errors.As
// finds the AWS error code even when only the last attempt saw it.
func (e *AttemptsError) Unwrap() []error {
	if e.Last == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Last}
}

// errGarbled is said of an answer that could not be decoded; the decoder's own message
// can quote the body, which may hold secret values.
const errGarbled = "the answer from AWS could not be decoded (truncated or not JSON)"

// shortError turns an error that is not an AWS answer into a short message. Messages that
// could quote the response body (decoding errors, here and in the credential providers:
// STS, SSO, instance metadata, whose bodies hold credentials) are replaced entirely.
func shortError(err error) error {
	var ate *AttemptTimeoutError
	var de *smithy.DeserializationError
	var se *smithyhttp.RequestSendError
	var ne net.Error
	var ce *CredentialsError
	switch {
	case errors.As(err, &ce):
		// A refresh that failed while signing: the summary, never the SDK's message.
		return &sdkError{msg: "getting AWS credentials: " + ce.Error(), err: ce}
	case errors.As(err, &ate):
		return &sdkError{msg: ate.Error(), err: err}
	case errors.As(err, &de):
		if status, ok := httpStatus(err); ok && status/100 != 2 {
			// An error answer that is not AWS's JSON: a proxy or load balancer in the way.
			return &sdkError{msg: notAWS(status), err: err}
		}
		return &sdkError{msg: errGarbled, err: err}
	case errors.As(err, &se) && se.Err != nil:
		msg := se.Err.Error()
		if errors.As(se.Err, &ne) {
			msg = ne.Error()
		}
		return &sdkError{msg: "could not reach AWS: " + msg, err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &sdkError{msg: "no answer before the deadline", err: err}
	case errors.Is(err, context.Canceled):
		return &sdkError{msg: "cancelled", err: err}
	}
	// "exceeded maximum number of attempts, N, ...": the count is said once, by Error.
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) && me.Err != nil {
		return &sdkError{msg: shortError(me.Err).Error(), err: err}
	}
	return err
}

// sdkError is a shortened message that still unwraps to the SDK's error.
type sdkError struct {
	msg string
	err error
}

func (e *sdkError) Error() string { return e.msg }
func (e *sdkError) Unwrap() error { return e.err }

// brief is a failure in a line: AWS's code and message ("ThrottlingException: Rate
// exceeded") when AWS answered, without the operation, status and request id around them.
func brief(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if m := apiErr.ErrorMessage(); m != "" {
			return apiErr.ErrorCode() + ": " + m
		}
		return apiErr.ErrorCode()
	}
	return shortError(err).Error()
}
