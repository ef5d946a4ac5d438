package ref

import (
	"strings"
	"testing"
)

const (
	smARN  = "arn:aws:secretsmanager:us-west-2:111122223333:secret:appauthexample-AbCdEf"
	ssmARN = "arn:aws:ssm:us-east-1:123456789012:parameter/auraxis/prod/DB_PASS"
	verID  = "9d4cb84b-ad69-40e0-a0ab-cEXAMPLE"
)

func TestParse(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		value string
		arns  bool // resolveARNs
		ok    bool
		want  Ref
		err   string // substring of the error; "" = no error
	}{
		// ssm:// by name
		{
			name:  "ssm_hierarchical_name",
			value: "ssm:///auraxis/prod/DB_PASS",
			ok:    true,
			want:  Ref{Kind: SSM, ID: "/auraxis/prod/DB_PASS", Name: "/auraxis/prod/DB_PASS", Form: FormSSM},
		},
		{
			name:  "ssm_plain_name",
			value: "ssm://plain-name",
			ok:    true,
			want:  Ref{Kind: SSM, ID: "plain-name", Name: "plain-name", Form: FormSSM},
		},
		{
			name:  "ssm_name_all_allowed_chars",
			value: "ssm:///a_b.c-D/9",
			ok:    true,
			want:  Ref{Kind: SSM, ID: "/a_b.c-D/9", Name: "/a_b.c-D/9", Form: FormSSM},
		},
		{
			name:  "ssm_public_aws_parameter",
			value: "ssm:///aws/service/global-infrastructure/version",
			ok:    true,
			want: Ref{Kind: SSM, ID: "/aws/service/global-infrastructure/version",
				Name: "/aws/service/global-infrastructure/version", Form: FormSSM},
		},
		{
			name:  "ssm_version",
			value: "ssm:///auraxis/prod/DB_PASS:3",
			ok:    true,
			want:  Ref{Kind: SSM, ID: "/auraxis/prod/DB_PASS", Name: "/auraxis/prod/DB_PASS", Version: 3, Form: FormSSM},
		},
		{
			name:  "ssm_label",
			value: "ssm:///auraxis/prod/DB_PASS:Production",
			ok:    true,
			want:  Ref{Kind: SSM, ID: "/auraxis/prod/DB_PASS", Name: "/auraxis/prod/DB_PASS", Label: "Production", Form: FormSSM},
		},
		{
			name:  "ssm_label_punctuation",
			value: "ssm://name:release_2.0-rc",
			ok:    true,
			want:  Ref{Kind: SSM, ID: "name", Name: "name", Label: "release_2.0-rc", Form: FormSSM},
		},
		// ssm:// by ARN
		{
			name:  "ssm_arn",
			value: "ssm://" + ssmARN,
			ok:    true,
			want:  Ref{Kind: SSM, ID: ssmARN, Name: "/auraxis/prod/DB_PASS", Region: "us-east-1", Form: FormSSM},
		},
		{
			name:  "ssm_arn_version",
			value: "ssm://" + ssmARN + ":12",
			ok:    true,
			want:  Ref{Kind: SSM, ID: ssmARN, Name: "/auraxis/prod/DB_PASS", Version: 12, Region: "us-east-1", Form: FormSSM},
		},
		{
			name:  "ssm_arn_plain_name_label",
			value: "ssm://arn:aws:ssm:eu-west-1:123456789012:parameter/plain:live",
			ok:    true,
			want: Ref{Kind: SSM, ID: "arn:aws:ssm:eu-west-1:123456789012:parameter/plain", Name: "plain",
				Label: "live", Region: "eu-west-1", Form: FormSSM},
		},
		{
			name:  "ssm_arn_not_needing_resolve_arns",
			value: "ssm://" + ssmARN,
			arns:  true,
			ok:    true,
			want:  Ref{Kind: SSM, ID: ssmARN, Name: "/auraxis/prod/DB_PASS", Region: "us-east-1", Form: FormSSM},
		},
		// sm://
		{
			name:  "sm_name",
			value: "sm://auraxis/prod/app",
			ok:    true,
			want:  Ref{Kind: Secret, ID: "auraxis/prod/app", Name: "auraxis/prod/app", Form: FormSM},
		},
		{
			name:  "sm_name_all_allowed_chars",
			value: "sm://a/b_c+d=e.f@g-h",
			ok:    true,
			want:  Ref{Kind: Secret, ID: "a/b_c+d=e.f@g-h", Name: "a/b_c+d=e.f@g-h", Form: FormSM},
		},
		{
			name:  "sm_name_key",
			value: "sm://auraxis/prod/app#DB_PASS",
			ok:    true,
			want:  Ref{Kind: Secret, ID: "auraxis/prod/app", Name: "auraxis/prod/app", JSONKey: "DB_PASS", Form: FormSM},
		},
		{
			name:  "sm_key_any_characters",
			value: "sm://app#a key:with#colons ",
			ok:    true,
			want:  Ref{Kind: Secret, ID: "app", Name: "app", JSONKey: "a key:with#colons ", Form: FormSM},
		},
		{
			name:  "sm_full_arn",
			value: "sm://" + smARN,
			ok:    true,
			want:  Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", Region: "us-west-2", Form: FormSM},
		},
		{
			name:  "sm_partial_arn_key",
			value: "sm://arn:aws:secretsmanager:us-west-2:111122223333:secret:auraxis/prod/app#DB_PASS",
			ok:    true,
			want: Ref{Kind: Secret, ID: "arn:aws:secretsmanager:us-west-2:111122223333:secret:auraxis/prod/app",
				Name: "auraxis/prod/app", JSONKey: "DB_PASS", Region: "us-west-2", Form: FormSM},
		},
		{
			name:  "sm_ecs_fields",
			value: "sm://" + smARN + ":username1:AWSPREVIOUS:",
			ok:    true,
			want: Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", JSONKey: "username1",
				VersionStage: "AWSPREVIOUS", Region: "us-west-2", Form: FormSM},
		},
		// Bare ECS valueFrom ARNs, examples from the ECS developer guide.
		{
			name:  "ecs_whole_secret",
			value: smARN,
			arns:  true,
			ok:    true,
			want:  Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_json_key",
			value: smARN + ":username1::",
			arns:  true,
			ok:    true,
			want: Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", JSONKey: "username1",
				Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_version_stage",
			value: smARN + "::AWSPREVIOUS:",
			arns:  true,
			ok:    true,
			want: Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", VersionStage: "AWSPREVIOUS",
				Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_version_id",
			value: smARN + ":::" + verID,
			arns:  true,
			ok:    true,
			want: Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", VersionID: verID,
				Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_json_key_and_version_stage",
			value: smARN + ":username1:AWSPREVIOUS:",
			arns:  true,
			ok:    true,
			want: Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", JSONKey: "username1",
				VersionStage: "AWSPREVIOUS", Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_json_key_and_version_id",
			value: smARN + ":username1::" + verID,
			arns:  true,
			ok:    true,
			want: Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", JSONKey: "username1",
				VersionID: verID, Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_all_fields_empty",
			value: smARN + ":::",
			arns:  true,
			ok:    true,
			want:  Ref{Kind: Secret, ID: smARN, Name: "appauthexample-AbCdEf", Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_partial_arn",
			value: "arn:aws:secretsmanager:us-west-2:111122223333:secret:auraxis/prod/app",
			arns:  true,
			ok:    true,
			want: Ref{Kind: Secret, ID: "arn:aws:secretsmanager:us-west-2:111122223333:secret:auraxis/prod/app",
				Name: "auraxis/prod/app", Region: "us-west-2", Form: FormARN},
		},
		{
			name:  "ecs_ssm_arn",
			value: ssmARN,
			arns:  true,
			ok:    true,
			want:  Ref{Kind: SSM, ID: ssmARN, Name: "/auraxis/prod/DB_PASS", Region: "us-east-1", Form: FormARN},
		},
		{
			name:  "ecs_ssm_arn_plain_name",
			value: "arn:aws:ssm:us-east-1:123456789012:parameter/plain-name",
			arns:  true,
			ok:    true,
			want: Ref{Kind: SSM, ID: "arn:aws:ssm:us-east-1:123456789012:parameter/plain-name", Name: "plain-name",
				Region: "us-east-1", Form: FormARN},
		},
		{
			name:  "ecs_ssm_arn_version",
			value: ssmARN + ":2",
			arns:  true,
			ok:    true,
			want:  Ref{Kind: SSM, ID: ssmARN, Name: "/auraxis/prod/DB_PASS", Version: 2, Region: "us-east-1", Form: FormARN},
		},
		// Partitions
		{
			name:  "partition_china",
			value: "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/a/b",
			arns:  true,
			ok:    true,
			want: Ref{Kind: SSM, ID: "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/a/b", Name: "/a/b",
				Region: "cn-north-1", Form: FormARN},
		},
		{
			name:  "partition_govcloud",
			value: "sm://arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:app-AbCdEf#k",
			ok:    true,
			want: Ref{Kind: Secret, ID: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:app-AbCdEf",
				Name: "app-AbCdEf", JSONKey: "k", Region: "us-gov-west-1", Form: FormSM},
		},
		// Not references: left alone.
		{name: "plain_value", value: "hunter2"},
		{name: "empty_value", value: ""},
		{name: "leading_space", value: " ssm:///a/b"},
		{name: "uppercase_scheme", value: "SSM:///a/b"},
		{name: "other_scheme", value: "s3://bucket/key"},
		{name: "ssm_without_slashes", value: "ssm:/a/b"},
		{name: "bare_ssm_arn_without_flag", value: ssmARN},
		{name: "bare_secret_arn_without_flag", value: smARN + ":username1::"},
		{name: "s3_arn", value: "arn:aws:s3:::bucket", arns: true},
		{name: "iam_arn", value: "arn:aws:iam::123456789012:role/app", arns: true},
		{name: "ssm_document_arn", value: "arn:aws:ssm:us-east-1:123456789012:document/run", arns: true},
		{name: "short_arn", value: "arn:aws:ssm", arns: true},
		{name: "arn_in_text", value: "see " + ssmARN, arns: true},
		// Malformed: meant as references, refused.
		{name: "ssm_empty", value: "ssm://", ok: true, err: "missing parameter name"},
		{name: "ssm_only_selector", value: "ssm://:3", ok: true, err: "missing parameter name"},
		{name: "ssm_empty_selector", value: "ssm://name:", ok: true, err: ":VERSION or :LABEL"},
		{name: "ssm_two_selectors", value: "ssm://name:1:2", ok: true, err: ":VERSION or :LABEL"},
		{name: "ssm_version_zero", value: "ssm://name:0", ok: true, err: "version must be a number from 1"},
		{name: "ssm_version_overflow", value: "ssm://name:99999999999999999999", ok: true, err: "version"},
		{name: "ssm_label_digit", value: "ssm://name:1abc", ok: true, err: "cannot start with a digit"},
		{name: "ssm_label_aws", value: "ssm://name:AWSlabel", ok: true, err: "\"aws\" or \"ssm\""},
		{name: "ssm_label_ssm", value: "ssm://name:ssm-x", ok: true, err: "\"aws\" or \"ssm\""},
		{name: "ssm_label_char", value: "ssm://name:a/b", ok: true, err: "parameter label has only"},
		{name: "ssm_label_long", value: "ssm://name:" + strings.Repeat("a", 101), ok: true, err: "longer than 100"},
		{name: "ssm_relative_hierarchy", value: "ssm://auraxis/prod/DB_PASS", ok: true, err: "starts with \"/\""},
		{name: "ssm_empty_level", value: "ssm:///a//b", ok: true, err: "empty level"},
		{name: "ssm_trailing_slash", value: "ssm:///a/b/", ok: true, err: "empty level"},
		{name: "ssm_bad_char", value: "ssm:///a/b c", ok: true, err: "parameter name has only"},
		{name: "ssm_hash_key", value: "ssm:///a/b#k", ok: true, err: "cannot contain \"#\""},
		{name: "ssm_name_too_long", value: "ssm:///" + strings.Repeat("a", 1011), ok: true, err: "longer than 1011"},
		{name: "ssm_trailing_space", value: "ssm:///a/b ", ok: true, err: "trailing whitespace"},
		{name: "ssm_trailing_newline", value: ssmARN + "\n", arns: true, ok: true, err: "trailing whitespace"},
		{name: "ssm_secret_arn", value: "ssm://" + smARN, ok: true, err: "not an ssm parameter arn"},
		{name: "ssm_arn_empty_name", value: "ssm://arn:aws:ssm:us-east-1:123456789012:parameter/", ok: true, err: "missing parameter name"},
		{name: "ssm_arn_double_slash", value: "ssm://arn:aws:ssm:us-east-1:123456789012:parameter//a/b", ok: true, err: "with one \"/\""},
		{name: "ssm_arn_no_region", value: "ssm://arn:aws:ssm::123456789012:parameter/a", ok: true, err: "region"},
		{name: "ssm_arn_bad_account", value: "arn:aws:ssm:us-east-1:aws_account_id:parameter/a", arns: true, ok: true, err: "account id"},
		{name: "ssm_arn_bad_partition", value: "ssm://arn:gcp:ssm:us-east-1:123456789012:parameter/a", ok: true, err: "partition"},
		{name: "ssm_arn_dash_partition", value: "ssm://arn:aws-:ssm:us-east-1:123456789012:parameter/a", ok: true, err: "partition"},
		{name: "ssm_arn_empty_selector", value: ssmARN + ":", arns: true, ok: true, err: ":VERSION or :LABEL"},
		{name: "sm_empty", value: "sm://", ok: true, err: "missing secret name"},
		{name: "sm_empty_key", value: "sm://id#", ok: true, err: "empty json key"},
		{name: "sm_only_key", value: "sm://#k", ok: true, err: "missing secret name"},
		{name: "sm_colon_in_name", value: "sm://app:key", ok: true, err: "cannot contain \":\""},
		{name: "sm_bad_char", value: "sm://app name", ok: true, err: "secret name has only"},
		{name: "sm_trailing_space", value: "sm://app ", ok: true, err: "trailing whitespace"},
		{name: "sm_ssm_arn", value: "sm://" + ssmARN, ok: true, err: "not a secrets manager secret arn"},
		{name: "sm_key_twice", value: "sm://" + smARN + ":a::#b", ok: true, err: "not both"},
		{name: "sm_stage_and_hash_key", value: "sm://" + smARN + "::AWSPREVIOUS:#b", ok: true, err: "not both"},
		{name: "ecs_one_field", value: smARN + ":username1", arns: true, ok: true, err: "leave unused fields empty"},
		{name: "ecs_two_fields", value: smARN + ":username1:AWSPREVIOUS", arns: true, ok: true, err: "leave unused fields empty"},
		{name: "ecs_five_fields", value: smARN + ":a:b:c:d", arns: true, ok: true, err: "leave unused fields empty"},
		{name: "ecs_stage_and_id", value: smARN + "::AWSPREVIOUS:" + verID, arns: true, ok: true, err: "not both"},
		{name: "ecs_short_version_id", value: smARN + ":::12345", arns: true, ok: true, err: "version id must have 32 to 64"},
		{name: "ecs_space_in_stage", value: smARN + "::AWS PREVIOUS:", arns: true, ok: true, err: "version stage has a space"},
		{name: "ecs_empty_name", value: "arn:aws:secretsmanager:us-west-2:111122223333:secret:", arns: true, ok: true, err: "missing secret name"},
		{name: "ecs_placeholder_region", value: "arn:aws:secretsmanager:Region:111122223333:secret:x", arns: true, ok: true, err: "region"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := Parse(tc.value, tc.arns)
			if ok != tc.ok {
				t.Fatalf("Parse(%q, %v) ok = %v, want %v (err %v)", tc.value, tc.arns, ok, tc.ok, err)
			}
			if tc.err != "" {
				if err == nil {
					t.Fatalf("Parse(%q, %v) = %+v, want error containing %q", tc.value, tc.arns, got, tc.err)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q, %v) error = %q, want it to contain %q", tc.value, tc.arns, err, tc.err)
				}
				checkError(t, tc.value, err)
				// The value may be a secret that merely starts like a reference.
				if rest := tc.value[strings.Index(tc.value, ":")+1:]; len(rest) > 2 && strings.Contains(err.Error(), rest) {
					t.Fatalf("Parse(%q, %v) error %q quotes the value", tc.value, tc.arns, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q, %v) error = %v", tc.value, tc.arns, err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q, %v)\n got  %+v\n want %+v", tc.value, tc.arns, got, tc.want)
			}
			if ok {
				checkRoundTrip(t, got, tc.arns)
			}
		})
	}
}

