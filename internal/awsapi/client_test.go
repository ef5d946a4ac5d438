package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/internal/awstest"
)

// emulator starts the project's emulator (kumo behind the proxy that enforces AWS's limits)
// seeded with a few parameters and secrets, and returns it with a client config for it.
func emulator(t *testing.T, opts ...awstest.Option) (*awstest.Server, Config) {
	t.Helper()
	s := awstest.New(t, opts...)
	ctx := context.Background()
	for i := range 12 {
		if err := s.PutParameter(ctx, fmt.Sprintf("/app/prod/K%02d", i), fmt.Sprintf("value-%02d", i), i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateSecret(ctx, "app/prod", `{"DB_PASS":"pw"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSecretBinary(ctx, "app/bin", []byte{0, 1, 2, 255}); err != nil {
		t.Fatal(err)
	}
	s.ResetCalls()
	cfg := s.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
	}
	return s, Config{AWS: cfg, AttemptTimeout: 2 * time.Second}
}

func TestCallsAgainstEmulator(t *testing.T) {
	s, cfg := emulator(t)
	ctx := context.Background()
	c := NewSSM(cfg)

	var names, values []string
	in := &GetParametersByPathInput{Path: aws.String("/app/prod"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true), MaxResults: aws.Int32(5)}
	pages := 0
	for {
		out, err := c.GetParametersByPath(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if out.ResultMetadata.Attempts != 1 {
			t.Errorf("attempts %d", out.ResultMetadata.Attempts)
		}
		for _, p := range out.Parameters {
			names = append(names, aws.ToString(p.Name))
			values = append(values, aws.ToString(p.Value))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Strings(values)
	if pages != 3 || len(names) != 12 || values[0] != "value-00" || values[11] != "value-11" {
		t.Fatalf("%d pages, names %q, values %q", pages, names, values)
	}

	g, err := c.GetParameters(ctx, &GetParametersInput{Names: []string{"/app/prod/K01", "/app/prod/nope"}, WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Parameters) != 1 || aws.ToString(g.Parameters[0].Value) != "value-01" || len(g.InvalidParameters) != 1 || g.InvalidParameters[0] != "/app/prod/nope" {
		t.Fatalf("GetParameters: %+v", g)
	}

	d, err := c.DescribeParameters(ctx, &DescribeParametersInput{MaxResults: aws.Int32(50), ParameterFilters: []ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{"/app/prod"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Parameters) != 12 {
		t.Fatalf("DescribeParameters listed %d", len(d.Parameters))
	}

	sm := NewSecretsManager(cfg)
	v, err := sm.GetSecretValue(ctx, &GetSecretValueInput{SecretId: aws.String("app/prod")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v.SecretString) != `{"DB_PASS":"pw"}` || !strings.Contains(aws.ToString(v.ARN), ":secret:app/prod-") {
		t.Fatalf("GetSecretValue: %+v", v)
	}
	b, err := sm.GetSecretValue(ctx, &GetSecretValueInput{SecretId: aws.String("app/bin")})
	if err != nil {
		t.Fatal(err)
	}
	if string(b.SecretBinary) != "\x00\x01\x02\xff" || b.SecretString != nil {
		t.Fatalf("binary secret: %+v", b)
	}
	if got := s.Calls("*"); got != pages+4 {
		t.Fatalf("%d calls, want %d", got, pages+4)
	}
}

// TestErrorAnswers checks that AWS's error answers come back as the SDK's would: an
// APIError with AWS's code and message, the HTTP status and request id, not retried.
func TestErrorAnswers(t *testing.T) {
	s, cfg := emulator(t)
	ctx := context.Background()
	_, err := NewSecretsManager(cfg).GetSecretValue(ctx, &GetSecretValueInput{SecretId: aws.String("app/missing")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceNotFoundException" || apiErr.ErrorMessage() == "" || apiErr.ErrorFault() != smithy.FaultClient {
		t.Fatalf("got %v", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Fatalf("no response error with status 400 in %v", err)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.Service() != "Secrets Manager" || oe.Operation() != "GetSecretValue" {
		t.Fatalf("no operation error in %v", err)
	}
	var ae *AttemptsError
	if !errors.As(err, &ae) || ae.Attempts != 1 || s.Calls("GetSecretValue") != 1 {
		t.Fatalf("attempts %+v, calls %d", ae, s.Calls("GetSecretValue"))
	}

	s.AddFault(awstest.Fault{Action: "GetParametersByPath", Kind: awstest.AccessDenied})
	_, err = NewSSM(cfg).GetParametersByPath(ctx, &GetParametersByPathInput{Path: aws.String("/app/prod")})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" || !strings.Contains(apiErr.ErrorMessage(), "ssm:GetParametersByPath") {
		t.Fatalf("got %v", err)
	}
	if n := s.Calls("GetParametersByPath"); n != 1 {
		t.Fatalf("access denied was sent %d times", n)
	}
}

// TestRetries checks the retry loop against the emulator's faults: what the SDK retries
// (throttling, 5xx, a reset connection), plus a garbled answer and an attempt that hangs
// past the attempt timeout, and how many attempts the answer took.
func TestRetries(t *testing.T) {
	for _, kind := range []awstest.Kind{awstest.Throttle, awstest.Status500, awstest.Status503, awstest.Reset, awstest.Garbled, awstest.Hang} {
		t.Run(string(kind), func(t *testing.T) {
			s, cfg := emulator(t)
			cfg.AttemptTimeout = 200 * time.Millisecond
			s.AddFault(awstest.Fault{Action: "GetSecretValue", Kind: kind, Count: 2})
			out, err := NewSecretsManager(cfg).GetSecretValue(context.Background(), &GetSecretValueInput{SecretId: aws.String("app/prod")})
			if err != nil {
				t.Fatal(err)
			}
			if out.ResultMetadata.Attempts != 3 || aws.ToString(out.SecretString) == "" || s.Calls("GetSecretValue") != 3 {
				t.Fatalf("attempts %d, calls %d, value %q", out.ResultMetadata.Attempts, s.Calls("GetSecretValue"), aws.ToString(out.SecretString))
			}
		})
	}
}

func TestRetriesRunOut(t *testing.T) {
	s, cfg := emulator(t)
	s.AddFault(awstest.Fault{Action: "GetParameters", Kind: awstest.Throttle})
	_, err := NewSSM(cfg).GetParameters(context.Background(), &GetParametersInput{Names: []string{"/app/prod/K01"}})
	var me *retry.MaxAttemptsError
	var ae *AttemptsError
	var apiErr smithy.APIError
	if !errors.As(err, &me) || me.Attempt != 3 || !errors.As(err, &ae) || ae.Attempts != 3 || !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" {
		t.Fatalf("got %v", err)
	}
	if n := s.Calls("GetParameters"); n != 3 {
		t.Fatalf("%d calls", n)
	}
}

func TestCancelWhileBackingOff(t *testing.T) {
	s, cfg := emulator(t)
	cfg.AWS.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Hour, nil })
		})
	}
	s.AddFault(awstest.Fault{Action: "GetParameters", Kind: awstest.Status503})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewSSM(cfg).GetParameters(ctx, &GetParametersInput{Names: []string{"/a"}})
	var ae *AttemptsError
	var apiErr smithy.APIError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ae) || ae.Attempts != 1 || !errors.As(ae.Last, &apiErr) || apiErr.ErrorCode() != "ServiceUnavailable" {
		t.Fatalf("got %v (%#v)", err, ae)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

// TestRegionOverride sends a call for another region: signed for it, as AWS requires for
// an ARN in another region.
func TestRegionOverride(t *testing.T) {
	s, cfg := emulator(t)
	_, err := NewSSM(cfg).GetParameters(context.Background(), &GetParametersInput{Names: []string{"/app/prod/K01"}}, func(o *Options) { o.Region = "eu-west-2" })
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Region != "eu-west-2" {
		t.Fatalf("requests %+v", reqs)
	}
}

// TestClockSkew answers the first attempt as AWS answers a request signed with a clock an
// hour slow, and checks that the next attempt is signed with the server's time.
func TestClockSkew(t *testing.T) {
	serverNow := time.Now().Add(time.Hour).UTC()
	var n atomic.Int32
	var dates []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dates = append(dates, r.Header.Get("X-Amz-Date"))
		w.Header().Set("Date", serverNow.Format(http.TimeFormat))
		if n.Add(1) == 1 {
			w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"message":"Signature expired: 20261128T170000Z is now earlier than 20261128T175500Z (20261128T180000Z - 5 min.)"}`)
			return
		}
		fmt.Fprint(w, `{"Parameters":[],"InvalidParameters":["/a"]}`)
	}))
	defer srv.Close()
	cfg := Config{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}}
	out, err := NewSSM(cfg).GetParameters(context.Background(), &GetParametersInput{Names: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.ResultMetadata.Attempts != 2 || len(dates) != 2 {
		t.Fatalf("attempts %d, dates %q", out.ResultMetadata.Attempts, dates)
	}
	second, err := time.Parse("20060102T150405Z", dates[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := second.Sub(serverNow); d < -time.Minute || d > time.Minute {
		t.Fatalf("second attempt signed at %s, server time %s", second, serverNow)
	}
}

// TestErrorWithoutJSON keeps the status when the error body is not AWS's JSON (a proxy's
// HTML page), and never quotes the body.
func TestErrorWithoutJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		fmt.Fprint(w, `<html>canary-body-text</html>`)
	}))
	defer srv.Close()
	cfg := Config{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}}
	_, err := NewSSM(cfg).GetParameters(context.Background(), &GetParametersInput{Names: []string{"/a"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Forbidden" || strings.Contains(err.Error(), "canary-body-text") {
		t.Fatalf("got %v", err)
	}
}

// TestAttemptTimeoutIsLast: when an attempt times out and the caller's deadline ends the
// backoff, the timeout is what the last attempt got.
func TestAttemptTimeoutIsLast(t *testing.T) {
	s, cfg := emulator(t)
	cfg.AttemptTimeout = 50 * time.Millisecond
	cfg.AWS.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Hour, nil })
		})
	}
	s.AddFault(awstest.Fault{Action: "GetParameters", Kind: awstest.Hang})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := NewSSM(cfg).GetParameters(ctx, &GetParametersInput{Names: []string{"/a"}})
	var ae *AttemptsError
	var te *AttemptTimeoutError
	if !errors.As(err, &ae) || ae.Attempts != 1 || !errors.As(ae.Last, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v (%#v)", err, ae)
	}
}

// TestBackoffSeesTheError: the retryer's delay depends on the error (AWS's retry behaviour
// waits longer after throttling: a 1 s base instead of 50 ms), so the delay must be asked
// with the attempt's error. A fleet start once retried throttled calls at the short
// delays and ran out of attempts.
func TestBackoffSeesTheError(t *testing.T) {
	s, cfg := emulator(t)
	var codes []string
	cfg.AWS.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(_ int, err error) (time.Duration, error) {
				var apiErr smithy.APIError
				if errors.As(err, &apiErr) {
					codes = append(codes, apiErr.ErrorCode())
				} else {
					codes = append(codes, fmt.Sprint(err))
				}
				return time.Millisecond, nil
			})
		})
	}
	s.AddFault(awstest.Fault{Action: "GetParameters", Kind: awstest.Throttle, Count: 2})
	if _, err := NewSSM(cfg).GetParameters(context.Background(), &GetParametersInput{Names: []string{"/app/prod/K01"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(codes, ",") != "ThrottlingException,ThrottlingException" {
		t.Fatalf("backoff asked with %q", codes)
	}
}
