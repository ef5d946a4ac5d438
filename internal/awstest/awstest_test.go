package awstest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// clients returns SDK clients aimed at the proxy, with attempts tries per request.
func clients(s *Server, attempts int) (*ssm.Client, *secretsmanager.Client) {
	cfg := s.Config()
	cfg.RetryMaxAttempts = attempts
	return ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func seed(t *testing.T, s *Server) {
	t.Helper()
	ctx := context.Background()
	for _, p := range []struct {
		name, value string
		secure      bool
	}{
		{"/auraxis/prod/DB_HOST", "db.internal", false},
		{"/auraxis/prod/DB_PASS", "canary-s3cr3t", true},
		{"/auraxis/prod/nested/X", "x", false},
	} {
		if err := s.PutParameter(ctx, p.name, p.value, p.secure); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSeedingIsNotCountedAndCallsAreExact(t *testing.T) {
	s := New(t)
	seed(t, s)
	if _, err := s.CreateSecret(context.Background(), "auraxis/prod/app", `{"A":"1"}`); err != nil {
		t.Fatal(err)
	}
	if n := s.TotalCalls(); n != 0 {
		t.Fatalf("seeding made %d proxy calls, want 0", n)
	}
	ssmc, smc := clients(s, 1)
	ctx := context.Background()
	out, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/auraxis/prod"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range out.Parameters {
		got[aws.ToString(p.Name)] = aws.ToString(p.Value)
	}
	if len(got) != 2 || got["/auraxis/prod/DB_PASS"] != "canary-s3cr3t" {
		t.Fatalf("GetParametersByPath = %v", got)
	}
	for range 2 {
		if _, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("auraxis/prod/app")}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b, n := s.Calls("GetParametersByPath"), s.Calls("GetSecretValue"), s.TotalCalls(); a != 1 || b != 2 || n != 3 {
		t.Fatalf("calls: GetParametersByPath %d, GetSecretValue %d, total %d; want 1, 2, 3", a, b, n)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Action != "GetParametersByPath" || reqs[0].End.IsZero() || reqs[0].Region != "us-east-1" {
		t.Fatalf("request log = %+v", reqs)
	}
	// The log shows the region a request was signed for, also when one call overrides it.
	if _, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("auraxis/prod/app")},
		func(o *secretsmanager.Options) { o.Region = "eu-west-1" }); err != nil {
		t.Fatal(err)
	}
	if reqs := s.Requests(); reqs[len(reqs)-1].Region != "eu-west-1" {
		t.Fatalf("signed region = %q, want eu-west-1", reqs[len(reqs)-1].Region)
	}
	s.ResetCalls()
	if s.TotalCalls() != 0 || len(s.Requests()) != 0 {
		t.Fatal("ResetCalls left calls behind")
	}
}

func TestSecureStringWithoutDecryptionIsOpaque(t *testing.T) {
	s := New(t)
	seed(t, s)
	ssmc, _ := clients(s, 1)
	ctx := context.Background()
	out, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/auraxis/prod")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Parameters {
		if strings.Contains(aws.ToString(p.Value), "canary") {
			t.Fatalf("SecureString read without decryption shows plaintext: %q", aws.ToString(p.Value))
		}
	}
}

func TestLimits(t *testing.T) {
	s := New(t)
	ssmc, _ := clients(s, 1)
	ctx := context.Background()
	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf("/p/%d", i)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"GetParametersByPath MaxResults 11", func() error {
			_, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/auraxis/prod"), MaxResults: aws.Int32(11)})
			return err
		}, "1 validation error detected: Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10"},
		{"GetParameters 11 names", func() error {
			_, err := ssmc.GetParameters(ctx, &ssm.GetParametersInput{Names: names})
			return err
		}, "at 'names' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"DescribeParameters MaxResults 51", func() error {
			_, err := ssmc.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(51)})
			return err
		}, "Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if errCode(err) != "ValidationException" || httpStatus(err) != 400 || !strings.Contains(errMessage(err), tc.want) {
				t.Fatalf("err = %v (status %d), want ValidationException 400 %q", err, httpStatus(err), tc.want)
			}
		})
	}
	// At the limit is fine.
	if _, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/x"), MaxResults: aws.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ssmc.GetParameters(ctx, &ssm.GetParametersInput{Names: names[:10]}); err != nil {
		t.Fatal(err)
	}
}

