package fetch

import (
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

// denied is an AccessDeniedException with AWS's message msg.
func denied(msg string) error {
	return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: msg}
}

func TestKMSDenied(t *testing.T) {
	if _, ok := KMSDenied(&smithy.GenericAPIError{Code: "ValidationException", Message: "kms:Decrypt"}); ok {
		t.Error("another code is not KMS refusing")
	}
	for _, tc := range []struct {
		msg, key string
		ok       bool
	}{
		{"User: arn:aws:sts::1:assumed-role/app/i is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:1:key/abc because no identity-based policy allows the kms:Decrypt action (Service: AWSKMS; ...)", "arn:aws:kms:us-east-1:1:key/abc", true},
		{"Access to KMS is not allowed", "", true},
		{"User: x is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:1:parameter/app", "", false},
		{"... kms:Decrypt on resource: arn:aws:kms:eu-west-1:1:alias/app", "arn:aws:kms:eu-west-1:1:alias/app", true},
	} {
		key, ok := KMSDenied(denied(tc.msg))
		if key != tc.key || ok != tc.ok {
			t.Errorf("KMSDenied(%q) = %q, %v; want %q, %v", tc.msg, key, ok, tc.key, tc.ok)
		}
	}
}

// FuzzKMSDenied: reading AWS's message never panics, and a key it names is a KMS ARN taken
// from the message, without spaces.
func FuzzKMSDenied(f *testing.F) {
	f.Add("not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:1:key/abc because")
	f.Add("Access to KMS is not allowed")
	f.Add("arn:aws:kms:")
	f.Fuzz(func(t *testing.T, msg string) {
		key, ok := KMSDenied(denied(msg))
		if key != "" && (!ok || !strings.HasPrefix(key, "arn:aws:kms:") || !strings.Contains(msg, key) || strings.ContainsAny(key, " ,;)")) {
			t.Fatalf("KMSDenied(%q) = %q, %v", msg, key, ok)
		}
	})
}
