package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/fetch"
)

// FuzzParseConfig feeds the command line and SECRETEXEC_* twin parser (flags, twins,
// --secret-id NAME=ID, durations, numbers) arbitrary input: it never panics, every error is
// a usage error (one line and a hint), the same input always gives the same config, and an
// accepted config keeps the invariants fetching relies on.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range [][2]string{
		{"--ssm-path\x00/app/prod\x00--\x00env", ""},
		{"--secret-id\x00DB=app/db\x00--timeout\x00500ms\x00--\x00env", "SECRETEXEC_RETRIES=3"},
		{"--dry-run", "SECRETEXEC_SSM_PATH=/a, /b,,\x00SECRETEXEC_SECRET_ID=x=y,arn:aws:secretsmanager:eu-west-1:1:secret:a"},
		{"--output\x00.env\x00--format\x00export", "SECRETEXEC_TIMEOUT=-1s"},
		{"env", "SECRETEXEC_SSM_PATH=app\x00SECRETEXEC_DISABLE=maybe\x00SECRETEXEC_REGOIN=x"},
		{"--retries\x000\x00--\x00env", "SECRETEXEC_INIT=1"},
		{"--ecs-task-definition\x00td.json\x00--require\x00A,B\x00--timeout\x000s", "SECRETEXEC_CONTAINER=web\x00SECRETEXEC_REQUIRE_FILE=.env.example"},
		{"--require\x00A,1B\x00--\x00env", "SECRETEXEC_REQUIRE=SECRETEXEC_X"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, args, environ string) {
		a, e := split0(args), split0(environ)
		e = env.Unique(e)
		c, err := parseConfig(a, e)
		c2, err2 := parseConfig(a, e)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(c, c2) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			var he *hintError
			if !errors.As(err, &he) || !he.usage {
				t.Fatalf("error %q (%T) is not a usage error", err, err)
			}
			return
		}
		if c.help || c.version {
			return
		}
		if c.timeout <= 0 || c.retries < 1 {
			t.Fatalf("accepted timeout %s, retries %d", c.timeout, c.retries)
		}
		for _, s := range c.sources {
			switch s.Kind {
			case fetch.SSMPath:
				if !strings.HasPrefix(s.Path, "/") || len(s.Path) > 1 && strings.HasSuffix(s.Path, "/") {
					t.Fatalf("accepted ssm path %q", s.Path)
				}
			case fetch.Secret:
				if s.SecretID == "" {
					t.Fatalf("accepted an empty secret id")
				}
			}
		}
	})
}

func split0(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
