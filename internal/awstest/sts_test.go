package awstest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAssumeRole: the proxy's STS checks the role, its external id and the session name as
// AWS does, and the keys it hands out sign requests until they expire.
func TestAssumeRole(t *testing.T) {
	var skew atomic.Int64 // the server's clock runs ahead by this much
	s := New(t, WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	const arn = "arn:aws:iam::123456789012:role/central"
	s.AddRole(AssumableRole{ARN: arn, ExternalID: "ext-1", Lifetime: time.Minute})
	if err := s.PutParameter(context.Background(), "/p/A", "v", true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := s.Config()
	cfg.RetryMaxAttempts = 1
	stsc := sts.NewFromConfig(cfg)
	assume := func(role, session, ext string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String(session)}
		if ext != "" {
			in.ExternalId = aws.String(ext)
		}
		return stsc.AssumeRole(ctx, in)
	}
	for _, tc := range []struct {
		name, role, session, ext, code string
	}{
		{"unknown role", "arn:aws:iam::123456789012:role/other", "s1", "ext-1", "AccessDenied"},
		{"no external id", arn, "s1", "", "AccessDenied"},
		{"wrong external id", arn, "s1", "ext-2", "AccessDenied"},
		{"session name too short", arn, "s", "ext-1", "ValidationError"},
		{"session name with a space", arn, "a b", "ext-1", "ValidationError"},
	} {
		if _, err := assume(tc.role, tc.session, tc.ext); errCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	out, err := assume(arn, "secretexec-host", "ext-1")
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !s.Assumed(aws.ToString(c.AccessKeyId)) || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/central/secretexec-host" {
		t.Fatalf("credentials %q, user %q", aws.ToString(c.AccessKeyId), aws.ToString(out.AssumedRoleUser.Arn))
	}
	calls := s.AssumeRoleCalls()
	if last := calls[len(calls)-1]; last.Caller != AccessKeyID || last.Issued != aws.ToString(c.AccessKeyId) || last.ExternalID != "ext-1" {
		t.Errorf("last AssumeRole logged as %+v", last)
	}

	rcfg := s.Config()
	rcfg.RetryMaxAttempts = 1
	rcfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	role := ssm.NewFromConfig(rcfg)
	s.ResetCalls()
	if _, err := role.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/p")}); err != nil {
		t.Fatalf("signed with the role's keys: %v", err)
	}
	if got := s.Requests()[0].AccessKeyID; got != aws.ToString(c.AccessKeyId) {
		t.Errorf("logged as signed with %q", got)
	}
	// Another session token with the same key is refused, as is a key used after it expires.
	bad := rcfg.Copy()
	bad.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "other-token")
	if _, err := ssm.NewFromConfig(bad).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/p")}); errCode(err) != "UnrecognizedClientException" {
		t.Errorf("a wrong session token: %v", err)
	}
	skew.Store(int64(2 * time.Minute))
	if _, err := role.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/p")}); errCode(err) != "ExpiredTokenException" {
		t.Errorf("after expiry: %v, want ExpiredTokenException", err)
	}
}
