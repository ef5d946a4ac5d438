package ref

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that ok=false never comes with an error, that
// every accepted reference survives a trip through String, and that enabling bare ARNs
// changes nothing for values that are not bare ARNs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "hunter2", "ssm://", "sm://", "sm://id#", "ssm:///a/b", "ssm://plain", "ssm:///a/b:3",
		"ssm:///a/b:live", "ssm://" + ssmARN + ":2", ssmARN, ssmARN + ":label",
		"arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x", "sm://app", "sm://app#k",
		"sm://app#a:b#c ", "sm://" + smARN, "sm://" + smARN + ":k::", "sm://" + smARN + "::AWSPREVIOUS:",
		smARN, smARN + ":username1::", smARN + "::AWSPREVIOUS:", smARN + ":::" + verID,
		smARN + ":username1:AWSPREVIOUS:" + verID, smARN + ":a", "arn:aws:s3:::bucket",
		"ssm:///a/b ", " ssm:///a/b", "ssm://name:0", "ssm://name:awsx",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, value string, resolveARNs bool) {
		r, ok, err := Parse(value, resolveARNs)
		if !ok {
			if err != nil {
				t.Fatalf("Parse(%q) = not a reference with error %v", value, err)
			}
			if r != (Ref{}) {
				t.Fatalf("Parse(%q) = not a reference with Ref %+v", value, r)
			}
			if strings.HasPrefix(value, FormSSM) || strings.HasPrefix(value, FormSM) {
				t.Fatalf("Parse(%q) = not a reference", value)
			}
		}
		if err != nil {
			checkError(t, value, err)
		}
		if !strings.HasPrefix(value, "arn:") {
			r2, ok2, err2 := Parse(value, !resolveARNs)
			if r2 != r || ok2 != ok || (err2 == nil) != (err == nil) {
				t.Fatalf("Parse(%q) depends on resolveARNs for a value that is not a bare arn", value)
			}
		}
		if ok && err == nil {
			if r.Kind != SSM && r.Kind != Secret || r.ID == "" || r.Name == "" {
				t.Fatalf("Parse(%q) = incomplete %+v", value, r)
			}
			if r.VersionStage != "" && r.VersionID != "" {
				t.Fatalf("Parse(%q) = both version stage and id", value)
			}
			checkRoundTrip(t, r, resolveARNs)
		}
	})
}

// FuzzCheckRoleARN checks that CheckRoleARN never panics and that what it accepts has the
// shape of a role ARN.
func FuzzCheckRoleARN(f *testing.F) {
	for _, s := range []string{
		"", "arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/team/a/app",
		"arn:aws-cn:iam::123456789012:role/x", "arn:aws:iam:us-east-1:123456789012:role/x",
		"arn:aws:iam::12345678901:role/x", "arn:aws:iam::123456789012:user/x",
		"arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:role//x", "arn:aws:sts::123456789012:role/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckRoleARN(s) != nil {
			return
		}
		a, ok := splitARN(s)
		if !ok || a.service != "iam" || a.region != "" || len(a.account) != 12 || !strings.HasPrefix(a.resource, "role/") || strings.HasSuffix(s, "/") {
			t.Fatalf("CheckRoleARN(%q) accepted it", s)
		}
	})
}
