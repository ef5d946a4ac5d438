package fetch_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/awstest"
	"github.com/secretexec/secretexec/internal/cli"
)

// commandFetcher is a Fetcher with the clients the command builds (NewFromConfig), for its
// default --retries and --timeout, against the emulator's cfg.
func commandFetcher(cfg aws.Config) *fetch.Fetcher {
	return fetch.NewFromConfig(cfg, fetch.Options{Retries: 10, Timeout: 30 * time.Second})
}

// emulatorFetcher is a Fetcher with the command's clients against srv, with the given
// attempts, a fixed wait between them (so that a test's timing does not depend on jitter)
// and each attempt bounded by perAttempt.
func emulatorFetcher(srv *awstest.Server, attempts int, backoff, perAttempt time.Duration) *fetch.Fetcher {
	o := fetch.WithTestTiming(fetch.Options{Retries: attempts, Timeout: 30 * time.Second}, backoff, perAttempt)
	return fetch.NewFromConfig(srv.Config(), o)
}

// The clients NewFromConfig builds are the SDK's.
var (
	_ fetch.SSMAPI     = (*ssm.Client)(nil)
	_ fetch.SecretsAPI = (*secretsmanager.Client)(nil)
)

// What CloudTrail records: the SDK's User-Agent with secretexec's application id.
func TestClientsUserAgent(t *testing.T) {
	srv := awstest.New(t)
	if err := srv.PutParameter(context.Background(), "/app/K", "v-"+canary, true); err != nil {
		t.Fatal(err)
	}
	f := fetch.NewFromConfig(srv.Config(), fetch.Options{Retries: 1, Timeout: 30 * time.Second, AppID: "secretexec-v1.2.3"})
	if _, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app"), secret("app/none")}, nil); err == nil {
		t.Fatal("no error for a missing secret")
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, c := range reqs {
		if !regexp.MustCompile(`^aws-sdk-go-v2/\S+ .* app/secretexec-v1\.2\.3( |$)`).MatchString(c.UserAgent) {
			t.Errorf("%s: User-Agent %q", c.Action, c.UserAgent)
		}
	}
}

// A clock more than 5 minutes off: AWS refuses the signature and says its time in Date; the
// SDK signs the next attempt with it, and the fetch works.
func TestClockSkewCorrected(t *testing.T) {
	srv := awstest.New(t, awstest.WithClock(func() time.Time { return time.Now().Add(-20 * time.Minute) }))
	if err := srv.PutParameter(context.Background(), "/app/K", "v-"+canary, true); err != nil {
		t.Fatal(err)
	}
	f := emulatorFetcher(srv, 3, time.Millisecond, 5*time.Second)
	res, _, err := f.FetchAll(context.Background(), []fetch.Source{path("/app")}, nil)
	noCanary(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if got := vars(res[0]); len(got) != 1 || got[0] != "K=v-"+canary {
		t.Errorf("got %d variables", len(got))
	}
	if n := srv.Calls("GetParametersByPath"); n != 2 {
		t.Errorf("%d calls, want 2: one refused for the clock, one signed with AWS's time", n)
	}
}

// Throttling is retried as throttling: the backoff is asked with an error the SDK's
// throttle check knows, so it waits from a 1s base, not from 50ms (a fleet start would
// otherwise run out of attempts).
func TestThrottlingBacksOffAsThrottling(t *testing.T) {
	srv := awstest.New(t)
	if err := srv.PutParameter(context.Background(), "/app/K", "v", true); err != nil {
		t.Fatal(err)
	}
	srv.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.Throttle, Count: 2})
	var seen []aws.Ternary
	o := fetch.WithBackoff(fetch.Options{Retries: 3, Timeout: 30 * time.Second}, func(_ int, err error) time.Duration {
		seen = append(seen, retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err))
		return time.Millisecond
	})
	if _, _, err := fetch.NewFromConfig(srv.Config(), o).FetchAll(context.Background(), []fetch.Source{path("/app")}, nil); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != aws.TrueTernary || seen[1] != aws.TrueTernary {
		t.Fatalf("the backoff saw throttle checks %v, want two true", seen)
	}
}

// An error answer that is not AWS's JSON (a proxy's or load balancer's page) is reported by
// its status, never quoted; a 4xx is final, a 5xx retried.
func TestErrorAnswerNotFromAWS(t *testing.T) {
	for _, tc := range []struct {
		status int
		calls  int
		want   string
	}{
		{403, 1, `ssm path "/a": HTTP 403 with an answer that is not from AWS (a proxy in the way?)`},
		{502, 3, `ssm path "/a": HTTP 502 with an answer that is not from AWS (a proxy in the way?) (after 3 attempts)`},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var calls atomic.Int64
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, `<html>`+canary+`</html>`)
			}))
			defer hs.Close()
			cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
				Credentials: credentials.NewStaticCredentialsProvider(awstest.AccessKeyID, awstest.SecretAccessKey, "")}
			o := fetch.WithTestTiming(fetch.Options{Retries: 3, Timeout: 30 * time.Second}, time.Millisecond, 5*time.Second)
			_, _, err := fetch.NewFromConfig(cfg, o).FetchAll(context.Background(), []fetch.Source{path("/a")}, nil)
			sourceError(t, err)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error\n got %v\nwant %s", err, tc.want)
			}
			if n := calls.Load(); n != int64(tc.calls) {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
		})
	}
}

// A TLS handshake refused for what the server sent fails alike on every attempt: reported at
// once, with the fix, not retried until the deadline.
func TestTLSFailureNotRetried(t *testing.T) {
	var calls atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	var handshakes atomic.Int64
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	hs.StartTLS()
	defer hs.Close()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(awstest.AccessKeyID, awstest.SecretAccessKey, "")}
	o := fetch.WithTestTiming(fetch.Options{Retries: 5, Timeout: 30 * time.Second}, time.Millisecond, 5*time.Second)
	_, _, err := fetch.NewFromConfig(cfg, o).FetchAll(context.Background(), []fetch.Source{path("/a")}, nil)
	e := sourceError(t, err)
	if !strings.Contains(err.Error(), "could not reach AWS: ") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("error %q", err)
	}
	if !strings.Contains(cli.Hint(e), "certificate is not trusted") {
		t.Errorf("hint %q", cli.Hint(e))
	}
	if n := handshakes.Load(); n != 1 || calls.Load() != 0 {
		t.Errorf("%d connections and %d requests, want one connection", n, calls.Load())
	}
}
