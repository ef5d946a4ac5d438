package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// FuzzParse feeds the file reader arbitrary bytes: it never panics; it either fails with one
// of its errors, which never quote the file (a value may be a secret), or returns containers
// that keep the invariants the command relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(guide))
	f.Add([]byte(`{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:1", "containerDefinitions": [{"name": "a", "entryPoint": ["secretexec"], "command": ["--", "x"]}]}}`))
	f.Add([]byte(`[{"name": "a", "environment": [{"name": "X", "value": "q"}], "secrets": [{"name": "Y", "valueFrom": "arn:aws:secretsmanager:us-east-1:111122223333:secret:s-AbCdEf:k::"}]}]`))
	f.Add([]byte("{\n\"containerDefinitions\": [{\"name\": \"a\", \"environment\": [{\"name\": \"X\", \"value\": 1}]}]\n}"))
	f.Add([]byte(`[{"name": "a", "environmentFiles": [{"value": "arn:aws:s3:::b/k", "type": "s3"}], "Secrets": null}]`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			var se *SyntaxError
			var ee *EntryError
			if !errors.As(err, &se) {
				se = nil
			}
			if se != nil {
				if se.Line < 1 || se.Column < 1 || se.Line > bytes.Count(data, []byte("\n"))+1 {
					t.Fatalf("position %d:%d in a file of %d bytes", se.Line, se.Column, len(data))
				}
			} else if !errors.Is(err, ErrNotTaskDefinition) && !errors.As(err, &ee) && !strings.Contains(err.Error(), "container") {
				t.Fatalf("unexpected error %q", err)
			}
			// A syntax error says where, never what; other errors may name a container
			// or a variable, but never hold an environment entry's value.
			if se != nil && !syntaxMsg.MatchString(se.Msg) {
				t.Fatalf("syntax error message %q", se.Msg)
			}
			for _, v := range values(data) {
				if len(v) >= 6 && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q quotes the value %q", err, v)
				}
			}
			return
		}
		if len(d.Containers) == 0 {
			t.Fatal("no containers and no error")
		}
		seen := map[string]bool{}
		for _, c := range d.Containers {
			if c.Name == "" || seen[c.Name] {
				t.Fatalf("container name %q", c.Name)
			}
			seen[c.Name] = true
			names := map[string]bool{}
			for _, v := range c.Environment {
				if v.Name == "" || strings.ContainsAny(v.Name, "=\x00") || strings.Contains(v.Value, "\x00") || names[v.Name] {
					t.Fatalf("environment entry %q", v.Name)
				}
				names[v.Name] = true
			}
			for _, s := range c.Secrets {
				if s.Name == "" || names[s.Name] || s.Ref.Kind == 0 {
					t.Fatalf("secret %q %+v", s.Name, s.Ref)
				}
				names[s.Name] = true
			}
			if got, err := d.Container(c.Name); err != nil || got.Name != c.Name {
				t.Fatalf("Container(%q): %v", c.Name, err)
			}
		}
	})
}

// syntaxMsg is every message a SyntaxError may have: fixed text, or a field path made of
// the shapes' key names.
var syntaxMsg = regexp.MustCompile(`^(not valid JSON|not valid JSON: the file ends too early|(the task definition|[A-Za-z.]+): want (a string|an array|an object), not (a|an) (string|number|bool|array|object))$`)

// values are the "value" strings anywhere in data, if it is valid JSON.
func values(data []byte) []string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && strings.EqualFold(k, "value") {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}
