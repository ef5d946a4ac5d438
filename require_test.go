package main

import (
	"context"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchRequiredMissing: under --watch, a check after which a required name
// would be missing is a failed check: the command keeps running, one warning for the streak
// names the missing name, and the next good check applies the change.
func TestWatchRequiredMissing(t *testing.T) {
	p := newProcEnv(t)
	ctx := context.Background()
	p.createSecret("app/json", map[string]string{"DB_PASS": "canary-reqwatch-pass-1", "API_KEY": "canary-reqwatch-key-1"})
	cmd, log := p.watching([]string{"--watch", "1s", "--require", "API_KEY", "--secret-id", "app/json"}, "-var", "DB_PASS", "-var", "API_KEY")
	first := log.waitStarts(t, 1, 10*time.Second)[0]

	// A new version without API_KEY: DB_PASS changed, but the change is not applied.
	calls := p.srv.Calls("GetSecretValue")
	put := func(v string) {
		t.Helper()
		p.canaries.add(v)
		if _, err := p.srv.PutSecretValue(ctx, "app/json", v); err != nil {
			t.Fatal(err)
		}
	}
	put(`{"DB_PASS":"canary-reqwatch-pass-2"}`)
	p.waitCalls("GetSecretValue", calls+3) // three checks see it
	if n := len(log.starts()); n != 1 {
		t.Fatalf("%d starts while API_KEY was missing, want 1 (the command keeps running)", n)
	}

	put(`{"DB_PASS":"canary-reqwatch-pass-3","API_KEY":"canary-reqwatch-key-3"}`)
	starts := log.waitStarts(t, 2, 5*time.Second)
	if field(starts[1], "DB_PASS") == field(first, "DB_PASS") || field(starts[1], "API_KEY") == field(first, "API_KEY") || field(starts[1], "prev") != "gone" {
		t.Errorf("after API_KEY came back:\n%s\n%s", first, starts[1])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exitStatus(t, cmd, 10*time.Second)
	out := stderrOf(cmd)
	warn := regexp.MustCompile(`(?m)^secretexec: warning: a check of the sources failed; the command \(pid \d+\) keeps running and the next check is in about 1s: required variable is missing: API_KEY \(it could come from key API_KEY of secret app/json \(--secret-id app/json\), or the inherited environment; --dry-run shows where each variable comes from\)$`)
	if n := len(warn.FindAllString(out, -1)); n != 1 || strings.Count(out, "check of the sources failed") != 1 {
		t.Errorf("stderr:\n%s\nwant one warning for the streak, naming the missing variable", out)
	}
}
