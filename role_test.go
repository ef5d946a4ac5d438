package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/awstest"
)

// TestRoleRenewedUnderWatch: under --watch the SDK's credentials cache renews the assumed
// role's credentials before they expire (here they last 62s, renewed a minute before: after
// 2s), and every check is signed with the role's current keys, never the base ones.
func TestRoleRenewedUnderWatch(t *testing.T) {
	p := newProcEnv(t)
	const role = "arn:aws:iam::123456789012:role/central-secrets"
	p.srv.AddRole(awstest.AssumableRole{ARN: role, Lifetime: 62 * time.Second})
	p.putParam("/central/prod/DB_PASS", "canary-role-watch-1")
	cmd, log := p.watching([]string{"--watch", "1s", "--role-arn", role, "--ssm-path", "/central/prod"}, "-var", "DB_PASS")
	log.waitStarts(t, 1, 10*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for len(p.srv.AssumeRoleCalls()) < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if st := exitStatus(t, cmd, 10*time.Second); st != 0 {
		t.Errorf("exit status %d, want the command's 0; stderr:\n%s", st, stderrOf(cmd))
	}
	calls := p.srv.AssumeRoleCalls()
	if len(calls) < 3 {
		t.Fatalf("%d AssumeRole calls in 15s, want the credentials renewed at least twice", len(calls))
	}
	issued := map[string]bool{}
	for _, c := range calls {
		if c.Caller != awstest.AccessKeyID || c.Issued == "" {
			t.Errorf("AssumeRole %+v: want it signed with the base credentials and answered", c)
		}
		issued[c.Issued] = true
	}
	keys := map[string]bool{}
	for _, c := range p.srv.Requests() {
		if c.Action == "GetParametersByPath" {
			if !issued[c.AccessKeyID] {
				t.Errorf("GetParametersByPath signed with %q, not with the role's keys", c.AccessKeyID)
			}
			keys[c.AccessKeyID] = true
		}
	}
	if len(keys) < 2 {
		t.Errorf("the checks were signed with %d keys, want the renewed ones too", len(keys))
	}
	if n := len(log.starts()); n != 1 {
		t.Errorf("%d starts, want 1: renewing credentials changes nothing", n)
	}
}
