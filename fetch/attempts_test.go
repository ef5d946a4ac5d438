package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/awstest"
	"github.com/secretexec/secretexec/internal/cli"
)

// The client retries, bounds attempts and counts them (retry.go, in the SDK's retry loop);
// what fetch owns is how a call that failed anyway is reported: the source, what AWS answered last, how many attempts
// were made, whether the deadline cut it short, and never a body. These tests read that off
// the clients the command uses, against the emulator's faults.

func TestFetchFailedCalls(t *testing.T) {
	srv := awstest.New(t)
	ctx := context.Background()
	if err := srv.PutParameter(ctx, "/app/DB_PASS", "v-"+canary, true); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateSecret(ctx, "app/json", `{"K":"v-`+canary+`"}`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		fault    awstest.Fault
		src      fetch.Source
		want     string // the whole message, a regular expression
		calls    int    // requests the emulator saw
		attempts int    // Error.Attempts
		code     string // the AWS error code errors.As finds, if any
		hint     string // part of the hint; "": none
		target   any    // a pointer to an error type errors.As must find, if any
	}{
		{
			name:     "a garbled answer is never quoted",
			fault:    awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Garbled},
			src:      path("/app"),
			want:     `^ssm path "/app": the answer from AWS could not be decoded \(truncated or not JSON\) \(after 3 attempts\)$`,
			calls:    3,
			attempts: 3,
			target:   new(*smithy.DeserializationError),
		},
		{
			name:     "connection resets",
			fault:    awstest.Fault{Action: "GetSecretValue", Kind: awstest.Reset},
			src:      secret("app/json"),
			want:     `^secret "app/json": could not reach AWS: .*connection reset by peer \(after 3 attempts\)$`,
			hint:     "the connection was reset, which is not AWS being slow",
			calls:    3,
			attempts: 3,
		},
		{
			name:     "every attempt hangs",
			fault:    awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Hang},
			src:      path("/app"),
			want:     `^ssm path "/app": no answer within 100ms \(after 3 attempts\)$`,
			calls:    3,
			attempts: 3,
			target:   new(*fetch.AttemptTimeoutError),
		},
		{
			name:     "throttled until the retries ran out",
			fault:    awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Throttle},
			src:      path("/app"),
			want:     `^ssm path "/app": ThrottlingException: Rate exceeded \(after 3 attempts\)$`,
			calls:    3,
			attempts: 3,
			code:     "ThrottlingException",
			hint:     "--retries",
		},
		{
			name:     "a 500 from Secrets Manager",
			fault:    awstest.Fault{Action: "GetSecretValue", Kind: awstest.Status500},
			src:      secret("app/json"),
			want:     `^secret "app/json": InternalServiceError: An error occurred on the server side\. \(after 3 attempts\)$`,
			calls:    3,
			attempts: 3,
			code:     "InternalServiceError",
		},
		{
			// Not retried: one attempt, and no count in the message.
			name:     "access denied",
			fault:    awstest.Fault{Action: "GetSecretValue", Kind: awstest.AccessDenied},
			src:      secret("app/json"),
			want:     `^secret "app/json": AccessDeniedException: User: ` + regexp.QuoteMeta(awstest.Role) + ` is not authorized to perform: secretsmanager:GetSecretValue on resource: \S+ because no identity-based policy allows the secretsmanager:GetSecretValue action$`,
			calls:    1,
			attempts: 1,
			code:     "AccessDeniedException",
			hint:     "secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:*:secret:app/json-??????",
		},
		{
			// KMS's refusal comes through SSM with KMS's message: the hint is kms:Decrypt.
			name:     "KMS denies decryption",
			fault:    awstest.Fault{Action: "GetParametersByPath", Kind: awstest.KMSDenied},
			src:      path("/app"),
			want:     `^ssm path "/app": AccessDeniedException: .*kms:Decrypt.*$`,
			calls:    1,
			attempts: 1,
			code:     "AccessDeniedException",
			hint:     "kms:Decrypt on arn:aws:kms:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.ResetCalls()
			srv.AddFault(tt.fault)
			defer srv.ClearFaults()
			f := emulatorFetcher(srv, 3, time.Millisecond, 100*time.Millisecond)
			_, _, err := f.FetchAll(ctx, []fetch.Source{tt.src}, nil)
			se := sourceError(t, err)
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error\n got %q\nwant %s", err, tt.want)
			}
			if got := srv.TotalCalls(); got != tt.calls {
				t.Errorf("the emulator saw %d requests, want %d", got, tt.calls)
			}
			if se.Attempts != tt.attempts {
				t.Errorf("Attempts %d, want %d", se.Attempts, tt.attempts)
			}
			if se.Cancelled {
				t.Error("Cancelled, with no deadline and no signal")
			}
			wantOp := map[fetch.Kind]string{fetch.SSMPath: "GetParametersByPath", fetch.Secret: "GetSecretValue"}[tt.src.Kind]
			if se.Op != wantOp || se.Region != "us-east-1" {
				t.Errorf("Op %q, Region %q; want %q, us-east-1", se.Op, se.Region, wantOp)
			}
			var apiErr smithy.APIError
			if got := errors.As(err, &apiErr); got != (tt.code != "") || got && apiErr.ErrorCode() != tt.code {
				t.Errorf("errors.As(smithy.APIError) = %v (%v), want code %q", got, apiErr, tt.code)
			}
			if hint := cli.Hint(se); tt.hint == "" && hint != "" || !strings.Contains(hint, tt.hint) {
				t.Errorf("hint %q, want one holding %q", hint, tt.hint)
			}
			if tt.target != nil && !errors.As(err, tt.target) {
				t.Errorf("errors.As(%T) found nothing in %v", tt.target, err)
			}
		})
	}
}

