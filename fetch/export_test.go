package fetch

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// WithTestTiming returns o with a fixed wait between attempts and a per-attempt limit, so
// that tests of retries neither wait for the real backoff nor depend on its jitter.
func WithTestTiming(o Options, backoff, perAttempt time.Duration) Options {
	o = WithBackoff(o, func(int, error) time.Duration { return backoff })
	o.attemptTimeout = perAttempt
	return o
}

// WithBackoff returns o whose retryer asks wait for each wait between attempts.
func WithBackoff(o Options, wait func(attempt int, err error) time.Duration) Options {
	o.backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) { return wait(attempt, err), nil })
	return o
}
