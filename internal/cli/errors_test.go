package cli

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/proc"
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

// TestHints: the advice for the typed errors of the packages below the command.
func TestHints(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string // a part of the hint
	}{
		{"malformed reference", &ref.ScanError{Var: "A", Err: errors.New("x")}, "with --resolve-arns the ECS valueFrom ARNs"},
		{"NUL in export", &env.UnwritableError{Name: "N", Format: env.Export, NUL: true}, "use --format json"},
		{"invalid UTF-8 in json", &env.UnwritableError{Name: "U", Format: env.JSON}, "use --format dotenv or export"},
		{"NUL in exec", &env.NULError{Name: "N"}, "--output FILE --format json can hold it"},
		{"no region", &fetch.SetupError{Kind: fetch.SetupNoRegion, Err: errors.New("x")}, "pass --region us-east-1"},
		{"no region, hop limit", &fetch.SetupError{Kind: fetch.SetupNoRegion, Err: errors.New("x"), HopLimit: true}, "--http-put-response-hop-limit 2"},
		{"command not found", &proc.NotFoundError{Name: "app"}, "check the command name and PATH"},
		{"interpreter missing", &proc.ExecError{Path: "/app", Err: unix.ENOENT}, "the interpreter on its #! line"},
		{"IAM hint in aws-cn", &fetch.Error{Source: fetch.Source{Kind: fetch.SSMPath, Path: "/app"}, Region: "cn-north-1", Err: &smithy.GenericAPIError{Code: "AccessDeniedException"}},
			"ssm:GetParametersByPath on arn:aws-cn:ssm:cn-north-1:*:parameter/app"},
		{"IAM hint in aws-us-gov", &fetch.Error{Source: fetch.Source{Kind: fetch.Secret, SecretID: "app"}, Region: "us-gov-west-1", Err: &smithy.GenericAPIError{Code: "AccessDeniedException"}},
			"secretsmanager:GetSecretValue on arn:aws-us-gov:secretsmanager:us-gov-west-1:*:secret:app-??????"},
		{"IAM hint for a reference in aws-cn", &fetch.Error{Ref: &ref.VarRef{Var: "DB", Ref: ref.Ref{Kind: ref.SSM, ID: "/app/DB", Name: "/app/DB", Form: ref.FormSSM}}, Region: "cn-northwest-1", Err: &smithy.GenericAPIError{Code: "AccessDeniedException"}},
			"ssm:GetParameters on arn:aws-cn:ssm:cn-northwest-1:*:parameter/NAME"},
		{"joined: the first hint", errors.Join(&ref.ScanError{Var: "A", Err: errors.New("x")}), "references are ssm://NAME"},
	} {
		if got := Hint(tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("%s: hint %q, want one holding %q", tc.name, got, tc.want)
		}
	}
}

// TestRefHintNamesEveryForm keeps the hint after a malformed reference in step with the
// forms ref.Parse accepts.
func TestRefHintNamesEveryForm(t *testing.T) {
	for _, s := range []string{"ssm://", "sm://", "#", ":VERSION", ":LABEL", "--resolve-arns",
		"arn:aws:ssm:", "arn:aws:secretsmanager:", "VERSION_STAGE", "VERSION_ID"} {
		if !strings.Contains(refHint, s) {
			t.Errorf("the hint does not mention %q", s)
		}
	}
}

// TestRoleHints: each step of --role-arn that can fail gets advice for that step: the base
// credentials, the AssumeRole (by STS's code), the read made as the role.
func TestRoleHints(t *testing.T) {
	const arn = "arn:aws:iam::123456789012:role/central"
	sts := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no base credentials", &fetch.SetupError{Kind: fetch.SetupNoCredentials, Role: arn, Err: errors.New("x")}, "--role-arn assumes the role with the default chain's credentials"},
		{"not trusted", &fetch.RoleError{Role: arn, Err: sts("AccessDenied")}, "the trust policy of " + arn + " must let the base credentials' principal"},
		{"not trusted, no external id", &fetch.RoleError{Role: arn, Err: sts("AccessDenied")}, "if the trust policy has an sts:ExternalId condition, pass --external-id"},
		{"wrong external id", &fetch.RoleError{Role: arn, ExternalID: true, Err: sts("AccessDenied")}, "check that --external-id is the sts:ExternalId of its condition"},
		{"sts off in the region", &fetch.RoleError{Role: arn, Err: sts("RegionDisabledException")}, "STS is not activated in this region"},
		{"validation", &fetch.RoleError{Role: arn, Err: sts("ValidationError")}, "check --role-arn, --role-session-name"},
		{"base credentials invalid", &fetch.RoleError{Role: arn, Err: sts("InvalidClientTokenId")}, "the base credentials that assume the role are invalid"},
		{"throttled", &fetch.RoleError{Role: arn, Err: sts("Throttling")}, "AWS throttled the requests"},
		{"read denied", &fetch.Error{Source: fetch.Source{Kind: fetch.SSMPath, Path: "/p"}, Op: "GetParametersByPath", Role: arn, Region: "us-east-1", Err: sts("AccessDeniedException")},
			"the assumed role " + arn + " needs ssm:GetParametersByPath on arn:aws:ssm:us-east-1:*:parameter/p"},
	} {
		got := Hint(tc.err)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: hint %q, want it to contain %q", tc.name, got, tc.want)
		}
	}
}
