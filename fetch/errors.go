package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/ref"
)

// ErrEmptyPath is a path that holds no parameters (without AllowEmpty).
var ErrEmptyPath = errors.New("no parameters found")

// ErrSameToken is a page whose NextToken is the one it was asked with: the pages would
// go round forever (a proxy or a broken endpoint in the way; AWS never does this).
var ErrSameToken = errors.New("the answer's NextToken is the one it was asked with: the pages would never end")

// PagingError is a deadline that passed while a path was still being paged: every answer
// came, and each had a NextToken. "No answer before the deadline" would be wrong.
type PagingError struct {
	Pages int   // requests answered
	Err   error // the cancelled request's error
}

func (e *PagingError) Error() string {
	return fmt.Sprintf("still paging when the deadline passed: %d requests answered, and the pages had not ended", e.Pages)
}

func (e *PagingError) Unwrap() error { return e.Err }

// pagingError is e, a path's failure after pages of answers, as a PagingError when the
// deadline ended it.
func pagingError(ctx context.Context, e *Error, pages int) *Error {
	if pages > 1 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.Err = &PagingError{Pages: pages, Err: e.Err}
	}
	return e
}

// ConnReset reports whether err is a connection reset: something between secretexec and
// AWS (a proxy, a firewall, a NAT gateway) dropped it, which is not AWS being slow.
func ConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

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
	msg := e.Err.Error()
	var apiErr smithy.APIError
	if e.Ref != nil && e.hidden() && errors.As(e.Err, &apiErr) {
		// AWS's message may name the reference (an IAM denial names the resource): its
		// code only.
		msg = apiErr.ErrorCode()
	}
	b.WriteString(e.subject())
	b.WriteString(": ")
	b.WriteString(msg)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Role != "" && e.Op != "" {
		fmt.Fprintf(&b, " (as role %s)", e.Role)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// subject is what failed, as the message says it: the source, or the variable and its
// reference (ref.Ref.Shown while hidden).
func (e *Error) subject() string {
	if e.Ref == nil {
		return e.Source.String()
	}
	return fmt.Sprintf("variable %s: %s", e.Ref.Var, e.ShownRef())
}

// ShownRef is the failed reference as every message shows it: whole once AWS found what it
// names, or when it is an ARN; else only its form (ref.Ref.Shown). "" for a source.
func (e *Error) ShownRef() string {
	switch {
	case e.Ref == nil:
		return ""
	case e.hidden():
		return e.Ref.Ref.Shown()
	}
	return e.Ref.Ref.String()
}

// hidden reports whether the failed reference is not printed whole (Found).
func (e *Error) hidden() bool { return e.Ref != nil && !e.Found() && !e.Ref.Ref.IsARN() }

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

// Found reports whether AWS found what the failed reference names (the secret exists; what
// failed is its key, its JSON, its form or its decryption): only then is the reference
// printed whole, since a value that merely looks like a reference may be a password.
func (e *Error) Found() bool {
	var je *JSONError
	var ce *CollisionError
	var re *ReservedError
	_, kms := KMSDenied(e.Err)
	return errors.Is(e.Err, ErrNoKey) || errors.Is(e.Err, ErrEmptySecret) || errors.Is(e.Err, ErrBinarySecret) ||
		errors.As(e.Err, &je) || errors.As(e.Err, &ce) || errors.As(e.Err, &re) ||
		kms || e.Code() == "DecryptionFailure"
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
	status, hasStatus := httpStatus(err)
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownError" && hasStatus && status/100 != 2:
		// The SDK found no AWS error in the answer (a redirect, an empty body): not AWS's.
		e.Err = &sdkError{msg: notAWS(status), err: err}
	case apiErr != nil:
		e.Err = apiError{apiErr}
	default:
		e.Err = shortError(err)
	}
	return e
}

// notAWS is the message for an HTTP error answer that is not AWS's.
func notAWS(status int) string {
	if status/100 == 3 {
		return fmt.Sprintf("HTTP %d, a redirect, which AWS never answers (a proxy or captive portal in the way?)", status)
	}
	return fmt.Sprintf("HTTP %d with an answer that is not from AWS (a proxy in the way?)", status)
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