func TestFaultKinds(t *testing.T) {
	s := New(t)
	seed(t, s)
	if _, err := s.CreateSecret(context.Background(), "auraxis/prod/app", `{"A":"1"}`); err != nil {
		t.Fatal(err)
	}
	ssmc, smc := clients(s, 1)
	byPath := func(ctx context.Context) error {
		_, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/auraxis/prod"), WithDecryption: aws.Bool(true)})
		return err
	}
	getSecret := func(ctx context.Context) error {
		_, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("auraxis/prod/app")})
		return err
	}
	for _, tc := range []struct {
		fault  string
		call   func(context.Context) error
		code   string
		status int
		msg    string
	}{
		{"GetParametersByPath throttle 1", byPath, "ThrottlingException", 400, "Rate exceeded"},
		{"GetSecretValue throttle 1", getSecret, "ThrottlingException", 400, "Rate exceeded"},
		{"* 500 1", byPath, "InternalServerError", 500, ""},
		{"GetSecretValue 500 1", getSecret, "InternalServiceError", 500, ""},
		{"* 503 1", getSecret, "ServiceUnavailable", 503, ""},
		{"GetParametersByPath denied 1", byPath, "AccessDeniedException", 400,
			"User: arn:aws:sts::123456789012:assumed-role/app/i-0123 is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:123456789012:parameter/auraxis/prod because no identity-based policy allows the ssm:GetParametersByPath action"},
		{"GetSecretValue denied 1", getSecret, "AccessDeniedException", 400,
			"is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:auraxis/prod/app because"},
		{"GetParametersByPath kms 1", byPath, "AccessDeniedException", 400, "is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/"},
		{"GetSecretValue kms 1", getSecret, "AccessDeniedException", 400, "Access to KMS is not allowed"},
		{"GetSecretValue decrypt 1", getSecret, "DecryptionFailure", 400, "Secrets Manager can't decrypt the protected secret text using the provided KMS key."},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			if err := s.AddFaultText("fault " + tc.fault); err != nil {
				t.Fatal(err)
			}
			err := tc.call(context.Background())
			if errCode(err) != tc.code || httpStatus(err) != tc.status || !strings.Contains(errMessage(err), tc.msg) {
				t.Fatalf("err = %v (code %q, status %d), want %s %d %q", err, errCode(err), httpStatus(err), tc.code, tc.status, tc.msg)
			}
			if err := tc.call(context.Background()); err != nil {
				t.Fatalf("fault with count 1 fired twice: %v", err)
			}
		})
	}

	t.Run("garbled", func(t *testing.T) {
		s.AddFault(Fault{Action: "GetParametersByPath", Kind: Garbled, Count: 1})
		err := byPath(context.Background())
		var de *smithy.DeserializationError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v, want a deserialization error", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		s.AddFault(Fault{Action: "GetParametersByPath", Kind: Reset, Count: 1})
		err := byPath(context.Background())
		if err == nil || errCode(err) != "" || !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("err = %v, want a connection reset", err)
		}
	})
	t.Run("kms only on secret material", func(t *testing.T) {
		s.AddFault(Fault{Action: "*", Kind: KMSDenied})
		defer s.ClearFaults()
		// Without decryption, or for a plain String, there is nothing to decrypt.
		if _, err := ssmc.GetParametersByPath(context.Background(), &ssm.GetParametersByPathInput{Path: aws.String("/auraxis/prod")}); err != nil {
			t.Fatal(err)
		}
		if _, err := ssmc.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/auraxis/prod/DB_HOST"), WithDecryption: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		_, err := ssmc.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/auraxis/prod/DB_PASS"), WithDecryption: aws.Bool(true)})
		if errCode(err) != "AccessDeniedException" || !strings.Contains(errMessage(err), "kms:Decrypt") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestThrottleBurstIsRetriedBySDK(t *testing.T) {
	s := New(t)
	seed(t, s)
	cfg := s.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	ssmc := ssm.NewFromConfig(cfg)
	s.AddFault(Fault{Action: "GetParametersByPath", Kind: Throttle, Count: 2})
	if _, err := ssmc.GetParametersByPath(context.Background(), &ssm.GetParametersByPathInput{Path: aws.String("/auraxis/prod")}); err != nil {
		t.Fatal(err)
	}
	if n := s.Calls("GetParametersByPath"); n != 3 {
		t.Fatalf("calls = %d, want 3 (two throttled, one answered)", n)
	}
}

