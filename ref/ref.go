// Package ref parses references in environment values (ssm://, sm:// and ECS valueFrom ARNs)
// into the AWS object they name. It is pure: no AWS calls, no os.Getenv.
//
// Accepted forms (the prefix is matched exactly: no trimming, no case folding):
//
//	ssm://NAME[:VERSION|:LABEL]   a parameter by name: ssm:///app/prod/DB_PASS, ssm://plain-name
//	ssm://ARN[:VERSION|:LABEL]    a parameter by ARN: ssm://arn:aws:ssm:R:A:parameter/app/prod/DB_PASS
//	sm://ID[#KEY]                 a Secrets Manager secret by name, partial or full ARN; #KEY picks
//	                              one key of its JSON object
//	sm://ECS-SECRET-ARN           an exact ECS valueFrom (below), so versions can be chosen
//	                              without enabling bare ARNs
//
// and, only when the caller enables bare ARNs, the exact ECS valueFrom forms:
//
//	arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:VERSION|:LABEL]
//	arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON-KEY:VERSION-STAGE:VERSION-ID]
//
// As in ECS, the secret ARN carries either no trailing fields or all three; empty fields keep
// their defaults (whole SecretString, AWSCURRENT), and a version stage and a version id
// cannot both be given. PARTITION is aws or aws-* (aws-cn, aws-us-gov, ...).
//
// A reference names a secret and does not hold one, but a value that merely looks like a
// reference (a password that begins with sm://) parses as one: until AWS has found what it
// names, print Shown, not String.
package ref

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says which service a reference points into.
type Kind int

const (
	SSM    Kind = iota + 1 // an SSM Parameter Store parameter
	Secret                 // a Secrets Manager secret
)

