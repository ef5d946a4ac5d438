package awsapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// captured is one request as sent.
type captured struct {
	url                 string // scheme, host and the path on the request line
	target, contentType string
	body                map[string]any
}

// capture is an HTTP client that records each request and answers 200 {}.
type capture struct{ reqs []captured }

func (c *capture) Do(req *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(req.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/" // what goes on the request line
	}
	c.reqs = append(c.reqs, captured{req.URL.Scheme + "://" + req.URL.Host + path, req.Header.Get("X-Amz-Target"), req.Header.Get("Content-Type"), m})
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

func (c *capture) urls() []string {
	var u []string
	for _, r := range c.reqs {
		u = append(u, r.url)
	}
	return u
}

// TestRequestsMatchSDK sends each operation through the SDK's client and this package's
// with the same input and compares what goes on the wire: target, content type and the
// JSON body (as values, so key order and spacing do not matter).
func TestRequestsMatchSDK(t *testing.T) {
	sdk, ours := &capture{}, &capture{}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1}
	sc, oc := cfg.Copy(), cfg.Copy()
	sc.HTTPClient, oc.HTTPClient = sdk, ours
	ctx := context.Background()
	sSSM, sSM := ssm.NewFromConfig(sc), secretsmanager.NewFromConfig(sc)
	oSSM, oSM := NewSSM(Config{AWS: oc}), NewSecretsManager(Config{AWS: oc})
	calls := []struct {
		name      string
		sdk, ours func() error
	}{
		{"GetParametersByPath", func() error {
			_, err := sSSM.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app/prod"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true), MaxResults: aws.Int32(10), NextToken: aws.String("tok")})
			return err
		}, func() error {
			_, err := oSSM.GetParametersByPath(ctx, &GetParametersByPathInput{Path: aws.String("/app/prod"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true), MaxResults: aws.Int32(10), NextToken: aws.String("tok")})
			return err
		}},
		{"GetParametersByPath minimal", func() error {
			_, err := sSSM.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/")})
			return err
		}, func() error {
			_, err := oSSM.GetParametersByPath(ctx, &GetParametersByPathInput{Path: aws.String("/")})
			return err
		}},
		{"GetParameters", func() error {
			_, err := sSSM.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/a", "arn:aws:ssm:eu-west-1:1:parameter/b:3"}, WithDecryption: aws.Bool(true)})
			return err
		}, func() error {
			_, err := oSSM.GetParameters(ctx, &GetParametersInput{Names: []string{"/a", "arn:aws:ssm:eu-west-1:1:parameter/b:3"}, WithDecryption: aws.Bool(true)})
			return err
		}},
		{"DescribeParameters", func() error {
			_, err := sSSM.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(50), NextToken: aws.String("n"), ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{"/app"}}}})
			return err
		}, func() error {
			_, err := oSSM.DescribeParameters(ctx, &DescribeParametersInput{MaxResults: aws.Int32(50), NextToken: aws.String("n"), ParameterFilters: []ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{"/app"}}}})
			return err
		}},
		{"GetSecretValue", func() error {
			_, err := sSM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/prod"), VersionStage: aws.String("AWSPREVIOUS"), VersionId: aws.String("v1")})
			return err
		}, func() error {
			_, err := oSM.GetSecretValue(ctx, &GetSecretValueInput{SecretId: aws.String("app/prod"), VersionStage: aws.String("AWSPREVIOUS"), VersionId: aws.String("v1")})
			return err
		}},
	}
	for i, c := range calls {
		if err := c.sdk(); err != nil {
			t.Fatalf("%s via the SDK: %v", c.name, err)
		}
		if err := c.ours(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		s, o := sdk.reqs[i], ours.reqs[i]
		if !reflect.DeepEqual(s, o) {
			t.Errorf("%s:\n ours    %+v\n the SDK %+v", c.name, o, s)
		}
	}
}

// TestAnswersDecode decodes answers in AWS's documented form, including members this
// package does not keep, epoch-second timestamps and a base64 binary secret.
func TestAnswersDecode(t *testing.T) {
	var p GetParametersByPathOutput
	if err := json.Unmarshal([]byte(`{"NextToken":"nt","Parameters":[{"ARN":"arn:aws:ssm:us-east-1:1:parameter/a/B","DataType":"text","LastModifiedDate":1.7e9,"Name":"/a/B","Type":"SecureString","Value":"v\u00e9\n","Version":3,"Selector":":3"}]}`), &p); err != nil {
		t.Fatal(err)
	}
	want := Parameter{Name: aws.String("/a/B"), Value: aws.String("vé\n"), Type: "SecureString", ARN: aws.String("arn:aws:ssm:us-east-1:1:parameter/a/B"), Selector: aws.String(":3"), Version: 3}
	if len(p.Parameters) != 1 || !reflect.DeepEqual(p.Parameters[0], want) || aws.ToString(p.NextToken) != "nt" {
		t.Fatalf("got %+v", p)
	}
	var g GetParametersOutput
	if err := json.Unmarshal([]byte(`{"InvalidParameters":["/x"],"Parameters":[]}`), &g); err != nil || !reflect.DeepEqual(g.InvalidParameters, []string{"/x"}) {
		t.Fatalf("got %+v, %v", g, err)
	}
	var s GetSecretValueOutput
	if err := json.Unmarshal([]byte(`{"ARN":"arn","CreatedDate":1.7e9,"Name":"n","SecretBinary":"AAEC/w==","VersionId":"v","VersionStages":["AWSCURRENT"]}`), &s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.SecretBinary, []byte{0, 1, 2, 255}) || s.SecretString != nil || aws.ToString(s.VersionId) != "v" {
		t.Fatalf("got %+v", s)
	}
}
