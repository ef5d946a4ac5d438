package cli

import (
	"testing"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/ref"
)

// TestKMSHintForReferences: a KMS refusal behind a reference gets the kms:Decrypt hint, as
// behind a source, not the hint for the SSM or Secrets Manager action.
func TestKMSHintForReferences(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "Access to KMS is not allowed"}
	for _, tc := range []struct {
		name string
		e    error
		want string
	}{
		{"sm reference", &fetch.Error{Ref: &ref.VarRef{Var: "DB", Ref: ref.Ref{Kind: ref.Secret, ID: "app/prod"}}, Err: denied},
			"the role needs kms:Decrypt on the secret's KMS key (KmsKeyId in: aws secretsmanager describe-secret --secret-id app/prod)"},
		{"ssm reference", &fetch.Error{Ref: &ref.VarRef{Var: "DB", Ref: ref.Ref{Kind: ref.SSM, ID: "/app/DB", Name: "/app/DB"}}, Err: denied},
			"the role needs kms:Decrypt on the KMS key of the SecureString parameters"},
		{"secret source", &fetch.Error{Source: fetch.Source{Kind: fetch.Secret, SecretID: "app/prod"}, Err: denied},
			"the role needs kms:Decrypt on the secret's KMS key (KmsKeyId in: aws secretsmanager describe-secret --secret-id app/prod)"},
	} {
		if got := Hint(tc.e); got != tc.want {
			t.Errorf("%s: hint %q, want %q", tc.name, got, tc.want)
		}
	}
}