func TestRateLimit(t *testing.T) {
	s := New(t, WithRateLimit(0.01, 3)) // 3 tokens, next one in 100 s
	ssmc, _ := clients(s, 1)
	ok, throttled := 0, 0
	for range 10 {
		_, err := ssmc.DescribeParameters(context.Background(), &ssm.DescribeParametersInput{})
		switch {
		case err == nil:
			ok++
		case errCode(err) == "ThrottlingException" && errMessage(err) == "Rate exceeded":
			throttled++
		default:
			t.Fatal(err)
		}
	}
	if ok != 3 || throttled != 7 || s.TotalCalls() != 10 {
		t.Fatalf("ok %d, throttled %d, calls %d; want 3, 7, 10", ok, throttled, s.TotalCalls())
	}
	s.SetRateLimit(0, 0)
	if _, err := ssmc.DescribeParameters(context.Background(), &ssm.DescribeParametersInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestSelectors(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	for _, v := range []string{"one", "two", "three"} {
		if err := s.PutParameter(ctx, "/app/prod/KEY", v, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutParameter(ctx, "plain", "p", false); err != nil {
		t.Fatal(err)
	}
	if err := s.LabelParameterVersion("/app/prod/KEY", 1, "golden"); err != nil {
		t.Fatal(err)
	}
	if err := s.LabelParameterVersion("/app/prod/KEY", 9, "x"); err == nil {
		t.Fatal("label on an unknown version accepted")
	}
	if err := s.LabelParameterVersion("/app/prod/KEY", 1, "aws-x"); err == nil {
		t.Fatal("label starting with aws accepted")
	}
	arn := "arn:aws:ssm:us-east-1:123456789012:parameter/app/prod/KEY"
	ssmc, _ := clients(s, 1)
	out, err := ssmc.GetParameters(ctx, &ssm.GetParametersInput{
		Names:          []string{"/app/prod/KEY:2", "/app/prod/KEY:golden", arn + ":1", "/app/prod/KEY:9", "/app/prod/KEY:nolabel", "/app/prod/KEY::", "/nope", "arn:aws:ssm:us-east-1:1:parameter/plain"},
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range out.Parameters {
		got = append(got, fmt.Sprintf("%s|%s|%s|%d", aws.ToString(p.Name), aws.ToString(p.Selector), aws.ToString(p.Value), p.Version))
	}
	want := []string{
		"/app/prod/KEY|:2|two|2",
		"/app/prod/KEY|:golden|one|1",
		arn + "|:1|one|1", // "123456789012:" sorts before "1:"
		"arn:aws:ssm:us-east-1:1:parameter/plain||p|1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("parameters:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if inv := strings.Join(out.InvalidParameters, ","); inv != "/app/prod/KEY:9,/app/prod/KEY:nolabel,/app/prod/KEY::,/nope" {
		t.Fatalf("InvalidParameters = %s", inv)
	}

}

func TestSecretsManager(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	arn, err := s.CreateSecret(ctx, "auraxis/prod/app", `{"V":"old"}`)
	if err != nil || !strings.HasPrefix(arn, "arn:aws:secretsmanager:") {
		t.Fatalf("CreateSecret = %q, %v", arn, err)
	}
	if _, err := s.PutSecretValue(ctx, "auraxis/prod/app", `{"V":"new"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSecretBinary(ctx, "bin", []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	_, smc := clients(s, 1)
	for stage, want := range map[string]string{"AWSCURRENT": `{"V":"new"}`, "AWSPREVIOUS": `{"V":"old"}`} {
		out, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)})
		if err != nil || aws.ToString(out.SecretString) != want {
			t.Fatalf("%s = %+v, %v", stage, out, err)
		}
	}
	_, err = smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("missing")})
	if errCode(err) != "ResourceNotFoundException" || httpStatus(err) != 400 {
		t.Fatalf("missing secret: %v (status %d)", err, httpStatus(err))
	}
}

func TestSlowAndLatencyAndInFlight(t *testing.T) {
	s := New(t, WithLatency(50*time.Millisecond))
	ssmc, _ := clients(s, 1)
	ctx := context.Background()
	start := time.Now()
	if _, err := ssmc.DescribeParameters(ctx, &ssm.DescribeParametersInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("call with 50ms latency took %v", d)
	}
	s.SetLatency(0)
	s.AddFault(Fault{Action: "DescribeParameters", Kind: Slow, Count: 1, Delay: 150 * time.Millisecond})
	start = time.Now()
	if _, err := ssmc.DescribeParameters(ctx, &ssm.DescribeParametersInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("slow call took %v", d)
	}

	// Hold five calls at once (a hang until cancelled), then count them in flight.
	s.ResetCalls()
	s.AddFault(Fault{Action: "GetParameter", Kind: Hang})
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = ssmc.GetParameter(hctx, &ssm.GetParameterInput{Name: aws.String("/x")})
		}()
	}
	for s.TotalCalls() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.MaxInFlight(); n != 5 {
		t.Errorf("MaxInFlight = %d with 5 held calls, want 5", n)
	}
	cancel()
	wg.Wait()
	if n := s.MaxInFlight(); n != 5 {
		t.Errorf("MaxInFlight = %d after the calls ended, want 5", n)
	}
}

func TestHangEndsOnClientCancel(t *testing.T) {
	s := New(t)
	ssmc, _ := clients(s, 1)
	s.AddFault(Fault{Action: "*", Kind: Hang})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ssmc.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hang outlived the client by %v", d)
	}
}

func TestCloseEndsHangsAndLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(WithFaults(Fault{Kind: Hang}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutParameter(context.Background(), "/x", "y", false); err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	cfg.RetryMaxAttempts = 1
	ssmc := ssm.NewFromConfig(cfg)
	done := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := ssmc.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/x")})
			done <- err
		}()
	}
	for s.TotalCalls() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	for range 3 {
		select {
		case err := <-done:
			if err == nil {
				t.Error("hung call succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not end a hung call")
		}
	}
	cfg.HTTPClient.(*http.Client).Transport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestServersAreIsolated(t *testing.T) {
	s := New(t)
	if err := s.PutParameter(context.Background(), "/leftover", "v", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSecret(context.Background(), "leftover", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2 := New(t)
	ssmc, _ := clients(s2, 1)
	out, err := ssmc.DescribeParameters(context.Background(), &ssm.DescribeParametersInput{})
	if err != nil || len(out.Parameters) != 0 {
		t.Fatalf("second server sees %d parameters (%v)", len(out.Parameters), err)
	}
	if _, err := s2.CreateSecret(context.Background(), "leftover", "v2"); err != nil {
		t.Fatalf("secret of an earlier server still there: %v", err)
	}
}

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Fault
		err  bool
	}{
		{in: "fault GetParametersByPath throttle 3", want: Fault{Action: "GetParametersByPath", Kind: Throttle, Count: 3}},
		{in: "* 503", want: Fault{Action: "*", Kind: Status503}},
		{in: "GetSecretValue slow 250ms 2", want: Fault{Action: "GetSecretValue", Kind: Slow, Count: 2, Delay: 250 * time.Millisecond}},
		{in: "GetSecretValue slow", want: Fault{Action: "GetSecretValue", Kind: Slow, Delay: time.Second}},
		{in: "GetSecretValue KMS", want: Fault{Action: "GetSecretValue", Kind: KMSDenied}},
		{in: "fault", err: true},
		{in: "GetSecretValue explode", err: true},
		{in: "GetSecretValue throttle -1", err: true},
		{in: "GetSecretValue throttle x", err: true},
		{in: "GetSecretValue throttle 1 2", err: true},
	} {
		got, err := ParseFault(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			if back, err := ParseFault(got.String()); err != nil || back != got {
				t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	seedText := `# comment
ssm /app/A value with  spaces
ssm /app/A second
ssm-secure /app/B s3cret
sm app/json {"K": "v"}
label /app/A 1 first
fault GetParameters throttle 1
latency 1ms
rate 1000 100
`
	if err := s.Load(ctx, strings.NewReader(seedText)); err != nil {
		t.Fatal(err)
	}
	ssmc, smc := clients(s, 1)
	_, err := ssmc.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/A"}})
	if errCode(err) != "ThrottlingException" {
		t.Fatalf("fault line not applied: %v", err)
	}
	p, err := ssmc.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/A:first"}})
	if err != nil || len(p.Parameters) != 1 || aws.ToString(p.Parameters[0].Value) != "value with  spaces" {
		t.Fatalf("label line: %+v, %v", p, err)
	}
	sec, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/json")})
	if err != nil || aws.ToString(sec.SecretString) != `{"K": "v"}` {
		t.Fatalf("sm line: %+v, %v", sec, err)
	}
	for _, bad := range []string{"ssm /only-name", "label /app/A x first", "rate fast", "latency soon", "nope x"} {
		if err := s.Load(ctx, strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "line 1: ") {
			t.Errorf("Load(%q) = %v, want a line-1 error", bad, err)
		}
	}
}

func TestPreviousStageIsOneVersion(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	if _, err := s.CreateSecret(ctx, "rot", "v1"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v2", "v3", "v4"} {
		if _, err := s.PutSecretValue(ctx, "rot", v); err != nil {
			t.Fatal(err)
		}
	}
	_, smc := clients(s, 1)
	for range 5 { // kumo alone answers from a map: any of v1..v3
		out, err := smc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot"), VersionStage: aws.String("AWSPREVIOUS")})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.SecretString); got != "v3" {
			t.Fatalf("AWSPREVIOUS = %q, want v3", got)
		}
	}
}

func TestSecretKey(t *testing.T) {
	for id, want := range map[string]string{
		"app/prod": "app/prod",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/prod-AbC123": "app/prod",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/prod":        "app/prod",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbC123":        "a",
		"my:secret:name": "my:secret:name",
	} {
		if got := secretKey(id); got != want {
			t.Errorf("secretKey(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestConcurrentSecretReads reads two secrets at once from many goroutines, one of them by
// name and by ARN. Run with -race: kumo's GetSecretValue writes the secret while holding a
// read lock, and serialSecrets must keep requests for one secret apart however it is named.
func TestConcurrentSecretReads(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	arn, err := s.CreateSecret(ctx, "app/one", `{"A":"1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSecret(ctx, "app/two", `{"B":"2"}`); err != nil {
		t.Fatal(err)
	}
	c := secretsmanager.NewFromConfig(s.Config())
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		id := []string{"app/one", arn, "app/two"}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}); err != nil {
				errs <- err
			}
			if _, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