// checkError pins the error shape: the form the reference was written in, then a
// lowercase reason. That nothing of the value is in it is checked by TestParse and
// TestErrorHidesValue (a fuzzed value can match a reason's words by chance).
func checkError(t *testing.T, value string, err error) {
	t.Helper()
	msg := err.Error()
	form := FormARN
	switch {
	case strings.HasPrefix(value, FormSSM):
		form = FormSSM
	case strings.HasPrefix(value, FormSM):
		form = FormSM
	}
	prefix := "invalid " + form + " reference: "
	if !strings.HasPrefix(msg, prefix) {
		t.Errorf("error %q does not start with %q", msg, prefix)
	}
	if rest := strings.TrimPrefix(msg, prefix); rest == "" || rest[0] < 'a' || rest[0] > 'z' {
		t.Errorf("error %q: reason should start lowercase", msg)
	}
}

// A password that happens to start with "sm://" or "ssm://" is refused as a malformed
// reference; the error must not carry any of it.
func TestErrorHidesValue(t *testing.T) {
	t.Parallel()
	const canary = "canary-pw-7f3a"
	for _, value := range []string{
		"sm://" + canary + " x",
		"sm://" + canary + ":x",
		"sm://" + canary + "#",
		"ssm://" + canary + ":0",
		"ssm://" + canary + "/a",
		"ssm:///" + canary + " ",
		"ssm://arn:aws:ssm:us-east-1:123456789012:parameter/" + canary + ":a:b",
		"sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:" + canary + ":k",
		smARN + ":" + canary,
	} {
		_, ok, err := Parse(value, true)
		if !ok || err == nil {
			t.Fatalf("Parse(%q) = ok %v, err %v; want a malformed reference", value, ok, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("Parse(%q) error %q holds the canary", value, err)
		}
		checkError(t, value, err)
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value string
		arns  bool
		want  string
	}{
		{"ssm:///a/b", false, "ssm:///a/b"},
		{"ssm:///a/b:007", false, "ssm:///a/b:7"},
		{"ssm://n:live", false, "ssm://n:live"},
		{"ssm://" + ssmARN + ":3", false, "ssm://" + ssmARN + ":3"},
		{ssmARN + ":live", true, ssmARN + ":live"},
		{"sm://app", false, "sm://app"},
		{"sm://app#k", false, "sm://app#k"},
		{"sm://" + smARN + ":k::", false, "sm://" + smARN + "#k"},
		{"sm://" + smARN + ":::", false, "sm://" + smARN},
		{"sm://" + smARN + "::AWSPREVIOUS:", false, "sm://" + smARN + "::AWSPREVIOUS:"},
		{smARN + ":::", true, smARN},
		{smARN + ":k::", true, smARN + ":k::"},
		{smARN + ":::" + verID, true, smARN + ":::" + verID},
	}
	for _, tc := range cases {
		r, ok, err := Parse(tc.value, tc.arns)
		if !ok || err != nil {
			t.Fatalf("Parse(%q) = %v, %v", tc.value, ok, err)
		}
		if got := r.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.value, got, tc.want)
		}
		checkRoundTrip(t, r, tc.arns)
	}
}

