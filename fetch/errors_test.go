package fetch

import (
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/ref"
)

func TestKMSDenial(t *testing.T) {
	for _, tc := range []struct {
		msg, key string
		ok       bool
	}{
		{"User: arn:aws:sts::1:assumed-role/app/i is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:1:key/abc because no identity-based policy allows the kms:Decrypt action (Service: AWSKMS; ...)", "arn:aws:kms:us-east-1:1:key/abc", true},
		{"Access to KMS is not allowed", "", true},
		{"User: x is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:1:parameter/app", "", false},
		{"... kms:Decrypt on resource: arn:aws:kms:eu-west-1:1:alias/app", "arn:aws:kms:eu-west-1:1:alias/app", true},
	} {
		key, ok := kmsDenial(tc.msg)
		if key != tc.key || ok != tc.ok {
			t.Errorf("kmsDenial(%q) = %q, %v; want %q, %v", tc.msg, key, ok, tc.key, tc.ok)
		}
	}
}

// FuzzKMSDenial: reading AWS's message never panics, and a key it names is a KMS ARN taken
// from the message, without spaces.
func FuzzKMSDenial(f *testing.F) {
	f.Add("not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:1:key/abc because")
	f.Add("Access to KMS is not allowed")
	f.Add("arn:aws:kms:")
	f.Fuzz(func(t *testing.T, msg string) {
		key, ok := kmsDenial(msg)
		if key != "" && (!ok || !strings.HasPrefix(key, "arn:aws:kms:") || !strings.Contains(msg, key) || strings.ContainsAny(key, " ,;)")) {
			t.Fatalf("kmsDenial(%q) = %q, %v", msg, key, ok)
		}
	})
}

// TestKMSHintForReferences: a KMS refusal behind a reference gets the kms:Decrypt hint, as
// behind a source, not the hint for the SSM or Secrets Manager action.
func TestKMSHintForReferences(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "Access to KMS is not allowed"}
	for _, tc := range []struct {
		name string
		e    interface{ Hint() string }
		want string
	}{
		{"sm reference", &Error{Ref: &VarRef{Var: "DB", Ref: ref.Ref{Kind: ref.Secret, ID: "app/prod"}}, Err: denied},
			"the role needs kms:Decrypt on the secret's KMS key (KmsKeyId in: aws secretsmanager describe-secret --secret-id app/prod)"},
		{"ssm reference", &Error{Ref: &VarRef{Var: "DB", Ref: ref.Ref{Kind: ref.SSM, ID: "/app/DB", Name: "/app/DB"}}, Err: denied},
			"the role needs kms:Decrypt on the KMS key of the SecureString parameters"},
		{"secret source", &Error{Source: Source{Kind: Secret, SecretID: "app/prod"}, Err: denied},
			"the role needs kms:Decrypt on the secret's KMS key (KmsKeyId in: aws secretsmanager describe-secret --secret-id app/prod)"},
	} {
		if got := tc.e.Hint(); got != tc.want {
			t.Errorf("%s: hint %q, want %q", tc.name, got, tc.want)
		}
	}
}
