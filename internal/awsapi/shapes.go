package awsapi

// The request and answer shapes of the four operations secretexec calls, with the members
// it uses. Field names are AWS's member names, which is what the JSON 1.1 protocol puts on
// the wire; members it does not read are left out (the decoder skips them). Optional members
// are pointers, as in the SDK, so that "not set" is not sent.

// Metadata is about the call, not from AWS's answer.
type Metadata struct {
	// Attempts is how many attempts the call made (1 when the first one answered).
	Attempts int
}

// GetParametersByPathInput is SSM's GetParametersByPath request.
type GetParametersByPathInput struct {
	Path           *string `json:",omitempty"`
	Recursive      *bool   `json:",omitempty"`
	WithDecryption *bool   `json:",omitempty"`
	MaxResults     *int32  `json:",omitempty"`
	NextToken      *string `json:",omitempty"`
}

// GetParametersByPathOutput is its answer.
type GetParametersByPathOutput struct {
	Parameters     []Parameter
	NextToken      *string
	ResultMetadata Metadata `json:"-"`
}

// GetParametersInput is SSM's GetParameters request (at most 10 names).
type GetParametersInput struct {
	Names          []string
	WithDecryption *bool `json:",omitempty"`
}

// GetParametersOutput is its answer.
type GetParametersOutput struct {
	Parameters        []Parameter
	InvalidParameters []string
	ResultMetadata    Metadata `json:"-"`
}

// Parameter is an SSM parameter with its value.
type Parameter struct {
	Name     *string
	Value    *string
	Type     string
	ARN      *string
	Selector *string
	Version  int64
}

// DescribeParametersInput is SSM's DescribeParameters request.
type DescribeParametersInput struct {
	ParameterFilters []ParameterStringFilter `json:",omitempty"`
	MaxResults       *int32                  `json:",omitempty"`
	NextToken        *string                 `json:",omitempty"`
}

// ParameterStringFilter is one DescribeParameters filter.
type ParameterStringFilter struct {
	Key    *string
	Option *string  `json:",omitempty"`
	Values []string `json:",omitempty"`
}

// DescribeParametersOutput is its answer.
type DescribeParametersOutput struct {
	Parameters     []ParameterMetadata
	NextToken      *string
	ResultMetadata Metadata `json:"-"`
}

// ParameterMetadata is a listed parameter, without its value.
type ParameterMetadata struct {
	Name *string
	ARN  *string
	Type string
}

// GetSecretValueInput is Secrets Manager's GetSecretValue request.
type GetSecretValueInput struct {
	SecretId     *string `json:",omitempty"`
	VersionId    *string `json:",omitempty"`
	VersionStage *string `json:",omitempty"`
}

// GetSecretValueOutput is its answer. SecretBinary is base64 on the wire.
type GetSecretValueOutput struct {
	ARN            *string
	Name           *string
	VersionId      *string
	SecretString   *string
	SecretBinary   []byte
	ResultMetadata Metadata `json:"-"`
}