func TestSSMName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value string
		arns  bool
		want  string
	}{
		{"ssm:///a/b", false, "/a/b"},
		{"ssm:///a/b:4", false, "/a/b:4"},
		{"ssm:///a/b:live", false, "/a/b:live"},
		{"ssm://" + ssmARN + ":live", false, ssmARN + ":live"},
		{ssmARN, true, ssmARN},
		{"sm://app", false, ""},
	}
	for _, tc := range cases {
		r, _, err := Parse(tc.value, tc.arns)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.SSMName(); got != tc.want {
			t.Errorf("Parse(%q).SSMName() = %q, want %q", tc.value, got, tc.want)
		}
	}
}

// checkRoundTrip is the String property: the canonical form parses back to the same Ref,
// and is a fixed point.
func checkRoundTrip(t *testing.T, r Ref, resolveARNs bool) {
	t.Helper()
	s := r.String()
	r2, ok, err := Parse(s, resolveARNs)
	if !ok || err != nil {
		t.Fatalf("Parse(%q) (String of %+v) = ok %v, err %v", s, r, ok, err)
	}
	if r2 != r {
		t.Fatalf("round trip through %q:\n got  %+v\n want %+v", s, r2, r)
	}
	if s2 := r2.String(); s2 != s {
		t.Fatalf("String not a fixed point: %q then %q", s, s2)
	}
}

