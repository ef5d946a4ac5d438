package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Role is a role every AWS request is made as: AssumeRole on ARN with the default chain's
// credentials, through the SDK's stscreds provider, behind the SDK's credentials cache, which
// renews the credentials before they expire (under --watch, for as long as it runs).
type Role struct {
	ARN         string
	ExternalID  string // "" for none
	SessionName string // what CloudTrail shows as the session; see ValidSessionName
}

// STS's rules for RoleSessionName ([\w+=,.@-]{2,64}) and ExternalId ([\w+=,.@:/-]{2,1224}).
const (
	minSessionName, maxSessionName = 2, 64
	minExternalID, maxExternalID   = 2, 1224
)

// ValidSessionName reports whether s is a RoleSessionName STS accepts.
func ValidSessionName(s string) bool {
	return len(s) >= minSessionName && len(s) <= maxSessionName && onlyChars(s, "_+=,.@-")
}

// ValidExternalID reports whether s is an ExternalId STS accepts.
func ValidExternalID(s string) bool {
	return len(s) >= minExternalID && len(s) <= maxExternalID && onlyChars(s, "_+=,.@:/-")
}

// SessionName is "secretexec-" and host (a host name, a task id) made a valid
// RoleSessionName: other characters become "-", and it is cut to STS's 64.
func SessionName(host string) string {
	b := []byte("secretexec-" + host)
	for i, c := range b {
		if !onlyChars(string(c), "_+=,.@-") {
			b[i] = '-'
		}
	}
	s := strings.TrimRight(string(b[:min(len(b), maxSessionName)]), "-")
	if len(s) < len("secretexec") {
		return "secretexec"
	}
	return s
}

func onlyChars(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// RoleError is an AssumeRole that failed: the base credentials are there, but STS would not
// give the role's (the trust policy, the caller's sts:AssumeRole, the external id).
type RoleError struct {
	Role       string
	ExternalID bool // an external id was sent
	Err        error
}

func (e *RoleError) Error() string { return fmt.Sprintf("assuming role %s: %v", e.Role, e.Err) }
func (e *RoleError) Unwrap() error { return e.Err }

// Code is STS's error code (AccessDenied, RegionDisabledException, ...), or "".
func (e *RoleError) Code() string { return ErrorCode(e.Err) }

// roleRenewal is how long before their expiry the role's credentials are renewed (the
// SDK's default lifetime for them is 15 minutes).
const roleRenewal = time.Minute

// assumeRole puts the role's credentials in cfg, whose credentials are the base ones, and
// gets them once, so that a role that cannot be assumed fails before any source is read.
func assumeRole(ctx context.Context, cfg *aws.Config, r *Role) error {
	client := sts.NewFromConfig(*cfg)
	provider := stscreds.NewAssumeRoleProvider(client, r.ARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.SessionName
		if r.ExternalID != "" {
			o.ExternalID = aws.String(r.ExternalID)
		}
	})
	cfg.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		// Renewed a while before they expire, so that no request of a check under --watch
		// is signed with credentials that expire on its way.
		o.ExpiryWindow = roleRenewal
	})
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("assuming role %s: %w", r.ARN, ctx.Err())
		}
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			err = apiError{apiErr}
		} else {
			err = shortError(err) // an STS answer holds credentials: never quoted
		}
		return &RoleError{Role: r.ARN, ExternalID: r.ExternalID != "", Err: err}
	}
	return nil
}
