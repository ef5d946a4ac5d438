package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/internal/awsapi"
)

var (
	// ErrEmptyPath is an --ssm-path that holds no parameters (without --allow-empty).
	ErrEmptyPath = errors.New("no parameters found")
	// ErrEmptySecret is a JSON secret holding an empty object (without --allow-empty).
	ErrEmptySecret = errors.New("the secret's JSON object has no keys")
	// ErrBinarySecret is a secret stored as SecretBinary, which has no variables to give.
	ErrBinarySecret = errors.New("the secret is stored as SecretBinary, not SecretString")
)

// SourceError is a failure of one source. Its message names the source, never a value.
type SourceError struct {
	Source    Source
	Op        string // the AWS operation, if the error came from AWS
	Region    string
	Attempts  int  // attempts made when retries ran out, else 0
	Cancelled bool // the fetch was cancelled (deadline, signal, another source failed)
	Err       error
}

func (e *SourceError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source.String())
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *SourceError) Unwrap() error { return e.Err }

// Hint says what to do about the error, or "".
func (e *SourceError) Hint() string {
	switch {
	case errors.Is(e.Err, ErrEmptyPath):
		return "check the path (names are case-sensitive and start with /); parameters nested deeper need --recursive; --allow-empty accepts an empty path"
	case errors.Is(e.Err, ErrEmptySecret):
		return "--allow-empty accepts a secret with no keys"
	case errors.Is(e.Err, ErrBinarySecret):
		return "secretexec reads SecretString only; store the value as a string (base64 if it must be binary)"
	}
	var ce *CollisionError
	if errors.As(e.Err, &ce) {
		return "rename one of the keys; characters outside [A-Za-z0-9_] become _"
	}
	var je *JSONError
	if errors.As(e.Err, &je) {
		return fmt.Sprintf("to put a plain (non-JSON) secret in one variable, bind it: --secret-id NAME=%s", e.Source.SecretID)
	}
	secretID := ""
	if e.Source.Kind == Secret {
		secretID = e.Source.SecretID
	}
	if h, ok := kmsHint(e.Err, secretID); ok {
		return h
	}
	code := errorCode(e.Err)
	switch {
	case code == "AccessDeniedException" && e.Source.Kind == SSMPath:
		// GetParametersByPath is authorized against the path itself, not the parameters.
		return fmt.Sprintf("the role needs ssm:GetParametersByPath on arn:aws:ssm:%s:*:parameter%s, and kms:Decrypt on the key of SecureString parameters", regionOr(e.Region), e.Source.Path)
	case code == "AccessDeniedException":
		return fmt.Sprintf("the role needs secretsmanager:GetSecretValue on %s, and kms:Decrypt on the secret's key if it is a customer managed key", secretResource(e.Source.SecretID, e.Region))
	case code == "ValidationException" && e.Source.Kind == SSMPath:
		return "a path is /-separated, starts with /, and has at most 15 levels"
	case e.Source.Kind == SSMPath:
		return commonHint(code)
	}
	return secretHint(code, e.Region)
}

func (e *SourceError) cancelled() bool { return e.Cancelled }

// errorCode is the AWS error code in err's chain, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// secretHint says what to do about a Secrets Manager error code.
func secretHint(code, region string) string {
	switch code {
	case "DecryptionFailure":
		return "the role needs kms:Decrypt on the secret's KMS key (with kms:ViaService secretsmanager.<region>.amazonaws.com)"
	case "ResourceNotFoundException":
		return fmt.Sprintf("no secret with this name or ARN in region %s; check the spelling (names are case-sensitive) and --region", regionOr(region))
	case "InvalidRequestException":
		return "the secret may be scheduled for deletion; restore it with aws secretsmanager restore-secret"
	}
	return commonHint(code)
}

// commonHint says what to do about an error code any AWS service may answer with.
func commonHint(code string) string {
	switch code {
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "ExpiredTokenException", "SignatureDoesNotMatch":
		return "the AWS credentials are invalid or expired; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or the role"
	case "ThrottlingException", "TooManyUpdates", "ThrottledException", "RequestLimitExceeded":
		return "AWS throttled the requests; raise --timeout or --retries, or stagger the starts"
	}
	return ""
}

// kmsHint is the hint for an AccessDeniedException that is KMS refusing to decrypt: the
// fix is kms:Decrypt, not the SSM or Secrets Manager action, for sources and references
// alike. secretID is the secret's id, or "" for SSM parameters.
func kmsHint(err error, secretID string) (string, bool) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		return "", false
	}
	key, ok := kmsDenial(apiErr.ErrorMessage())
	switch {
	case !ok:
		return "", false
	case key != "":
		return fmt.Sprintf("the role needs kms:Decrypt on %s, the key that encrypts these values", key), true
	case secretID != "":
		return fmt.Sprintf("the role needs kms:Decrypt on the secret's KMS key (KmsKeyId in: aws secretsmanager describe-secret --secret-id %s)", secretID), true
	}
	return "the role needs kms:Decrypt on the KMS key of the SecureString parameters", true
}

// kmsDenial reports whether an AccessDeniedException is KMS refusing to decrypt, and names
// the key when AWS's message does. AWS gives no typed signal for this: SSM passes KMS's
// AccessDeniedException on with KMS's message ("... not authorized to perform: kms:Decrypt on
// resource: arn:aws:kms:...") and Secrets Manager says "Access to KMS is not allowed" under
// the same code as a missing secretsmanager:GetSecretValue. Only the message tells the two
// apart, and the right fix differs, so this one place reads it. (Secrets Manager's
// DecryptionFailure, the typed case, is handled by its code.)
func kmsDenial(msg string) (key string, ok bool) {
	if !strings.Contains(msg, "kms:Decrypt") && !strings.Contains(msg, "Access to KMS") {
		return "", false
	}
	if i := strings.Index(msg, "arn:aws:kms:"); i >= 0 {
		end := strings.IndexAny(msg[i:], " ,;)")
		if end < 0 {
			end = len(msg) - i
		}
		key = msg[i : i+end]
	}
	return key, true
}

func regionOr(r string) string {
	if r == "" {
		return "*"
	}
	return r
}

// secretResource is the IAM resource for a secret id: a full ARN as is, otherwise the name
// with the 6-character suffix AWS adds to every secret ARN.
func secretResource(id, region string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return fmt.Sprintf("arn:aws:secretsmanager:%s:*:secret:%s-??????", regionOr(region), id)
}

// CollisionError is two keys of one source that map to one variable name.
type CollisionError struct {
	Name string
	Keys [2]string
}

func (e *CollisionError) Error() string {
	return fmt.Sprintf("keys %q and %q both map to variable %s", e.Keys[0], e.Keys[1], e.Name)
}

func newSourceError(ctx context.Context, src Source, op string, err error) *SourceError {
	se := &SourceError{Source: src, Op: op, Err: err}
	var ae *awsapi.AttemptsError
	if errors.As(err, &ae) {
		se.Attempts = ae.Attempts
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		se.Cancelled = true
		// Cut short while backing off or waiting: what the last attempt got is the story.
		if ae != nil && ae.Last != nil {
			err = ae.Last
		}
	}
	// Keep the AWS error code and message, drop the SDK's operation/request-id wrapping: the
	// source and operation are already named.
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		se.Err = apiError{apiErr}
	} else {
		se.Err = shortError(err)
	}
	return se
}

// apiError prints an AWS error as "Code: message" and still unwraps to it.
type apiError struct{ smithy.APIError }

func (e apiError) Error() string { return awsapi.Brief(e.APIError) }

func (e apiError) Unwrap() error { return e.APIError }
