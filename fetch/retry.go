package fetch

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/secretexec/secretexec/internal/awsapi"
)

// AttemptTimeout is how long one attempt of an AWS call may take (connect, send, answer)
// within the overall deadline total: a quarter of it, at least 1s and at most 5s. SSM and
// Secrets Manager answer in tens of milliseconds, so an attempt that has not answered in
// seconds is a hung connection (a dropped NAT mapping, a stalled proxy) that a fresh one
// can get past, and one such connection must not use up all of --timeout.
func AttemptTimeout(total time.Duration) time.Duration {
	return min(5*time.Second, max(time.Second, total/4))
}

// shortError turns an error that is not an AWS answer into a short message. Messages that
// could quote the response body (decoding errors) are replaced entirely: the body may hold
// secret values. Besides awsapi's DecodeError, that is the SDK's DeserializationError, which
// the credential providers (STS, SSO, instance metadata) still give, about bodies that hold
// credentials.
func shortError(err error) error {
	var ate *awsapi.AttemptTimeoutError
	var de *awsapi.DecodeError
	var sde *smithy.DeserializationError
	var se *smithyhttp.RequestSendError
	var ne net.Error
	switch {
	case errors.As(err, &ate):
		return &sdkError{msg: ate.Error(), err: err}
	case errors.As(err, &de):
		return &sdkError{msg: de.Error(), err: err}
	case errors.As(err, &sde):
		return &sdkError{msg: (&awsapi.DecodeError{Err: sde}).Error(), err: err}
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

// sdkError is a shortened message that still unwraps to the client's error.
type sdkError struct {
	msg string
	err error
}

func (e *sdkError) Error() string { return e.msg }
func (e *sdkError) Unwrap() error { return e.err }
