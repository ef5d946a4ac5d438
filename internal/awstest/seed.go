package awstest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// isolatedConfig builds an SDK config by hand, so nothing is read from ~/.aws or the
// environment: static credentials, us-east-1, the given endpoint and transport.
func isolatedConfig(endpoint string, tr http.RoundTripper) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   &http.Client{Transport: tr},
		BaseEndpoint: aws.String(endpoint),
	}
}

// paramVersion is one value a parameter had, as seeded through PutParameter.
type paramVersion struct {
	version  int64
	value    string
	typ      string
	modified time.Time
}

// PutParameter creates or overwrites parameter name in kumo (String, or SecureString if
// secure) and remembers the value under its new version, for "name:VERSION" selectors.
func (s *Server) PutParameter(ctx context.Context, name, value string, secure bool) error {
	typ := ssmtypes.ParameterTypeString
	if secure {
		typ = ssmtypes.ParameterTypeSecureString
	}
	out, err := s.ssm.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("awstest: put parameter %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history[name] = append(s.history[name], paramVersion{
		version: out.Version, value: value, typ: string(typ), modified: time.Now().UTC(),
	})
	return nil
}

// LabelParameterVersion attaches labels to a version of parameter name, moving a label that
// is on another version, as AWS does. Labels live in the proxy only (kumo has none) and are
// used by "name:LABEL" selectors. Like AWS it rejects labels that start with a digit, "aws"
// or "ssm", are longer than 100 characters or have characters outside [A-Za-z0-9._-].
func (s *Server) LabelParameterVersion(name string, version int64, labels ...string) error {
	for _, l := range labels {
		if !validLabel(l) {
			return fmt.Errorf("awstest: label %q is not a valid parameter label", l)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, v := range s.history[name] {
		found = found || v.version == version
	}
	if !found {
		return fmt.Errorf("awstest: parameter %q has no seeded version %d", name, version)
	}
	if s.labels[name] == nil {
		s.labels[name] = map[string]int64{}
	}
	for _, l := range labels {
		s.labels[name][l] = version
	}
	return nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 100 || (l[0] >= '0' && l[0] <= '9') {
		return false
	}
	low := strings.ToLower(l)
	if strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") {
		return false
	}
	for _, c := range l {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// CreateSecret creates secret name holding secretString (stage AWSCURRENT) and returns its ARN.
func (s *Server) CreateSecret(ctx context.Context, name, secretString string) (arn string, err error) {
	return s.createSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(secretString)})
}

// CreateSecretBinary creates secret name holding SecretBinary b and returns its ARN.
func (s *Server) CreateSecretBinary(ctx context.Context, name string, b []byte) (arn string, err error) {
	return s.createSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: b})
}

func (s *Server) createSecret(ctx context.Context, in *secretsmanager.CreateSecretInput) (arn string, err error) {
	out, err := s.sm.CreateSecret(ctx, in)
	if err != nil {
		return "", fmt.Errorf("awstest: create secret %q: %w", aws.ToString(in.Name), err)
	}
	return aws.ToString(out.ARN), nil
}

// PutSecretValue stores a new AWSCURRENT value of secret id; the value that was AWSCURRENT
// becomes AWSPREVIOUS, and only it, as in AWS (kumo leaves AWSPREVIOUS on every older version;
// the proxy answers AWSPREVIOUS from what this helper records). It returns the new version id.
func (s *Server) PutSecretValue(ctx context.Context, id, secretString string) (versionID string, err error) {
	cur, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("awstest: put secret value %q: %w", id, err)
	}
	out, err := s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: aws.String(secretString),
	})
	if err != nil {
		return "", fmt.Errorf("awstest: put secret value %q: %w", id, err)
	}
	s.mu.Lock()
	s.previous[aws.ToString(cur.Name)] = aws.ToString(cur.VersionId)
	s.mu.Unlock()
	return aws.ToString(out.VersionId), nil
}

// wipe deletes every parameter and secret kumo holds (they may be left by an earlier Server
// of this process: kumo's storage is process-wide).
func (s *Server) wipe(ctx context.Context) error {
	var names []string
	p := ssm.NewDescribeParametersPaginator(s.ssm, &ssm.DescribeParametersInput{MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, m := range page.Parameters {
			names = append(names, aws.ToString(m.Name))
		}
	}
	for len(names) > 0 {
		n := min(len(names), 10)
		if _, err := s.ssm.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: names[:n]}); err != nil {
			return err
		}
		names = names[n:]
	}

	var secrets []smtypes.SecretListEntry
	sp := secretsmanager.NewListSecretsPaginator(s.sm, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return err
		}
		secrets = append(secrets, page.SecretList...)
	}
	for _, e := range secrets {
		_, err := s.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
			SecretId: e.Name, ForceDeleteWithoutRecovery: aws.Bool(true),
		})
		if err != nil {
			return err
		}
	}
	return nil
}
