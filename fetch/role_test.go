package fetch_test

import (
	"strings"
	"testing"

	"github.com/secretexec/secretexec/fetch"
)

// TestSessionName: the default session name is "secretexec-" and the host, made one STS
// accepts (2 to 64 of [\w+=,.@-]), whatever the host name holds.
func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"web-7f9c", "secretexec-web-7f9c"},
		{"ip-10-0-1-23.ec2.internal", "secretexec-ip-10-0-1-23.ec2.internal"},
		{"", "secretexec"},
		{"a b/c:d", "secretexec-a-b-c-d"},
		{"héllo", "secretexec-h--llo"},
		{strings.Repeat("x", 100), "secretexec-" + strings.Repeat("x", 53)},
		{strings.Repeat("x", 52) + "/////", "secretexec-" + strings.Repeat("x", 52)},
	} {
		got := fetch.SessionName(tc.host)
		if got != tc.want || !fetch.ValidSessionName(got) {
			t.Errorf("SessionName(%q) = %q (valid: %v), want %q", tc.host, got, fetch.ValidSessionName(got), tc.want)
		}
	}
	for _, bad := range []string{"", "a", "a b", strings.Repeat("x", 65), "a/b"} {
		if fetch.ValidSessionName(bad) {
			t.Errorf("ValidSessionName(%q) = true", bad)
		}
	}
	for _, tc := range []struct {
		id string
		ok bool
	}{{"ext-id-42", true}, {"a:b/c", true}, {"x", false}, {"a b", false}, {strings.Repeat("x", 1225), false}} {
		if got := fetch.ValidExternalID(tc.id); got != tc.ok {
			t.Errorf("ValidExternalID(%q) = %v", tc.id, got)
		}
	}
}
