package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// TestSigV4TestSuite checks the verifier against vectors of AWS's published SigV4 test suite
// (aws-sig-v4-test-suite: credentials AKIDEXAMPLE, 20150830T123600Z, us-east-1, service
// "service"), so that it agrees with the specification and not only with the SDK's signer.
func TestSigV4TestSuite(t *testing.T) {
	creds := map[string]credential{
		"AKIDEXAMPLE": {secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", tokens: []string{""}},
	}
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	tests := []struct {
		name          string
		method, url   string
		body          string
		headers       [][2]string
		signedHeaders string
		signature     string
	}{
		{
			name: "get-vanilla", method: "GET", url: "/",
			signedHeaders: "host;x-amz-date",
			signature:     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		},
		{
			name: "get-vanilla-query-order-key-case", method: "GET", url: "/?Param2=value2&Param1=value1",
			signedHeaders: "host;x-amz-date",
			signature:     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
		},
		{
			name: "get-unreserved", method: "GET", url: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
			signedHeaders: "host;x-amz-date",
			signature:     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
		},
		{
			name: "get-header-value-trim", method: "GET", url: "/",
			headers:       [][2]string{{"My-Header1", " value1"}, {"My-Header2", ` "a   b   c"`}},
			signedHeaders: "host;my-header1;my-header2;x-amz-date",
			signature:     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
		},
		{
			name: "post-x-www-form-urlencoded", method: "POST", url: "/", body: "Param1=value1",
			headers:       [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
			signedHeaders: "content-type;host;x-amz-date",
			signature:     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://example.amazonaws.com"+tc.url, strings.NewReader(tc.body))
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			for _, h := range tc.headers {
				r.Header[h[0]] = []string{h[1]}
			}
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="+tc.signedHeaders+", Signature="+tc.signature)
			if e := verifySigV4(r, []byte(tc.body), "service", now, creds); e != nil {
				t.Fatalf("the published signature is refused: %v", e)
			}
			// One bit off, and it is refused.
			bad := tc.signature[:63] + string("10"[tc.signature[63]&1])
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), tc.signature, bad, 1))
			if e := verifySigV4(r, []byte(tc.body), "service", now, creds); e == nil || e.message != msgBadSignature {
				t.Fatalf("a wrong signature: got %v, want InvalidSignatureException", e)
			}
		})
	}
}

// serverTime is the sigv4 tests' server clock: two minutes before midnight, so that a signature
// from the next day is within the 5 minutes AWS allows.
var serverTime = time.Date(2024, 2, 29, 23, 58, 0, 0, time.UTC)

// sigRequest is one request of TestSigV4, signed by the SDK's signer.
type sigRequest struct {
	target        string // X-Amz-Target
	body          string
	service       string // signing scope
	region        string
	akid, secret  string
	token         string
	at            time.Time
	beforeSigning func(r *http.Request)
	afterSigning  func(r *http.Request)
}

// send builds, signs and sends the request to the proxy, and returns the answer's status, error
// code and message ("" for a success) and headers.
func (q sigRequest) send(t *testing.T, srv *Server) (status int, code, msg string, h http.Header) {
	t.Helper()
	if q.target == "" {
		q.target = "AmazonSSM.GetParameter"
	}
	if q.body == "" {
		q.body = `{"Name":"/app/DB_HOST"}`
	}
	if q.service == "" {
		q.service = "ssm"
	}
	if q.region == "" {
		q.region = "us-east-1"
	}
	if q.akid == "" {
		q.akid, q.secret = AccessKeyID, SecretAccessKey
	}
	if q.at.IsZero() {
		q.at = serverTime
	}
	r, err := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader([]byte(q.body)))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", q.target)
	if q.beforeSigning != nil {
		q.beforeSigning(r)
	}
	creds := aws.Credentials{AccessKeyID: q.akid, SecretAccessKey: q.secret, SessionToken: q.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex([]byte(q.body)), q.service, q.region, q.at); err != nil {
		t.Fatal(err)
	}
	if q.afterSigning != nil {
		q.afterSigning(r)
	}
	res, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		return res.StatusCode, "", "", res.Header
	}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("status %d, body %q: %v", res.StatusCode, b, err)
	}
	return res.StatusCode, e.Type, e.Message, res.Header
}

