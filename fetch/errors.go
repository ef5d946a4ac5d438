package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/ref"
)

// ErrEmptyPath is an --ssm-path that holds no parameters (without AllowEmpty).
var ErrEmptyPath = errors.New("no parameters found")

// Error is the failure of one source or one reference. Its message names the source, or the
// variable and its reference, and never a value; Hint says what to do about it.
type Error struct {
	Source    Source  // the source that failed; the zero Source for a reference
	Ref       *VarRef // the reference that failed; nil for a source
	Op        string  // the AWS operation, if the error came from AWS
	Region    string  // the region the request went to
	Attempts  int     // attempts made when the call failed after retries, else 0 or 1
	Cancelled bool    // the fetch was cancelled (deadline, signal, another source failed)
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Ref != nil {
		fmt.Fprintf(&b, "variable %s: %s: ", e.Ref.Var, e.Ref.Ref)
	} else {
		b.WriteString(e.Source.String())
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// forSource is e, from a request shared by several sources and references, as src's error.
func (e *Error) forSource(src Source) *Error {
	c := *e
	c.Source, c.Ref = src, nil
	return &c
}

// forRef is e as the error of the reference vr.
func (e *Error) forRef(vr VarRef) *Error {
	c := *e
	c.Source, c.Ref = Source{}, &vr
	return &c
}

// secretID is the id of the secret that failed, or "" for SSM.
func (e *Error) secretID() string {
	switch {
	case e.Ref != nil && e.Ref.Ref.Kind == ref.Secret:
		return e.Ref.Ref.ID
	case e.Ref == nil && e.Source.Kind == Secret:
		return e.Source.SecretID
	}
	return ""
}

// Hint says what to do about the error, or "".
func (e *Error) Hint() string {
	var r ref.Ref
	if e.Ref != nil {
		r = e.Ref.Ref
	}
	switch {
	case errors.Is(e.Err, ErrEmptyPath):
		return "check the path (names are case-sensitive and start with /); parameters nested deeper need --recursive; --allow-empty accepts an empty path"
	case errors.Is(e.Err, ErrEmptySecret):
		return "--allow-empty accepts a secret with no keys"
	case errors.Is(e.Err, ErrBinarySecret):
		return "secretexec reads SecretString only; store the value as a string (base64 if it must be binary)"
	case errors.Is(e.Err, ErrParameterNotFound):
		what := "the name (case-sensitive, a hierarchical name starts with /)"
		if r.Version != 0 || r.Label != "" {
			what = "the name and that the version or label exists"
		}
		return fmt.Sprintf("check %s and the region (%s); a parameter shared from another account needs its full ARN", what, regionOr(e.Region))
	case errors.Is(e.Err, ErrNoKey):
		return fmt.Sprintf("check the key's spelling (keys are case-sensitive); %s%s without a key takes the whole secret", ref.FormSM, r.ID)
	}
	var ce *CollisionError
	if errors.As(e.Err, &ce) {
		return "rename one of the keys; characters outside [A-Za-z0-9_] become _"
	}
	var re *ReservedError
	if errors.As(e.Err, &re) {
		return "SECRETEXEC_* variables configure secretexec and are never fetched: rename the key, and check who may write it"
	}
	var je *JSONError
	if errors.As(e.Err, &je) {
		if e.Ref != nil {
			return fmt.Sprintf("only a JSON object has keys; %s%s without a key takes the whole secret", ref.FormSM, r.ID)
		}
		return fmt.Sprintf("to put a plain (non-JSON) secret in one variable, bind it: --secret-id NAME=%s", e.Source.SecretID)
	}
	switch {
	case notTLS(e.Err):
		return "the endpoint does not speak TLS: a plain-HTTP endpoint needs an http:// URL (AWS_ENDPOINT_URL, the profile's endpoint_url, HTTPS_PROXY)"
	case tlsFailure(e.Err):
		return "the endpoint's certificate is not trusted: behind a TLS-inspecting proxy, give its CA (AWS_CA_BUNDLE, or the image's CA store)"
	}
	secretID := e.secretID()
	if h, ok := kmsHint(e.Err, secretID); ok {
		return h
	}
	code := errorCode(e.Err)
	switch {
	case e.Ref != nil && r.Kind == ref.SSM:
		if code == "AccessDeniedException" {
			return fmt.Sprintf("the role needs ssm:GetParameters on %s, and kms:Decrypt on the key of a SecureString parameter", paramResource(r, e.Region))
		}
		return commonHint(code)
	case e.Ref == nil && e.Source.Kind == SSMPath:
		switch code {
		case "AccessDeniedException":
			// GetParametersByPath is authorized against the path itself, not the parameters.
			return fmt.Sprintf("the role needs ssm:GetParametersByPath on arn:aws:ssm:%s:*:parameter%s, and kms:Decrypt on the key of SecureString parameters", regionOr(e.Region), e.Source.Path)
		case "ValidationException":
			return "a path is /-separated, starts with /, and has at most 15 levels"
		}
		return commonHint(code)
	}
	switch code {
	case "AccessDeniedException":
		return fmt.Sprintf("the role needs secretsmanager:GetSecretValue on %s, and kms:Decrypt on the secret's key if it is a customer managed key", secretResource(secretID, e.Region))
	case "ResourceNotFoundException":
		if r.VersionStage != "" || r.VersionID != "" {
			return fmt.Sprintf("no secret with this name or ARN in region %s, or it has no version with this stage or id", regionOr(e.Region))
		}
	}
	return secretHint(code, e.Region)
}

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

// paramResource is the IAM resource of the parameter a reference names.
func paramResource(r ref.Ref, region string) string {
	if strings.HasPrefix(r.ID, "arn:") {
		return r.ID
	}
	return fmt.Sprintf("arn:aws:ssm:%s:*:parameter/%s", regionOr(region), strings.TrimPrefix(r.Name, "/"))
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

// ReservedError is a key of a source whose variable name would be in secretexec's own
// namespace (env.ReservedPrefix).
type ReservedError struct {
	Name string
	Key  string
}

func (e *ReservedError) Error() string {
	return fmt.Sprintf("key %q maps to variable %s, in secretexec's own SECRETEXEC_ namespace", e.Key, e.Name)
}

// newError is a failed AWS call: AWS's code and message, or a short account of what else
// went wrong, with the attempts made and whether the fetch was cancelled.
func newError(ctx context.Context, op, region string, err error) *Error {
	e := &Error{Op: op, Region: region}
	var ae *AttemptsError
	if errors.As(err, &ae) {
		e.Attempts = ae.Attempts
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		e.Cancelled = true
		// Cut short while backing off or waiting: what the last attempt got is the story.
		if ae != nil && ae.Last != nil {
			err = ae.Last
		}
	}
	// Keep the AWS error code and message, drop the SDK's operation/request-id wrapping: the
	// source and operation are already named.
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e.Err = apiError{apiErr}
	} else {
		e.Err = shortError(err)
	}
	return e
}

// sourceError is a failed AWS call of one source, in the configured region.
func (f *Fetcher) sourceError(ctx context.Context, src Source, op string, err error) *Error {
	e := newError(ctx, op, f.Region, err)
	e.Source = src
	return e
}

// apiError prints an AWS error as "Code: message" and still unwraps to it.
type apiError struct{ smithy.APIError }

func (e apiError) Error() string { return brief(e.APIError) }

func (e apiError) Unwrap() error { return e.APIError }