func (k Kind) String() string {
	switch k {
	case SSM:
		return "ssm parameter"
	case Secret:
		return "secret"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Forms, as recorded in Ref.Form.
const (
	FormSSM = "ssm://"
	FormSM  = "sm://"
	FormARN = "arn"
)

// Ref is one parsed reference. The zero Ref is not a reference.
type Ref struct {
	Kind Kind
	// ID is the object as given, without selector or JSON key: for SSM the parameter name or
	// ARN (GetParameters accepts both; another account's parameter needs the ARN), for a
	// secret its name, partial ARN or full ARN (GetSecretValue's SecretId).
	ID string
	// Name is the SSM parameter name, also when ID is an ARN ("/a/b" for ...:parameter/a/b).
	// For a secret it is the name part of ID, which for a full ARN still ends in the
	// "-" and 6 random characters Secrets Manager appends.
	Name string

	Version int64  // SSM ":VERSION" selector; 0 = none
	Label   string // SSM ":LABEL" selector; "" = none

	JSONKey      string // secret: one key of its JSON object; "" = the whole SecretString
	VersionStage string // secret: staging label; "" = AWSCURRENT
	VersionID    string // secret: version id; never set together with VersionStage

	Region string // the region of an ARN; "" when ID is not an ARN
	Form   string // FormSSM, FormSM or FormARN: how the reference was written, for messages
}

// Parse reports whether value is a reference and parses it.
//
//   - ok=false, err=nil: not a reference; leave the variable alone. That is every value not
//     starting exactly with "ssm://" or "sm://", and, unless resolveARNs, every bare ARN;
//     with resolveARNs, an ARN that is not an SSM parameter or Secrets Manager secret
//     (arn:aws:s3:::bucket, an SSM document) is not a reference either.
//   - ok=true, err!=nil: it is meant as a reference but is malformed (a usage error). The
//     message says which form it was written in and what is wrong, but never quotes the
//     value: a value that merely starts like a reference (a password beginning "sm://")
//     may be a secret. The caller says where (the variable). r is the zero Ref.
//
// A value is used exactly as given, never trimmed: leading whitespace makes it a
// non-reference, and trailing whitespace makes it malformed (failing closed rather than
// passing "ssm://x " on as a value) unless it is part of a JSON key, which may hold any
// character.
func Parse(value string, resolveARNs bool) (r Ref, ok bool, err error) {
	r, err = parse(value, resolveARNs)
	switch {
	case r.Form == "":
		return Ref{}, false, nil
	case err == nil:
		return r, true, nil
	case strings.TrimRight(value, " \t\r\n\v\f") != value:
		// The usual cause, said plainly rather than as a bad character.
		err = malformed("trailing whitespace (values are used exactly as given)")
	}
	return Ref{}, true, fmt.Errorf("invalid %s reference: %w", r.Form, err)
}

// parse parses value and sets Form, also when it returns an error; Form is "" when value
// is not a reference.
func parse(value string, resolveARNs bool) (r Ref, err error) {
	var form string
	switch {
	case strings.HasPrefix(value, FormSSM):
		form = FormSSM
		r, err = parseSSM(value[len(FormSSM):])
	case strings.HasPrefix(value, FormSM):
		form = FormSM
		r, err = parseSM(value[len(FormSM):])
	case resolveARNs && strings.HasPrefix(value, "arn:"):
		a, _ := splitARN(value) // not an ARN: a is zero, neither parameter nor secret
		switch {
		case a.isParam():
			form = FormARN
			r, err = parseParamARN(a)
		case a.isSecret():
			form = FormARN
			r, err = parseSecretARN(a)
		default:
			return Ref{}, nil
		}
	default:
		return Ref{}, nil
	}
	r.Form = form
	return r, err
}

// String returns the canonical form of r; Parse(r.String(), resolveARNs) gives r back for
// the resolveARNs that produced r. It is safe to print once AWS has found what r names;
// before, Shown.
func (r Ref) String() string {
	switch r.Kind {
	case SSM:
		s := r.ID + r.selector()
		if r.Form == FormARN {
			return s
		}
		return FormSSM + s
	case Secret:
		ecs := r.VersionStage != "" || r.VersionID != ""
		switch {
		case r.Form == FormARN && (ecs || r.JSONKey != ""):
			return r.ID + ":" + r.JSONKey + ":" + r.VersionStage + ":" + r.VersionID
		case r.Form == FormARN:
			return r.ID
		case ecs:
			return FormSM + r.ID + ":" + r.JSONKey + ":" + r.VersionStage + ":" + r.VersionID
		case r.JSONKey != "":
			return FormSM + r.ID + "#" + r.JSONKey
		default:
			return FormSM + r.ID
		}
	}
	return ""
}

// Shown is what a message may say of r before AWS has found what it names: r itself when
// its ID is an ARN (a checked partition, region and account: not the shape of a password),
// else only its form ("sm:// reference"), since the value may be a password that merely
// begins with sm:// or ssm://.
func (r Ref) Shown() string {
	if r.IsARN() {
		return r.String()
	}
	return r.Form + " reference"
}

// IsARN reports whether r's ID is an ARN.
func (r Ref) IsARN() bool { return r.Region != "" }

// SSMName is what to pass in GetParameters' Names: the parameter name or ARN plus its
// ":VERSION" or ":LABEL" selector. It is "" for a secret.
func (r Ref) SSMName() string {
	if r.Kind != SSM {
		return ""
	}
	return r.ID + r.selector()
}

func (r Ref) selector() string {
	switch {
	case r.Version != 0:
		return ":" + strconv.FormatInt(r.Version, 10)
	case r.Label != "":
		return ":" + r.Label
	}
	return ""
}

// malformed says why a reference is refused; Parse adds in which form it was written.
func malformed(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// parseSSM parses what follows "ssm://": a parameter name or ARN with an optional selector.
func parseSSM(s string) (Ref, error) {
	if strings.HasPrefix(s, "arn:") {
		a, _ := splitARN(s)
		if !a.isParam() {
			return Ref{}, malformed("not an ssm parameter arn (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)")
		}
		return parseParamARN(a)
	}
	name, sel, hasSel := strings.Cut(s, ":")
	if hasSel && (sel == "" || strings.Contains(sel, ":")) {
		return Ref{}, malformed("want one :VERSION or :LABEL after the parameter name")
	}
	r := Ref{Kind: SSM, ID: name, Name: name}
	return r, r.checkSSM(sel)
}

// parseParamARN parses a parameter ARN with an optional selector.
func parseParamARN(a arnParts) (Ref, error) {
	if err := a.check(); err != nil {
		return Ref{}, err
	}
	name, sel, hasSel := strings.Cut(strings.TrimPrefix(a.resource, "parameter/"), ":")
	switch {
	case name == "":
		return Ref{}, malformed("missing parameter name after \"parameter/\"")
	case strings.HasPrefix(name, "/"):
		return Ref{}, malformed("the arn of parameter /a/b is ...:parameter/a/b, with one \"/\"")
	case hasSel && (sel == "" || strings.Contains(sel, ":")):
		return Ref{}, malformed("want one :VERSION or :LABEL after the parameter name")
	}
	r := Ref{Kind: SSM, ID: a.head + "parameter/" + name, Name: name, Region: a.region}
	// The ARN of "/a/b" is ...:parameter/a/b; a name without "/" is not hierarchical.
	if strings.Contains(name, "/") {
		r.Name = "/" + name
	}
	return r, r.checkSSM(sel)
}

// checkSSM checks r's parameter name and applies sel, if any.
func (r *Ref) checkSSM(sel string) error {
	if err := checkParamName(r.Name); err != nil {
		return err
	}
	if sel == "" {
		return nil
	}
	return r.setSelector(sel)
}

// setSelector applies a GetParameters selector: digits are a version, anything else a label.
func (r *Ref) setSelector(sel string) error {
	if isDigits(sel) {
		v, err := strconv.ParseInt(sel, 10, 64)
		if err != nil || v < 1 {
			return malformed("parameter version must be a number from 1")
		}
		r.Version = v
		return nil
	}
	// SSM label rules: 1-100 letters, digits, ".", "-", "_"; not starting with a digit
	// or, in any case, "aws" or "ssm".
	switch {
	case len(sel) > 100:
		return malformed("parameter label longer than 100 characters")
	case sel[0] >= '0' && sel[0] <= '9':
		return malformed("a parameter label cannot start with a digit, and a version is only digits")
	case hasFoldPrefix(sel, "aws") || hasFoldPrefix(sel, "ssm"):
		return malformed("a parameter label cannot start with \"aws\" or \"ssm\"")
	}
	for i := 0; i < len(sel); i++ {
		if c := sel[i]; !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return malformed("a parameter label has only letters, digits, \".\", \"-\" and \"_\"")
		}
	}
	r.Label = sel
	return nil
}

// checkParamName applies the Parameter Store naming rules: letters, digits and "_.-", with
// "/" separating the levels of a hierarchical name, which then starts with "/".
func checkParamName(name string) error {
	if name == "" {
		return malformed("missing parameter name")
	}
	if len(name) > 1011 {
		return malformed("parameter name longer than 1011 characters")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' && c != '/' {
			if c == '#' {
				return malformed("a parameter name cannot contain \"#\" (a json key is for sm:// references)")
			}
			return malformed("a parameter name has only letters, digits, \"_\", \".\", \"-\" and \"/\"")
		}
	}
	if strings.Contains(name, "/") {
		if name[0] != '/' {
			return malformed("a hierarchical parameter name starts with \"/\" (ssm:///a/b for /a/b)")
		}
		if strings.Contains(name, "//") || strings.HasSuffix(name, "/") {
			return malformed("empty level in parameter name")
		}
	}
	return nil
}

// parseSM parses what follows "sm://": a secret name or ARN, then "#KEY" or, for an ARN,
// the ECS trailing fields.
func parseSM(s string) (Ref, error) {
	id, key, hasKey := strings.Cut(s, "#")
	if hasKey && key == "" {
		return Ref{}, malformed("empty json key after \"#\"")
	}
	var r Ref
	if strings.HasPrefix(id, "arn:") {
		a, _ := splitARN(id)
		if !a.isSecret() {
			return Ref{}, malformed("not a secrets manager secret arn (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
		}
		var err error
		if r, err = parseSecretARN(a); err != nil {
			return r, err
		}
		if hasKey && (r.JSONKey != "" || r.VersionStage != "" || r.VersionID != "") {
			return Ref{}, malformed("use either \"#KEY\" or the ecs fields \":KEY:STAGE:ID\", not both")
		}
	} else {
		if strings.Contains(id, ":") {
			return Ref{}, malformed("a secret name cannot contain \":\" (a json key is sm://ID#KEY)")
		}
		if err := checkSecretName(id); err != nil {
			return Ref{}, err
		}
		r = Ref{Kind: Secret, ID: id, Name: id}
	}
	if hasKey {
		r.JSONKey = key
	}
	return r, nil
}

// parseSecretARN parses a Secrets Manager secret ARN with optional ECS trailing fields.
func parseSecretARN(a arnParts) (Ref, error) {
	if err := a.check(); err != nil {
		return Ref{}, err
	}
	fields := strings.Split(strings.TrimPrefix(a.resource, "secret:"), ":")
	r := Ref{Kind: Secret, Region: a.region}
	switch len(fields) {
	case 1:
	case 4:
		r.JSONKey, r.VersionStage, r.VersionID = fields[1], fields[2], fields[3]
	default:
		return Ref{}, malformed("a secret arn ends in :NAME or in :NAME:JSON_KEY:VERSION_STAGE:VERSION_ID (leave unused fields empty, as in :NAME:KEY::)")
	}
	name := fields[0]
	if err := checkSecretName(name); err != nil {
		return Ref{}, err
	}
	r.Name = name
	r.ID = a.head + "secret:" + name
	if r.VersionStage != "" && r.VersionID != "" {
		return Ref{}, malformed("give a version stage or a version id, not both")
	}
	if err := checkToken("version stage", r.VersionStage, 1, 256); err != nil {
		return Ref{}, err
	}
	if err := checkToken("version id", r.VersionID, 32, 64); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// SecretIDRegion checks a secret id as --secret-id and GetSecretValue take it (a name,
// a partial ARN or a full ARN) and returns the region an ARN names, or "" for a name. An id
// starting with "arn:" must be a whole Secrets Manager secret ARN: no JSON key or version
// fields, which GetSecretValue would refuse (sm://ARN#KEY picks a key).
func SecretIDRegion(id string) (string, error) {
	if !strings.HasPrefix(id, "arn:") {
		return "", nil
	}
	a, _ := splitARN(id)
	if !a.isSecret() {
		return "", malformed("not a secrets manager secret arn (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
	}
	if err := a.check(); err != nil {
		return "", err
	}
	name := strings.TrimPrefix(a.resource, "secret:")
	if strings.Contains(name, ":") {
		return "", malformed("a secret arn here names the secret only; a json key or version is for sm:// references")
	}
	if err := checkSecretName(name); err != nil {
		return "", err
	}
	return a.region, nil
}

// ValidRegion reports whether r has the shape of an AWS region name (us-east-1,
// us-gov-west-1, cn-north-1): lower-case letters, digits and "-", neither first nor last,
// at most 63 characters, so that it can stand in an endpoint's host name and in a
// signature's credential scope. It is the one region rule: for ARNs, --region and the
// region the SDK's configuration gives.
func ValidRegion(r string) bool {
	return len(r) <= 63 && isLowerDash(r) && r[0] != '-' && r[len(r)-1] != '-'
}

// Partition is the ARN partition of a region: aws-cn for cn-*, aws-us-gov for us-gov-*, the
// isolated partitions for theirs, else aws (also for "", any region).
func Partition(region string) string {
	for _, p := range [...]struct{ prefix, partition string }{
		{"cn-", "aws-cn"},
		{"us-gov-", "aws-us-gov"},
		{"us-isob-", "aws-iso-b"},
		{"us-isof-", "aws-iso-f"},
		{"eu-isoe-", "aws-iso-e"},
		{"us-iso-", "aws-iso"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// checkSecretName applies the Secrets Manager naming rules: ASCII letters, digits and
// "/_+=.@-". A full ARN's name part also ends in "-" and 6 random letters and digits.
func checkSecretName(name string) error {
	if name == "" {
		return malformed("missing secret name")
	}
	if len(name) > 512+7 {
		return malformed("secret name too long")
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case isAlnum(c), strings.IndexByte("/_+=.@-", c) >= 0:
		default:
			return malformed("a secret name has only letters, digits and \"/_+=.@-\"")
		}
	}
	return nil
}

// checkToken checks an optional ECS field: empty, or min to max printable characters
// without spaces.
func checkToken(what, s string, min, max int) error {
	if s == "" {
		return nil
	}
	if len(s) < min || len(s) > max {
		return malformed("%s must have %d to %d characters", what, min, max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return malformed("%s has a space or a non-printable character", what)
		}
	}
	return nil
}

type arnParts struct {
	head                                          string // "arn:PARTITION:SERVICE:REGION:ACCOUNT:"
	partition, service, region, account, resource string
}

// splitARN splits arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE without allocating. It
// reports false when s is not an ARN at all; the fields are checked by check.
func splitARN(s string) (arnParts, bool) {
	var f [5]string
	rest := s
	for i := range f {
		var found bool
		if f[i], rest, found = strings.Cut(rest, ":"); !found {
			return arnParts{}, false
		}
	}
	if f[0] != "arn" {
		return arnParts{}, false
	}
	return arnParts{s[:len(s)-len(rest)], f[1], f[2], f[3], f[4], rest}, true
}

func (a arnParts) isParam() bool {
	return a.service == "ssm" && strings.HasPrefix(a.resource, "parameter/")
}

func (a arnParts) isSecret() bool {
	return a.service == "secretsmanager" && strings.HasPrefix(a.resource, "secret:")
}

// check validates the partition, region and account of an SSM or Secrets Manager ARN.
func (a arnParts) check() error {
	if err := a.checkPartition(); err != nil {
		return err
	}
	if !ValidRegion(a.region) {
		return malformed("arn region must be like us-east-1")
	}
	return a.checkAccount()
}

// checkPartition validates the partition of any ARN: aws or aws-*.
func (a arnParts) checkPartition() error {
	if a.partition != "aws" && !(strings.HasPrefix(a.partition, "aws-") && isLowerDash(a.partition) &&
		!strings.HasSuffix(a.partition, "-")) {
		return malformed("arn partition must be aws or aws-* (aws-cn, aws-us-gov)")
	}
	return nil
}

// checkAccount validates the account of any ARN that names one: 12 digits.
func (a arnParts) checkAccount() error {
	if len(a.account) != 12 || !isDigits(a.account) {
		return malformed("arn account id must be 12 digits")
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isLowerDash reports whether s is lowercase letters, digits and "-", as partitions and
// regions are.
func isLowerDash(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// RegionOf returns the region of any ARN (arn:PARTITION:SERVICE:REGION:...), such as an ECS
// task definition's, or "" when s is not an ARN or names no valid region.
func RegionOf(s string) string {
	a, ok := splitARN(s)
	if !ok || a.region == "" || !ValidRegion(a.region) {
		return ""
	}
	return a.region
}