// setAuth rewrites the Authorization header (to take a header out of SignedHeaders, ...).
func setAuth(old, new string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
	}
}

// TestSigV4 sends requests signed by the SDK's signer through the proxy and checks that it
// refuses, with AWS's answer, those AWS would refuse.
func TestSigV4(t *testing.T) {
	srv := New(t, WithClock(func() time.Time { return serverTime }))
	ctx := context.Background()
	if err := srv.PutParameter(ctx, "/app/DB_HOST", "db.internal", false); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateSecret(ctx, "app/creds", `{"user":"app"}`); err != nil {
		t.Fatal(err)
	}

	const (
		invalidSig   = "InvalidSignatureException"
		unrecognized = "UnrecognizedClientException"
	)
	tests := []struct {
		name     string
		req      sigRequest
		wantCode string // "" for success
		wantMsg  string
	}{
		{name: "ssm", req: sigRequest{}},
		{name: "secretsmanager", req: sigRequest{
			target: "secretsmanager.GetSecretValue", body: `{"SecretId":"app/creds"}`, service: "secretsmanager",
		}},
		{name: "session token", req: sigRequest{token: SessionToken}},
		{name: "another region", req: sigRequest{region: "us-gov-west-1"}},
		{name: "within the clock skew AWS allows", req: sigRequest{at: serverTime.Add(-4 * time.Minute)}},
		{
			// AWS ignores headers that are not signed (a proxy may add some); only host, the
			// date and a session token must be. The SDK signs X-Amz-Target, but AWS would
			// take it unsigned.
			name: "X-Amz-Target not signed",
			req: sigRequest{
				beforeSigning: func(r *http.Request) { r.Header.Del("X-Amz-Target") },
				afterSigning:  func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter") },
			},
		},
		{name: "a header added after signing", req: sigRequest{
			afterSigning: func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") },
		}},

		{
			name:     "no Authorization",
			req:      sigRequest{afterSigning: func(r *http.Request) { r.Header.Del("Authorization") }},
			wantCode: "MissingAuthenticationTokenException", wantMsg: "Missing Authentication Token",
		},
		{
			name: "body changed after signing",
			req: sigRequest{afterSigning: func(r *http.Request) {
				b := []byte(`{"Name":"/app/DB_PASS"}`)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			}},
			wantCode: invalidSig, wantMsg: msgBadSignature,
		},
		{
			name:     "signed header changed",
			req:      sigRequest{afterSigning: func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSSM.DeleteParameter") }},
			wantCode: invalidSig, wantMsg: msgBadSignature,
		},
		{
			name:     "sent to another host",
			req:      sigRequest{afterSigning: func(r *http.Request) { r.Host = "ssm.us-east-1.amazonaws.com" }},
			wantCode: invalidSig, wantMsg: msgBadSignature,
		},
		{
			name: "X-Amz-Content-Sha256 not the body's",
			req: sigRequest{beforeSigning: func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("{}")))
			}},
			wantCode: invalidSig, wantMsg: msgBadSignature,
		},
		{
			name:     "wrong secret",
			req:      sigRequest{akid: AccessKeyID, secret: "not-the-secret"},
			wantCode: invalidSig, wantMsg: msgBadSignature,
		},
		{
			name:     "unknown access key",
			req:      sigRequest{akid: "AKIAIOSFODNN7EXAMPLE", secret: SecretAccessKey},
			wantCode: unrecognized, wantMsg: "The security token included in the request is invalid.",
		},
		{
			name:     "wrong session token",
			req:      sigRequest{token: "expired-or-forged"},
			wantCode: unrecognized, wantMsg: "The security token included in the request is invalid.",
		},
		{
			name: "session token added after signing",
			req: sigRequest{afterSigning: func(r *http.Request) {
				r.Header.Set("X-Amz-Security-Token", SessionToken)
			}},
			wantCode: invalidSig, wantMsg: "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:     "scoped to another service",
			req:      sigRequest{service: "secretsmanager"},
			wantCode: invalidSig, wantMsg: "Credential should be scoped to correct service: 'ssm'.",
		},
		{
			name: "Secrets Manager scoped to ssm",
			req: sigRequest{
				target: "secretsmanager.GetSecretValue", body: `{"SecretId":"app/creds"}`, service: "ssm",
			},
			wantCode: invalidSig, wantMsg: "Credential should be scoped to correct service: 'secretsmanager'.",
		},
		{
			name:     "not a region",
			req:      sigRequest{region: "aws-global"},
			wantCode: invalidSig, wantMsg: "Credential should be scoped to a valid region, not 'aws-global'.",
		},
		{
			name:     "expired",
			req:      sigRequest{at: serverTime.Add(-6 * time.Minute)},
			wantCode: invalidSig, wantMsg: "Signature expired: 20240229T235200Z is now earlier than 20240229T235300Z (20240229T235800Z - 5 min.)",
		},
		{
			name:     "from the future",
			req:      sigRequest{at: serverTime.Add(6 * time.Minute)},
			wantCode: invalidSig, wantMsg: "Signature not yet current: 20240301T000400Z is still later than 20240301T000300Z (20240229T235800Z + 5 min.)",
		},
		{
			name:     "scope date not X-Amz-Date's",
			req:      sigRequest{afterSigning: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20240301T000100Z") }},
			wantCode: invalidSig, wantMsg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240229' != '20240301', from '20240301T000100Z'.",
		},
		{
			name:     "host not signed",
			req:      sigRequest{afterSigning: setAuth("host;", "")},
			wantCode: invalidSig, wantMsg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:     "X-Amz-Date not signed",
			req:      sigRequest{afterSigning: setAuth(";x-amz-date", "")},
			wantCode: invalidSig, wantMsg: "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:     "X-Amz-Date not ISO 8601 basic",
			req:      sigRequest{afterSigning: func(r *http.Request) { r.Header.Set("X-Amz-Date", "2024-02-29T23:58:00Z") }},
			wantCode: "IncompleteSignatureException", wantMsg: "Date must be in ISO-8601 'basic format'. Got '2024-02-29T23:58:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name: "no Signature",
			req: sigRequest{afterSigning: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			}},
			wantCode: "IncompleteSignatureException", wantMsg: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=test/20240229/us-east-1/ssm/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target",
		},
		{
			name:     "another algorithm",
			req:      sigRequest{afterSigning: setAuth("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")},
			wantCode: "IncompleteSignatureException", wantMsg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code, msg, h := tc.req.send(t, srv)
			if tc.wantCode == "" {
				if status != http.StatusOK {
					t.Fatalf("refused: %d %s: %s", status, code, msg)
				}
				return
			}
			if status != http.StatusBadRequest || code != tc.wantCode || msg != tc.wantMsg {
				t.Fatalf("got %d %s: %q\nwant 400 %s: %q", status, code, msg, tc.wantCode, tc.wantMsg)
			}
			if got := h.Get("X-Amzn-Errortype"); got != tc.wantCode {
				t.Errorf("X-Amzn-Errortype = %q, want %q", got, tc.wantCode)
			}
			if got, want := h.Get("Date"), serverTime.Format(http.TimeFormat); got != want {
				t.Errorf("Date = %q, want the server's time %q", got, want)
			}
		})
	}
}