// One region rule for ARNs, --region and the SDK's configured region.
func TestValidRegion(t *testing.T) {
	t.Parallel()
	for r, want := range map[string]bool{
		"us-east-1": true, "us-gov-west-1": true, "cn-north-1": true, "eu-isoe-west-1": true, "local": true,
		"": false, "US-EAST-1": false, "us east 1": false, "-us-east-1": false, "us-east-1-": false,
		"us_east_1": false, "us-east-1.example.com": false, strings.Repeat("a", 64): false,
	} {
		if got := ValidRegion(r); got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", r, got, want)
		}
	}
}

// A --secret-id is a name or partial ARN (no region), or a secret's whole ARN, checked by
// the rules sm:// references follow.
func TestPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-west-3": "aws", "": "aws", "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-gov-east-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
	} {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%q) = %q, want %q", region, got, want)
		}
	}
}

// TestShown: a reference AWS has not found is shown by its form only, unless it is an ARN.
func TestShown(t *testing.T) {
	for value, want := range map[string]string{
		"sm://Passw0rd+x":       "sm:// reference",
		"sm://app/prod#DB_PASS": "sm:// reference",
		"ssm:///app/prod/DB":    "ssm:// reference",
		"ssm://arn:aws:ssm:us-east-1:123456789012:parameter/app/DB":            "ssm://arn:aws:ssm:us-east-1:123456789012:parameter/app/DB",
		"sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf": "sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf",
	} {
		r, ok, err := Parse(value, false)
		if !ok || err != nil {
			t.Fatalf("Parse(%q): %v %v", value, ok, err)
		}
		if got := r.Shown(); got != want {
			t.Errorf("Shown of %q = %q, want %q", value, got, want)
		}
	}
}

