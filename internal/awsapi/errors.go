package awsapi

import (
	"fmt"
	"time"
)

// AttemptTimeoutError is one attempt that got no complete answer within its time.
type AttemptTimeoutError struct{ Limit time.Duration }

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %s", e.Limit)
}

// RetryableError tells the retryer to try again: the limit is the client's own, not the
// caller's deadline.
func (e *AttemptTimeoutError) RetryableError() bool { return true }

// Timeout marks it as a timeout for the retryer and for net.Error checks.
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

// DecodeError is a successful answer whose body could not be read or decoded: cut short or
// mangled on the way. It is retried like a connection error. Its message never quotes the
// body, which may hold secret values.
type DecodeError struct{ Err error }

func (e *DecodeError) Error() string {
	return "the answer from AWS could not be decoded (truncated or not JSON)"
}

func (e *DecodeError) Unwrap() error { return e.Err }

// RetryableError tells the retryer to try again.
func (e *DecodeError) RetryableError() bool { return true }

// EndpointError is a configuration that gives no endpoint for a service in a region.
type EndpointError struct {
	Service string
	Region  string
	Reason  string
}

func (e *EndpointError) Error() string {
	return fmt.Sprintf("no %s endpoint for region %q: %s", e.Service, e.Region, e.Reason)
}

// clockSkewError is an answer that says the request's time was off, when the answer's Date
// shows the clock is: the next attempt is signed with the server's time.
type clockSkewError struct{ Err error }

func (e *clockSkewError) Error() string        { return e.Err.Error() }
func (e *clockSkewError) Unwrap() error        { return e.Err }
func (e *clockSkewError) RetryableError() bool { return true }
