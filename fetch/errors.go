package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/ref"
)

// ErrEmptyPath is a path that holds no parameters (without AllowEmpty).
var ErrEmptyPath = errors.New("no parameters found")

// Error is the failure of one source or one reference. Its message names the source, or the
// variable and its reference, and never a value; its fields are the facts the command's
// advice is made of.
type Error struct {
	Source    Source      // the source that failed; the zero Source for a reference
	Ref       *ref.VarRef // the reference that failed; nil for a source
	Op        string      // the AWS operation, if the error came from AWS
	Region    string      // the region the request went to
	Attempts  int         // attempts made when the call failed after retries, else 0 or 1
	Cancelled bool        // the fetch was cancelled (deadline, signal, another source failed)
	Role      string      // the assumed role the request was made as, or ""
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
	if e.Role != "" && e.Op != "" {
		fmt.Fprintf(&b, " (as role %s)", e.Role)
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
func (e *Error) forRef(vr ref.VarRef) *Error {
	c := *e
	c.Source, c.Ref = Source{}, &vr
	return &c
}

// SecretID is the id of the secret that failed, or "" for SSM.
func (e *Error) SecretID() string {
	switch {
	case e.Ref != nil && e.Ref.Ref.Kind == ref.Secret:
		return e.Ref.Ref.ID
	case e.Ref == nil && e.Source.Kind == Secret:
		return e.Source.SecretID
	}
	return ""
}

// Code is the AWS error code the failure came with, or "".
func (e *Error) Code() string { return ErrorCode(e.Err) }

// ErrorCode is the AWS error code in err's chain, or "".
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// KMSDenied reports whether err is an AccessDeniedException that is KMS refusing to
// decrypt, and names the key when AWS's message does. AWS gives no typed signal for this:
// SSM passes KMS's AccessDeniedException on with KMS's message ("... not authorized to
// perform: kms:Decrypt on resource: arn:aws:kms:...") and Secrets Manager says "Access to KMS
// is not allowed" under the same code as a missing secretsmanager:GetSecretValue. Only the
// message tells the two apart, and the fix differs, so this one place reads it. (Secrets
// Manager's DecryptionFailure, the typed case, has a code of its own.)
func KMSDenied(err error) (key string, ok bool) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		return "", false
	}
	msg := apiErr.ErrorMessage()
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