func TestSecretIDRegion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id, region, err string
	}{
		{"auraxis/prod/app", "", ""},
		{"app=with=equals", "", ""},
		{smARN, "us-west-2", ""},
		{"arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:app-AbCdEf", "us-gov-west-1", ""},
		// The same ARN that sm:// refuses.
		{"arn:aws:secretsmanager:US-WEST-2:111122223333:secret:app-AbCdEf", "", "arn region must be like us-east-1"},
		{"arn:aws:secretsmanager:us-west-2:1:secret:app-AbCdEf", "", "12 digits"},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/app", "", "not a secrets manager secret arn"},
		{"arn:aws:secretsmanager:us-east-1", "", "not a secrets manager secret arn"},
		{smARN + ":KEY::", "", "names the secret only"},
		{"arn:aws:secretsmanager:us-west-2:111122223333:secret:", "", "missing secret name"},
	} {
		region, err := SecretIDRegion(tc.id)
		if region != tc.region || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("SecretIDRegion(%q) = %q, %v; want %q, %q", tc.id, region, err, tc.region, tc.err)
		}
		// It agrees with sm://: an ARN it accepts, sm:// accepts, in the same region.
		if err == nil && region != "" {
			r, ok, perr := Parse("sm://"+tc.id, false)
			if !ok || perr != nil || r.Region != region {
				t.Errorf("sm://%s: %+v, %v, %v", tc.id, r, ok, perr)
			}
		}
	}
}