// TestSigV4ClockSkew: a client whose clock is 10 minutes behind AWS's gets "Signature expired"
// with the server's time in the Date header, and the SDK retries with its clock corrected, as
// it does against AWS.
func TestSigV4ClockSkew(t *testing.T) {
	srv := New(t, WithClock(func() time.Time { return time.Now().Add(10 * time.Minute) }))
	ctx := context.Background()
	if err := srv.PutParameter(ctx, "/app/DB_HOST", "db.internal", false); err != nil {
		t.Fatal(err)
	}
	client := ssm.NewFromConfig(srv.Config())
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/DB_HOST")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Parameter.Value); got != "db.internal" {
		t.Fatalf("value = %q", got)
	}
	if n := srv.Calls("GetParameter"); n != 2 {
		t.Fatalf("GetParameter calls = %d, want 2 (expired, then signed with the corrected clock)", n)
	}

	// A client that does not retry sees AWS's error.
	once := ssm.NewFromConfig(srv.Config(), func(o *ssm.Options) { o.RetryMaxAttempts = 1 })
	_, err = once.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/DB_HOST")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" || !strings.HasPrefix(ae.ErrorMessage(), "Signature expired: ") {
		t.Fatalf("got %v, want InvalidSignatureException: Signature expired: ...", err)
	}
}
