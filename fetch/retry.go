package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// AttemptTimeout is how long one attempt of an AWS call may take (connect, send, answer)
// within the overall deadline total: a quarter of it, at least 1s and at most 5s. SSM and
// Secrets Manager answer in tens of milliseconds, so an attempt that has not answered in
// seconds is a hung connection (a dropped NAT mapping, a stalled proxy) that a fresh one
// can get past, and one such connection must not use up all of --timeout.
func AttemptTimeout(total time.Duration) time.Duration {
	return min(5*time.Second, max(time.Second, total/4))
}

// WithAttempts returns an SDK APIOptions entry that bounds each attempt of every call by
// perAttempt (an attempt cut short is retried like a timeout) and records, per call, how many
// attempts were made and how the last complete one failed, so that an error after retries,
// or a deadline reached while backing off, still says what AWS answered.
func WithAttempts(perAttempt time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if err := stack.Finalize.Add(callRecorder{}, middleware.Before); err != nil {
			return err
		}
		limit := attemptLimit{d: perAttempt}
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(limit, "Retry", middleware.After)
		}
		return stack.Finalize.Add(limit, middleware.After)
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
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		// The SDK reports a cancelled context as not retryable; this one is our own limit,
		// not the caller's, so it becomes an error the retryer does retry.
		err = &AttemptTimeoutError{Limit: m.d}
	}
	if rec != nil && err != nil && ctx.Err() == nil {
		rec.last = err
	}
	return out, md, err
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

// RetryGarbled is the check secretexec adds to the SDK's retry.DefaultRetryables: an answer
// that cannot be decoded (a body cut short or mangled on the way) is retried like a
// connection error. AWS error answers are left to the SDK's own rules.
var RetryGarbled retry.IsErrorRetryable = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	var de *smithy.DeserializationError
	var apiErr smithy.APIError
	if errors.As(err, &de) && !errors.As(err, &apiErr) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// shortError turns an SDK error that is not an AWS answer into a short message. Messages
// that could quote the response body (decoding errors) are replaced entirely: the body may
// hold secret values.
func shortError(err error) error {
	var ate *AttemptTimeoutError
	var de *smithy.DeserializationError
	var se *smithyhttp.RequestSendError
	var ne net.Error
	switch {
	case errors.As(err, &ate):
		return &sdkError{msg: ate.Error(), err: err}
	case errors.As(err, &de):
		return &sdkError{msg: "the answer from AWS could not be decoded (truncated or not JSON)", err: err}
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
	// "exceeded maximum number of attempts, N, ...": the count is said once, by SourceError.
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