// When the caller's deadline ends a call, the error says what the last attempt got, and
// that the deadline cut it short.
func TestFetchFailedCallsDeadline(t *testing.T) {
	srv := awstest.New(t)
	ctx := context.Background()
	if err := srv.PutParameter(ctx, "/app/DB_PASS", "v-"+canary, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		fault      awstest.Kind
		backoff    time.Duration
		perAttempt time.Duration
		want       string // the whole message, a regular expression
		deadline   bool   // errors.Is(err, context.DeadlineExceeded)
		code       string
	}{
		{
			// The deadline ends the only attempt: nothing was answered.
			name:       "hung until the deadline",
			fault:      awstest.Hang,
			backoff:    time.Millisecond,
			perAttempt: 5 * time.Second,
			want:       `^ssm path "/app": no answer before the deadline$`,
			deadline:   true,
		},
		{
			// Throttled again and again: the error says so, and how often, not just that
			// time ran out.
			name:       "throttled until the deadline",
			fault:      awstest.Throttle,
			backoff:    20 * time.Millisecond,
			perAttempt: 5 * time.Second,
			want:       `^ssm path "/app": ThrottlingException: Rate exceeded \(after \d+ attempts\)$`,
			code:       "ThrottlingException",
		},
		{
			// The deadline comes while backing off: the last attempt's failure is the
			// error, not the deadline.
			name:       "a connection reset, then the deadline",
			fault:      awstest.Reset,
			backoff:    5 * time.Second,
			perAttempt: 5 * time.Second,
			want:       `^ssm path "/app": could not reach AWS: .*connection reset by peer$`,
		},
		{
			// The deadline comes while backing off after an attempt that timed out: that
			// attempt's failure is the story, as for any other failure.
			name:       "an attempt timed out, then the deadline",
			fault:      awstest.Hang,
			backoff:    5 * time.Second,
			perAttempt: 50 * time.Millisecond,
			want:       `^ssm path "/app": no answer within 50ms$`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: tt.fault})
			defer srv.ClearFaults()
			f := emulatorFetcher(srv, 1000, tt.backoff, tt.perAttempt)
			dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			_, _, err := f.FetchAll(dctx, []fetch.Source{path("/app")}, nil)
			se := sourceError(t, err)
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error\n got %q\nwant %s", err, tt.want)
			}
			if !se.Cancelled {
				t.Error("not Cancelled, though the deadline ended the call")
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.deadline {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", got, tt.deadline)
			}
			var apiErr smithy.APIError
			if got := errors.As(err, &apiErr); got != (tt.code != "") || got && apiErr.ErrorCode() != tt.code {
				t.Errorf("errors.As(smithy.APIError) = %v (%v), want code %q", got, apiErr, tt.code)
			}
		})
	}
}

// A path whose pages needed retries is read by paging alone: the account is at its request
// rate, and listing would add requests to a fleet's start (fetchPath). The page's attempts
// are the SDK's attempt results.
func TestFetchRetriedPathIsNotListed(t *testing.T) {
	srv := awstest.New(t)
	ctx := context.Background()
	for i := range 75 {
		if err := srv.PutParameter(ctx, fmt.Sprintf("/app/prod/P%03d", i), fmt.Sprintf("v%d", i), true); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		throttled int // GetParametersByPath calls throttled (and retried)
		listed    bool
	}{
		{"no retries: listed", 0, true},
		{"the first page retried: paged", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.SetLatency(5 * time.Millisecond) // slow enough to list; ClearFaults clears it
			srv.ResetCalls()
			if tc.throttled > 0 {
				srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Throttle, Count: tc.throttled})
			}
			f := emulatorFetcher(srv, 3, time.Millisecond, 5*time.Second)
			res, _, err := f.FetchAll(ctx, []fetch.Source{path("/app/prod")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(res[0].Items); n != 75 {
				t.Fatalf("%d variables, want 75", n)
			}
			if got := srv.Calls("DescribeParameters") > 0; got != tc.listed {
				t.Errorf("listed: %v, want %v (%d DescribeParameters calls)", got, tc.listed, srv.Calls("DescribeParameters"))
			}
			if !tc.listed {
				// 8 pages of 10, each read once, plus the throttled attempts.
				if got, want := srv.Calls("GetParametersByPath"), 8+tc.throttled; got != want {
					t.Errorf("%d GetParametersByPath requests, want %d", got, want)
				}
				if res[0].Calls != 8 {
					t.Errorf("Result.Calls %d, want the 8 pages", res[0].Calls)
				}
			}
		})
	}
}

// The SDK's DeserializationError, which the credential providers still give, is not quoted
// either: its message can hold part of a body with credentials in it.
func TestFetchDeserializationErrorNotQuoted(t *testing.T) {
	err := &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity", Err: &smithy.DeserializationError{
		Err: fmt.Errorf("invalid character 'x' after object key:value pair near %q", canary),
	}}
	wrapped := &fetch.AttemptsError{Attempts: 1, Err: fmt.Errorf("getting AWS credentials: %w", err)}
	f := &fetch.Fetcher{SSM: ssmFailing(wrapped)}
	_, _, ferr := f.FetchAll(context.Background(), []fetch.Source{path("/app")}, nil)
	sourceError(t, ferr) // checks the canary
	if want := `ssm path "/app": the answer from AWS could not be decoded (truncated or not JSON)`; ferr.Error() != want {
		t.Errorf("error\n got %q\nwant %q", ferr, want)
	}
}
