// Package examples holds user-facing deployment examples; its test keeps the JSON ones valid
// and in step with what secretexec calls.
package examples

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestJSONFilesParse(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no JSON examples: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s: %v", f, err)
		} else if dec.More() {
			t.Errorf("%s: trailing data after the JSON value", f)
		}
	}
}

type statement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]stringList
}

// stringList is an IAM field that may be one string or a list of them.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// The policy grants what the fetcher calls (GetParametersByPath, GetParameters,
// GetSecretValue, and kms:Decrypt through the two services) and nothing wider.
func TestIAMPolicyIsLeastPrivilege(t *testing.T) {
	var pol struct {
		Version   string
		Statement []statement
	}
	b, err := os.ReadFile("iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pol); err != nil {
		t.Fatal(err)
	}
	if pol.Version != "2012-10-17" {
		t.Errorf("Version %q", pol.Version)
	}
	granted := map[string][]string{}
	for _, st := range pol.Statement {
		if st.Effect != "Allow" {
			t.Errorf("%s: effect %q", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q", st.Sid, a)
			}
			granted[a] = append(granted[a], st.Resource...)
		}
		for _, r := range st.Resource {
			if r == "*" {
				t.Errorf("%s: Resource \"*\"", st.Sid)
			}
		}
		if slices.Contains(st.Action, "kms:Decrypt") {
			via := st.Condition["StringEquals"]["kms:ViaService"]
			want := []string{"ssm.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"}
			if !slices.Equal(via, want) {
				t.Errorf("kms:Decrypt kms:ViaService = %v, want %v", via, want)
			}
		}
	}
	want := map[string][]string{
		"ssm:GetParametersByPath": {
			"arn:aws:ssm:us-east-1:123456789012:parameter/auraxis/prod",
			"arn:aws:ssm:us-east-1:123456789012:parameter/auraxis/prod/*",
		},
		"ssm:GetParameters": {
			"arn:aws:ssm:us-east-1:123456789012:parameter/auraxis/prod",
			"arn:aws:ssm:us-east-1:123456789012:parameter/auraxis/prod/*",
		},
		"secretsmanager:GetSecretValue": {
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:auraxis/prod/app-??????",
		},
		"kms:Decrypt": {
			"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		},
	}
	for a, res := range want {
		if !slices.Equal(granted[a], res) {
			t.Errorf("%s on %v, want %v", a, granted[a], res)
		}
	}
	for a := range granted {
		if _, ok := want[a]; !ok {
			t.Errorf("unexpected action %s", a)
		}
	}
}

// secretexec reads with the task role: the task definition must have one, and the container
// must configure secretexec through its environment.
func TestECSTaskDefinition(t *testing.T) {
	var td struct {
		TaskRoleArn          string
		ExecutionRoleArn     string
		ContainerDefinitions []struct {
			EntryPoint  []string
			Environment []struct{ Name, Value string }
		}
	}
	b, err := os.ReadFile("ecs/task-definition.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &td); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(td.TaskRoleArn, "arn:aws:iam::") || td.TaskRoleArn == td.ExecutionRoleArn {
		t.Errorf("taskRoleArn %q must be its own role (execution role %q)", td.TaskRoleArn, td.ExecutionRoleArn)
	}
	if len(td.ContainerDefinitions) == 0 {
		t.Fatal("no containers")
	}
	c := td.ContainerDefinitions[0]
	if !slices.Equal(c.EntryPoint, []string{"secretexec", "--"}) {
		t.Errorf("entryPoint %q", c.EntryPoint)
	}
	env := map[string]string{}
	for _, e := range c.Environment {
		env[e.Name] = e.Value
	}
	if env["SECRETEXEC_SSM_PATH"] != "/auraxis/prod" {
		t.Errorf("SECRETEXEC_SSM_PATH = %q", env["SECRETEXEC_SSM_PATH"])
	}
}
