package awsapi

import "context"

// Options are per-call settings.
type Options struct {
	// Region overrides the client's region for this call (an ARN in another region).
	Region string
}

// SSM calls AWS Systems Manager Parameter Store.
type SSM struct{ c *Client }

// NewSSM returns an SSM client for cfg.
func NewSSM(cfg Config) *SSM { return &SSM{c: newClient(cfg, ssmService)} }

// GetParametersByPath reads one page of parameters under a path.
func (s *SSM) GetParametersByPath(ctx context.Context, in *GetParametersByPathInput, optFns ...func(*Options)) (*GetParametersByPathOutput, error) {
	out := &GetParametersByPathOutput{}
	md, err := s.c.call(ctx, "GetParametersByPath", in, out, optFns)
	out.ResultMetadata = md
	return out, err
}

// GetParameters reads up to 10 parameters by name or ARN.
func (s *SSM) GetParameters(ctx context.Context, in *GetParametersInput, optFns ...func(*Options)) (*GetParametersOutput, error) {
	out := &GetParametersOutput{}
	md, err := s.c.call(ctx, "GetParameters", in, out, optFns)
	out.ResultMetadata = md
	return out, err
}

// DescribeParameters lists parameters' names and metadata, without values.
func (s *SSM) DescribeParameters(ctx context.Context, in *DescribeParametersInput, optFns ...func(*Options)) (*DescribeParametersOutput, error) {
	out := &DescribeParametersOutput{}
	md, err := s.c.call(ctx, "DescribeParameters", in, out, optFns)
	out.ResultMetadata = md
	return out, err
}

// SecretsManager calls AWS Secrets Manager.
type SecretsManager struct{ c *Client }

// NewSecretsManager returns a Secrets Manager client for cfg.
func NewSecretsManager(cfg Config) *SecretsManager {
	return &SecretsManager{c: newClient(cfg, secretsService)}
}

// GetSecretValue reads one version of a secret.
func (s *SecretsManager) GetSecretValue(ctx context.Context, in *GetSecretValueInput, optFns ...func(*Options)) (*GetSecretValueOutput, error) {
	out := &GetSecretValueOutput{}
	md, err := s.c.call(ctx, "GetSecretValue", in, out, optFns)
	out.ResultMetadata = md
	return out, err
}
