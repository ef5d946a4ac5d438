package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// CredentialsError is a failure to get credentials from the provider the SDK's chain chose.
// It says which provider and what class of failure, and never holds the SDK's message: a
// provider's answer may be the credentials themselves (the SDK quotes a credential_process
// output it cannot parse whole, and a container endpoint's or instance metadata's error
// message is whatever the answer said). It does not unwrap to the SDK's error, so that no
// code below can format it by accident; only a cancellation or deadline stays in the chain.
type CredentialsError struct {
	Provider string // which provider: "credential_process", "SSO", "web identity", ...
	Class    string // what went wrong, from the error's type: never text from an answer
	ctxErr   error  // context.Canceled or DeadlineExceeded, if that is what ended it
}

func (e *CredentialsError) Error() string { return e.Provider + ": " + e.Class }
func (e *CredentialsError) Unwrap() error { return e.ctxErr }

// ProviderIMDS is the instance role, what the chain falls back to when nothing else is
// configured.
const ProviderIMDS = "instance metadata"

// summarisedCredentials is the chain's provider with each failure summarised as a
// CredentialsError: at start-up (New), and when a request refreshes expired credentials.
type summarisedCredentials struct {
	p aws.CredentialsProvider
}

func (s *summarisedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := s.p.Retrieve(ctx)
	if err != nil {
		// Named only on failure: a start that gets its credentials never needs the name.
		return c, summariseCredentials(providerName(s.p), err)
	}
	return c, nil
}

// summarise wraps the chain's credentials so that every failure is summarised.
func summarise(p aws.CredentialsProvider) aws.CredentialsProvider {
	if p == nil {
		return nil
	}
	return &summarisedCredentials{p: p}
}

// providerName names the provider the SDK's chain chose, from its type (the chain wraps it
// in a cache).
func providerName(p aws.CredentialsProvider) string {
	cc, ok := p.(*aws.CredentialsCache)
	if !ok {
		return "the configured credentials"
	}
	for _, c := range []struct {
		p    aws.CredentialsProvider
		name string
	}{
		{&processcreds.Provider{}, "credential_process"},
		{&ssocreds.Provider{}, "SSO"},
		{&stscreds.WebIdentityRoleProvider{}, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)"},
		{&stscreds.AssumeRoleProvider{}, "assume role (the profile's role_arn)"},
		{&endpointcreds.Provider{}, "container credentials endpoint"},
		{&ec2rolecreds.Provider{}, ProviderIMDS},
		{&logincreds.Provider{}, "aws login session"},
		{credentials.StaticCredentialsProvider{}, "static keys"},
	} {
		if cc.IsCredentialsProvider(c.p) {
			return c.name
		}
	}
	return "the configured credentials"
}

// summariseCredentials is err, a provider's failure, as a CredentialsError: its class is
// decided by the types in err's chain, and the only text taken from them is what secretexec
// itself knows (an errno, an HTTP status, an exit status, a code shaped like an AWS code).
func summariseCredentials(provider string, err error) *CredentialsError {
	e := &CredentialsError{Provider: provider, Class: credentialsClass(err)}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.ctxErr = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		e.ctxErr = context.Canceled
	}
	return e
}

func credentialsClass(err error) string {
	var (
		exitErr   *exec.ExitError
		execErr   *exec.Error
		tokenErr  *ssocreds.InvalidTokenError
		sendErr   *smithyhttp.RequestSendError
		respErr   *smithyhttp.ResponseError
		apiErr    smithy.APIError
		deserErr  *smithy.DeserializationError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		timeErr   *time.ParseError
		pathErr   *os.PathError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &exitErr):
		return fmt.Sprintf("the command exited with status %d", exitErr.ExitCode())
	case errors.As(err, &execErr):
		return "the command could not be started: " + errnoOr(execErr.Err, "not found")
	case errors.As(err, &tokenErr):
		return "the SSO session has expired or is invalid (aws sso login)"
	case errors.As(err, &sendErr):
		return "unreachable: " + networkClass(err)
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr), errors.As(err, &timeErr), errors.As(err, &deserErr),
		errors.Is(err, io.ErrUnexpectedEOF):
		if errors.As(err, &respErr) && respErr.HTTPStatusCode()/100 != 2 {
			return fmt.Sprintf("HTTP %d with an answer that could not be parsed", respErr.HTTPStatusCode())
		}
		return "an answer that is not valid credentials (not parsed, or a field of the wrong type)"
	case errors.As(err, &apiErr):
		s := "refused"
		if code := apiErr.ErrorCode(); awsCode.MatchString(code) {
			s += ": " + code
		}
		if errors.As(err, &respErr) {
			s += fmt.Sprintf(" (HTTP %d)", respErr.HTTPStatusCode())
		}
		return s
	case errors.As(err, &respErr) && respErr.HTTPStatusCode()/100 == 2:
		return fmt.Sprintf("an answer that is not valid credentials (HTTP %d)", respErr.HTTPStatusCode())
	case errors.As(err, &respErr):
		return fmt.Sprintf("HTTP %d", respErr.HTTPStatusCode())
	case errors.As(err, &pathErr):
		return fmt.Sprintf("cannot %s %q: %s", pathErr.Op, pathErr.Path, errnoOr(pathErr.Err, "failed"))
	}
	var pe *processcreds.ProviderError
	if errors.As(err, &pe) {
		return "its output was not accepted (version 1 with AccessKeyId and SecretAccessKey, in time)"
	}
	return "no credentials"
}

// awsCode is the shape of an AWS error code (AccessDenied, InvalidIdentityToken.Expired):
// a code of another shape, from a hostile or broken answer, is not repeated.
var awsCode = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}(\.[A-Z][A-Za-z]{1,63})?$`)

// networkClass says why a request could not be sent, from an errno or the net package's
// types: never a URL, which the SDK's message holds.
func networkClass(err error) string {
	var dnsErr *net.DNSError
	var ne net.Error
	var errno syscall.Errno
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("no address for %q", dnsErr.Name)
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return "the connection failed"
}

func errnoOr(err error, otherwise string) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if errors.Is(err, exec.ErrNotFound) {
		return "not found"
	}
	return otherwise
}
