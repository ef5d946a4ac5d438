package cli

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/proc"
	"github.com/secretexec/secretexec/internal/taskdef"
	"github.com/secretexec/secretexec/ref"
)

// hintError is the one error-with-a-hint type: what went wrong and what to do about it.
// The packages below the command return typed errors holding facts; the command's own
// mistakes (usage) and its wrapping of others' errors are hintErrors; Hint turns either into
// advice, naming the flags to use.
type hintError struct {
	err   error
	hint  string
	usage bool // a mistake on the command line or in a SECRETEXEC_* variable
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// usagef is a usage error: a mistake on the command line or in a SECRETEXEC_* variable.
func usagef(hint, format string, args ...any) error {
	return &hintError{err: fmt.Errorf(format, args...), hint: hint, usage: true}
}

// Hint says what the user should do about err, or "": the hint a hintError in its chain
// carries, else the advice for the facts of the typed error it holds.
func Hint(err error) string {
	var he *hintError
	if errors.As(err, &he) && he.hint != "" {
		return he.hint
	}
	var fe *fetch.Error
	var se *fetch.SetupError
	var xe *proc.ExecError
	var nf *proc.NotFoundError
	var ne *env.NULError
	var we *env.UnwritableError
	var re *ref.ScanError
	var me *missingError
	var te *taskdef.SyntaxError
	var ce *taskdef.ContainerError
	var ee *taskdef.EntryError
	var ne2 *env.NamesError
	var role *fetch.RoleError
	switch {
	case errors.As(err, &me):
		return missingHint(me)
	case errors.As(err, &te):
		return "fix the JSON there; aws ecs describe-task-definition --task-definition FAMILY > FILE writes a file secretexec reads"
	case errors.Is(err, taskdef.ErrNotTaskDefinition):
		return "give the output of aws ecs describe-task-definition, a task definition (register-task-definition --cli-input-json), or its containerDefinitions array"
	case errors.As(err, &ce):
		if ce.Name == "" {
			return "pick one with --container NAME"
		}
		return "--container takes a container's name (case-sensitive)"
	case errors.As(err, &ee):
		if ee.ValueFrom {
			return valueFromHint
		}
		return ""
	case errors.As(err, &ne2):
		return "one name a line: NAME, NAME=anything or export NAME=anything; # starts a comment"
	case errors.As(err, &fe):
		return fetchHint(fe)
	case errors.As(err, &role):
		return roleHint(role)
	case errors.As(err, &se):
		return setupHint(se)
	case errors.As(err, &nf):
		if nf.Name == "" {
			return "give the command after --"
		}
		return "check the command name and PATH, or give its full path"
	case errors.As(err, &xe):
		return execHint(xe)
	case errors.As(err, &ne):
		return "remove the NUL byte from the value in AWS; without a command, --output FILE --format json can hold it"
	case errors.As(err, &we):
		if we.NUL {
			return "use --format json, which can hold it"
		}
		return "use --format dotenv or export, which hold any bytes"
	case errors.As(err, &re):
		return refHint
	}
	return ""
}

// valueFromHint lists the valueFrom forms ECS accepts.
const valueFromHint = "a secret's valueFrom is a parameter name (read in the configured region), " +
	"a parameter ARN arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, or a secret ARN " +
	"arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON_KEY:VERSION_STAGE:VERSION_ID] " +
	"(a version stage or a version id, not both)"

// missingHint says where required names could have come from: the sources given, the task
// definition, references, the inherited environment; and how to see the plan.
func missingHint(e *missingError) string {
	if e.disabled {
		return "SECRETEXEC_DISABLE is set, so nothing is fetched: set them in the environment for this run, or unset SECRETEXEC_DISABLE"
	}
	name := "NAME"
	if len(e.missing) == 1 {
		name = e.missing[0]
	}
	var from []string
	for _, src := range e.sources {
		switch {
		case src.Kind == fetch.SSMPath:
			from = append(from, fmt.Sprintf("parameter %s/%s (--ssm-path %s)", strings.TrimSuffix(src.Path, "/"), name, src.Path))
		case src.Bind != "":
			from = append(from, fmt.Sprintf("secret %s, as %s only (--secret-id %s=%s)", src.SecretID, src.Bind, src.Bind, src.SecretID))
		default:
			from = append(from, fmt.Sprintf("key %s of secret %s (--secret-id %s)", name, src.SecretID, src.SecretID))
		}
	}
	if e.task != nil {
		from = append(from, fmt.Sprintf("container %q's environment or secrets (%s)", e.task.name, e.task.file))
	}
	if e.refs > 0 {
		from = append(from, "a reference in the environment")
	}
	lead := "each could come from "
	if name != "NAME" {
		lead = "it could come from "
	}
	if len(e.sources) == 0 && e.task == nil && e.refs == 0 {
		lead = "no --ssm-path, --secret-id or reference is given: add the source that holds them, or set them in the environment"
	} else if e.output != "" {
		lead += strings.Join(from, ", or ") + " (" + e.output + " holds only what is fetched, not inherited values)"
	} else {
		lead += strings.Join(append(from, "the inherited environment"), ", or ")
	}
	return lead + "; --dry-run shows where each variable comes from"
}

// refHint lists the accepted reference forms, after a malformed one.
const refHint = "references are ssm://NAME or ssm://ARN with an optional :VERSION or :LABEL " +
	"(a hierarchical NAME starts with /: ssm:///app/prod/DB_PASS), " +
	"sm://ID or sm://ID#JSON_KEY (ID a secret name or ARN), and with --resolve-arns the ECS " +
	"valueFrom ARNs arn:aws:ssm:REGION:ACCOUNT:parameter/NAME and " +
	"arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON_KEY:VERSION_STAGE:VERSION_ID]"

const hopLimitHint = "instance metadata did not answer the token request; from a container on EC2 it needs hop limit 2: aws ec2 modify-instance-metadata-options --instance-id ID --http-put-response-hop-limit 2"

func setupHint(e *fetch.SetupError) string {
	switch e.Kind {
	case fetch.SetupConfig:
		return "check AWS_PROFILE, AWS_CONFIG_FILE and the profile's settings"
	case fetch.SetupNoRegion:
		if e.HopLimit {
			return "pass --region us-east-1 (or set AWS_REGION); " + hopLimitHint
		}
		return "pass --region us-east-1 (or set AWS_REGION)"
	case fetch.SetupBadRegion:
		return "a region is a lower-case name like us-east-1; check --region, AWS_REGION and the profile"
	case fetch.SetupNoCredentials:
		if e.HopLimit {
			return hopLimitHint
		}
		var ce *fetch.CredentialsError
		if errors.As(e, &ce) && ce.Provider != fetch.ProviderIMDS {
			h := "the AWS SDK's chain chose " + ce.Provider + " and it failed: check that provider's settings (AWS_PROFILE, AWS_CONFIG_FILE, the AWS_* variables); secretexec does not print its answer, which may hold credentials"
			if e.Role != "" {
				h = "--role-arn assumes the role with the default chain's credentials, and " + h
			}
			return h
		}
		if e.Role != "" {
			return "--role-arn assumes the role with the default chain's credentials: give the task or instance a role, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
		}
		return "give the task or instance a role, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
	}
	return ""
}

// roleHint says what to do about an AssumeRole STS refused: the IAM fix, which is on both
// sides (the role's trust policy, the caller's own policy).
func roleHint(e *fetch.RoleError) string {
	switch e.Code() {
	case "AccessDenied", "AccessDeniedException":
		ext := "; if the trust policy has an sts:ExternalId condition, pass --external-id"
		if e.ExternalID {
			ext = "; check that --external-id is the sts:ExternalId of its condition"
		}
		return fmt.Sprintf("the trust policy of %s must let the base credentials' principal (aws sts get-caller-identity) call sts:AssumeRole, and their own policy must allow sts:AssumeRole on it%s", e.Role, ext)
	case "RegionDisabledException":
		return "STS is not activated in this region for the role's account: activate it (IAM, Account settings) or pass another --region"
	case "ValidationError":
		return "check --role-arn, --role-session-name (2 to 64 of letters, digits and +=,.@_-) and --external-id"
	case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch":
		return "the base credentials that assume the role are invalid or expired; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or the task's role"
	case "Throttling": // STS's code for it
		return commonHint("ThrottlingException")
	}
	return commonHint(e.Code())
}

func execHint(e *proc.ExecError) string {
	switch {
	case e.ELF:
		return "the binary needs a dynamic loader (and C library) the image does not have, e.g. glibc in an Alpine or scratch image: build it static (CGO_ENABLED=0) or use a matching base image"
	case errors.Is(e.Err, unix.ENOENT):
		return "for a script, check that the interpreter on its #! line exists in the image"
	case errors.Is(e.Err, unix.EACCES), errors.Is(e.Err, unix.EPERM):
		return "make it executable (chmod +x) and check that its file system is not mounted noexec"
	case errors.Is(e.Err, unix.ENOEXEC):
		return "a script needs a #! line; a binary must be built for this architecture"
	}
	return ""
}

// fetchHint says what to do about a failed source or reference; for a reference the error
// did not print (fetch.Error.Found), where to look instead.
func fetchHint(e *fetch.Error) string {
	h := sourceHint(e)
	if e.Ref == nil || e.Found() || e.Ref.Ref.IsARN() {
		return h
	}
	hidden := "the reference (the variable's value) is not printed: a value that merely looks like a reference may be a password"
	if h == "" {
		return hidden
	}
	return h + "; " + hidden
}

// sourceHint says what to do about a failed source or reference.
func sourceHint(e *fetch.Error) string {
	var r ref.Ref
	if e.Ref != nil {
		r = e.Ref.Ref
	}
	// Whose policy to change: the read was made as the assumed role, if there is one.
	role := "the role"
	if e.Role != "" {
		role = "the assumed role " + e.Role
	}
	switch {
	case errors.Is(e.Err, fetch.ErrEmptyPath):
		return "check the path (names are case-sensitive and start with /); parameters nested deeper need --recursive; --allow-empty accepts an empty path"
	case errors.Is(e.Err, fetch.ErrEmptySecret):
		return "--allow-empty accepts a secret with no keys"
	case errors.Is(e.Err, fetch.ErrBinarySecret):
		return "secretexec reads SecretString only; store the value as a string (base64 if it must be binary)"
	case errors.Is(e.Err, fetch.ErrParameterNotFound):
		what := "the name (case-sensitive, a hierarchical name starts with /)"
		if r.Version != 0 || r.Label != "" {
			what = "the name and that the version or label exists"
		}
		return fmt.Sprintf("check %s and the region (%s); a parameter shared from another account needs its full ARN", what, regionOr(e.Region))
	case errors.Is(e.Err, fetch.ErrNoKey):
		return fmt.Sprintf("check the key's spelling (keys are case-sensitive); %s%s without a key takes the whole secret", ref.FormSM, r.ID)
	}
	var ce *fetch.CollisionError
	if errors.As(e.Err, &ce) {
		return "rename one of the keys; characters outside [A-Za-z0-9_] become _"
	}
	var re *fetch.ReservedError
	if errors.As(e.Err, &re) {
		return "SECRETEXEC_* variables configure secretexec and are never fetched: rename the key, and check who may write it"
	}
	var je *fetch.JSONError
	if errors.As(e.Err, &je) {
		if e.Ref != nil {
			return fmt.Sprintf("only a JSON object has keys; %s%s without a key takes the whole secret", ref.FormSM, r.ID)
		}
		return fmt.Sprintf("to put a plain (non-JSON) secret in one variable, bind it: --secret-id NAME=%s", e.Source.SecretID)
	}
	var pe *fetch.PagingError
	switch {
	case errors.As(e.Err, &pe):
		return "AWS kept answering with a NextToken: for a path this large raise --timeout; if it should be small, something in the way (AWS_ENDPOINT_URL, a proxy) loops the pages"
	case errors.Is(e.Err, fetch.ErrSameToken):
		return "that is not AWS: check AWS_ENDPOINT_URL, the profile's endpoint_url and HTTPS_PROXY"
	case fetch.ConnReset(e.Err):
		return "the connection was reset, which is not AWS being slow: something between here and AWS (a proxy, a firewall, a NAT gateway) drops it; check the network path (HTTPS_PROXY, NO_PROXY, security groups, VPC endpoints)"
	case fetch.NotTLS(e.Err):
		return "the endpoint does not speak TLS: a plain-HTTP endpoint needs an http:// URL (AWS_ENDPOINT_URL, the profile's endpoint_url, HTTPS_PROXY)"
	case fetch.TLSRefused(e.Err):
		return "the endpoint's certificate is not trusted: behind a TLS-inspecting proxy, give its CA (AWS_CA_BUNDLE, or the image's CA store)"
	}
	secretID := e.SecretID()
	if key, ok := fetch.KMSDenied(e.Err); ok {
		switch {
		case key != "":
			return fmt.Sprintf("%s needs kms:Decrypt on %s, the key that encrypts these values", role, key)
		case secretID != "":
			return fmt.Sprintf("%s needs kms:Decrypt on the secret's KMS key (KmsKeyId in: aws secretsmanager describe-secret --secret-id %s)", role, secretID)
		}
		return role + " needs kms:Decrypt on the KMS key of the SecureString parameters"
	}
	code := e.Code()
	switch {
	case e.Ref != nil && r.Kind == ref.SSM:
		if code == "AccessDeniedException" {
			return fmt.Sprintf("%s needs ssm:GetParameters on %s, and kms:Decrypt on the key of a SecureString parameter", role, paramResource(r, e.Region))
		}
		return commonHint(code)
	case e.Ref == nil && e.Source.Kind == fetch.SSMPath:
		switch code {
		case "AccessDeniedException":
			// GetParametersByPath is authorized against the path itself, not the parameters.
			return fmt.Sprintf("%s needs ssm:GetParametersByPath on arn:%s:ssm:%s:*:parameter%s, and kms:Decrypt on the key of SecureString parameters", role, ref.Partition(e.Region), regionOr(e.Region), e.Source.Path)
		case "ValidationException":
			return "a path is /-separated, starts with /, and has at most 15 levels"
		}
		return commonHint(code)
	}
	switch code {
	case "AccessDeniedException":
		if e.Ref != nil {
			return fmt.Sprintf("%s needs secretsmanager:GetSecretValue on %s, and kms:Decrypt on the secret's key if it is a customer managed key", role, refSecretResource(r, e.Region))
		}
		return fmt.Sprintf("%s needs secretsmanager:GetSecretValue on %s, and kms:Decrypt on the secret's key if it is a customer managed key", role, secretResource(secretID, e.Region))
	case "ResourceNotFoundException":
		if r.VersionStage != "" || r.VersionID != "" {
			return fmt.Sprintf("no secret with this name or ARN in region %s, or it has no version with this stage or id", regionOr(e.Region))
		}
	}
	return secretHint(code, e.Region, role)
}

// secretHint says what to do about a Secrets Manager error code; role is whose policy to
// change.
func secretHint(code, region, role string) string {
	switch code {
	case "DecryptionFailure":
		return role + " needs kms:Decrypt on the secret's KMS key (with kms:ViaService secretsmanager.<region>.amazonaws.com)"
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

func regionOr(r string) string {
	if r == "" {
		return "*"
	}
	return r
}

// paramResource is the IAM resource of the parameter a reference names; NAME stands for a
// name AWS did not confirm (ref.Ref.Shown).
func paramResource(r ref.Ref, region string) string {
	if r.IsARN() {
		return r.ID
	}
	return fmt.Sprintf("arn:%s:ssm:%s:*:parameter/NAME", ref.Partition(region), regionOr(region))
}

// refSecretResource is the IAM resource of the secret a reference names, NAME standing for
// a name AWS did not confirm.
func refSecretResource(r ref.Ref, region string) string {
	if r.IsARN() {
		return r.ID
	}
	return secretResource("NAME", region)
}

// secretResource is the IAM resource for a secret id: a full ARN as is, otherwise the name
// with the 6-character suffix AWS adds to every secret ARN.
func secretResource(id, region string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return fmt.Sprintf("arn:%s:secretsmanager:%s:*:secret:%s-??????", ref.Partition(region), regionOr(region), id)
}
