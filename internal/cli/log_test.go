package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/logattr"
	"github.com/secretexec/secretexec/ref"
)

// TestLogFormats: every kind of message, in both forms. The text form is pinned byte for byte
// (it is what it was before --log-format); the json form is one object per line with the
// stable field names, an error and its hint in one object, the facts as fields.
func TestLogFormats(t *testing.T) {
	at := time.Date(2026, 12, 4, 1, 2, 3, 456000000, time.UTC)
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: x is not authorized"}
	pathErr := &fetch.Error{Source: fetch.Source{Kind: fetch.SSMPath, Path: "/app/prod"}, Op: "GetParametersByPath", Region: "us-east-1", Err: denied}
	refErr := &fetch.Error{Ref: &ref.VarRef{Var: "DB_PASS", Ref: ref.Ref{Kind: ref.SSM, Form: ref.FormSSM, ID: "/app/DB", Name: "/app/DB"}}, Region: "us-east-1", Err: fetch.ErrParameterNotFound}
	refErr2 := &fetch.Error{Ref: &ref.VarRef{Var: "API_KEY", Ref: ref.Ref{Kind: ref.SSM, Form: ref.FormSSM, ID: "/app/DB", Name: "/app/DB"}}, Region: "us-east-1", Err: fetch.ErrParameterNotFound}
	bindErr := &fetch.Error{Source: fetch.Source{Kind: fetch.Secret, SecretID: "app/key", Bind: "KEY"}, Err: fetch.ErrBinarySecret}
	for _, tc := range []struct {
		name string
		log  func(l *logger)
		text string
		json []map[string]any // each line's object, time and level left to the check below
	}{
		{"error with a hint and its source", func(l *logger) { l.fail(pathErr, fieldOf("status", 125)) },
			"secretexec: error: ssm path \"/app/prod\": api error AccessDeniedException: User: x is not authorized\n" +
				"secretexec: hint: the role needs ssm:GetParametersByPath on arn:aws:ssm:us-east-1:*:parameter/app/prod, and kms:Decrypt on the key of SecureString parameters\n",
			[]map[string]any{{"level": "error", "msg": `ssm path "/app/prod": api error AccessDeniedException: User: x is not authorized`, "source": "/app/prod",
				"hint": "the role needs ssm:GetParametersByPath on arn:aws:ssm:us-east-1:*:parameter/app/prod, and kms:Decrypt on the key of SecureString parameters", "status": 125.0}}},
		{"joined errors, one hint said once in text, in each object in json", func(l *logger) { l.fail(errors.Join(refErr, refErr2, bindErr)) },
			"secretexec: error: variable DB_PASS: ssm:// reference: parameter not found\n" +
				"secretexec: hint: check the name (case-sensitive, a hierarchical name starts with /) and the region (us-east-1); a parameter shared from another account needs its full ARN; the reference (the variable's value) is not printed: a value that merely looks like a reference may be a password\n" +
				"secretexec: error: variable API_KEY: ssm:// reference: parameter not found\n" +
				"secretexec: error: secret \"app/key\" (as KEY): the secret is stored as SecretBinary, not SecretString\n" +
				"secretexec: hint: secretexec reads SecretString only; store the value as a string (base64 if it must be binary)\n",
			[]map[string]any{
				{"level": "error", "msg": "variable DB_PASS: ssm:// reference: parameter not found", "source": "ssm:// reference", "variable": "DB_PASS",
					"hint": "check the name (case-sensitive, a hierarchical name starts with /) and the region (us-east-1); a parameter shared from another account needs its full ARN; the reference (the variable's value) is not printed: a value that merely looks like a reference may be a password"},
				{"level": "error", "msg": "variable API_KEY: ssm:// reference: parameter not found", "source": "ssm:// reference", "variable": "API_KEY",
					"hint": "check the name (case-sensitive, a hierarchical name starts with /) and the region (us-east-1); a parameter shared from another account needs its full ARN; the reference (the variable's value) is not printed: a value that merely looks like a reference may be a password"},
				{"level": "error", "msg": `secret "app/key" (as KEY): the secret is stored as SecretBinary, not SecretString`, "source": "app/key", "variable": "KEY",
					"hint": "secretexec reads SecretString only; store the value as a string (base64 if it must be binary)"},
			}},
		{"usage error", func(l *logger) {
			l.fail(usagef("run secretexec --help for the flags", "flag provided but not defined: -nope"), fieldOf("status", 125))
		},
			"secretexec: error: flag provided but not defined: -nope\nsecretexec: hint: run secretexec --help for the flags\n",
			[]map[string]any{{"level": "error", "msg": "flag provided but not defined: -nope", "hint": "run secretexec --help for the flags", "status": 125.0}}},
		{"error without a hint, over two lines", func(l *logger) { l.fail(errors.New("one\ntwo")) },
			"secretexec: error: one two\n",
			[]map[string]any{{"level": "error", "msg": "one two"}}},
		{"interrupted", func(l *logger) {
			l.msg(levelError, "error", []field{fieldOf("status", 143)}, "interrupted by %s %s; the command was not started", "SIGTERM", "while fetching")
		},
			"secretexec: error: interrupted by SIGTERM while fetching; the command was not started\n",
			[]map[string]any{{"level": "error", "msg": "interrupted by SIGTERM while fetching; the command was not started", "status": 143.0}}},
		{"errorf", func(l *logger) { l.errorf("bad %s", "thing") }, "secretexec: error: bad thing\n",
			[]map[string]any{{"level": "error", "msg": "bad thing"}}},
		{"warning with a pid and a delay", func(l *logger) {
			l.warnf("a check of the sources failed; the command (pid %d) keeps running and the next check is in about %s: %s", logattr.PID(42), logattr.Delay(5*time.Minute), brief(pathErr))
		},
			"secretexec: warning: a check of the sources failed; the command (pid 42) keeps running and the next check is in about 5m0s: ssm path \"/app/prod\": api error AccessDeniedException: User: x is not authorized (the role needs ssm:GetParametersByPath on arn:aws:ssm:us-east-1:*:parameter/app/prod, and kms:Decrypt on the key of SecureString parameters)\n",
			[]map[string]any{{"level": "warning", "pid": 42.0, "delay": "5m0s",
				"msg": "a check of the sources failed; the command (pid 42) keeps running and the next check is in about 5m0s: ssm path \"/app/prod\": api error AccessDeniedException: User: x is not authorized (the role needs ssm:GetParametersByPath on arn:aws:ssm:us-east-1:*:parameter/app/prod, and kms:Decrypt on the key of SecureString parameters)"}}},
		{"info with a pid and a status", func(l *logger) {
			l.infof("%s: stopping the command (pid %d) and exiting with status %d, for a restart with the new values", "DB_PASS changed", logattr.PID(7), logattr.Status(75))
		},
			"secretexec: DB_PASS changed: stopping the command (pid 7) and exiting with status 75, for a restart with the new values\n",
			[]map[string]any{{"level": "info", "pid": 7.0, "status": 75.0, "msg": "DB_PASS changed: stopping the command (pid 7) and exiting with status 75, for a restart with the new values"}}},
		{"verbose retry with an attempt and a delay", func(l *logger) {
			l.verbosef("%s: attempt %d failed (%s), retrying in %s%s", "SSM GetParametersByPath", logattr.Attempt(2), "ThrottlingException: Rate exceeded", logattr.Delay(1500*time.Millisecond), "")
		},
			"secretexec: SSM GetParametersByPath: attempt 2 failed (ThrottlingException: Rate exceeded), retrying in 1.5s\n",
			[]map[string]any{{"level": "debug", "attempt": 2.0, "delay": "1.5s", "msg": "SSM GetParametersByPath: attempt 2 failed (ThrottlingException: Rate exceeded), retrying in 1.5s"}}},
		{"verbose with a source and a variable", func(l *logger) {
			l.verbosef("%s: key %q is variable %s", logattr.Source("/app/prod"), "/app/prod/DB", logattr.Variable("DB"))
		},
			"secretexec: /app/prod: key \"/app/prod/DB\" is variable DB\n",
			[]map[string]any{{"level": "debug", "source": "/app/prod", "variable": "DB", "msg": `/app/prod: key "/app/prod/DB" is variable DB`}}},
		{"a plain line", func(l *logger) { l.line("", "wrote 3 variables to out.env (mode 0600)") },
			"secretexec: wrote 3 variables to out.env (mode 0600)\n",
			[]map[string]any{{"level": "info", "msg": "wrote 3 variables to out.env (mode 0600)"}}},
		{"a warning line", func(l *logger) { l.line("warning", "w") }, "secretexec: warning: w\n",
			[]map[string]any{{"level": "warning", "msg": "w"}}},
		{"characters JSON must escape", func(l *logger) { l.infof("%s", "a \"q\" \\ <b> \t é") },
			"secretexec: a \"q\" \\ <b> \t é\n",
			[]map[string]any{{"level": "info", "msg": "a \"q\" \\ <b> \t é"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var text, js bytes.Buffer
			tc.log(&logger{w: &text, verbose: true})
			if text.String() != tc.text {
				t.Errorf("text:\n%q\nwant\n%q", text.String(), tc.text)
			}
			tc.log(&logger{w: &js, verbose: true, json: true, now: func() time.Time { return at }})
			lines := strings.Split(strings.TrimSuffix(js.String(), "\n"), "\n")
			if len(lines) != len(tc.json) {
				t.Fatalf("%d json lines, want %d:\n%s", len(lines), len(tc.json), js.String())
			}
			for i, line := range lines {
				var got map[string]any
				if err := json.Unmarshal([]byte(line), &got); err != nil {
					t.Fatalf("line %d is not one JSON object: %v\n%s", i, err, line)
				}
				if !strings.HasPrefix(line, `{"time":"2026-12-04T01:02:03.456Z","level":`) {
					t.Errorf("line %d does not start with time and level: %s", i, line)
				}
				want := map[string]any{"time": "2026-12-04T01:02:03.456Z"}
				for k, v := range tc.json[i] {
					want[k] = v
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("line %d:\n%v\nwant\n%v", i, got, want)
				}
			}
		})
	}
}

// TestLogQuietVerbose: --quiet and --verbose filter the json form as the text form.
func TestLogQuietVerbose(t *testing.T) {
	for _, js := range []bool{false, true} {
		var b bytes.Buffer
		l := &logger{w: &b, quiet: true, json: js}
		l.warnf("w")
		l.infof("i")
		l.verbosef("v")
		l.errorf("e")
		if n := strings.Count(b.String(), "\n"); n != 1 || !strings.Contains(b.String(), "e") {
			t.Errorf("json %v, --quiet: %q, want the error only", js, b.String())
		}
	}
}
