package taskdef

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/ref"
)

// The ECS developer guide's secrets examples ("Pass Secrets Manager secrets through Amazon
// ECS environment variables", "Pass Systems Manager parameters through Amazon ECS
// environment variables"), in one container.
const guide = `{
  "containerDefinitions": [{
    "name": "web",
    "image": "nginx",
    "secrets": [
      {"name": "environment_variable_name", "valueFrom": "arn:aws:ssm:us-east-2:111122223333:parameter/parameter_name"},
      {"name": "BY_NAME", "valueFrom": "/app/prod/DB_PASS"},
      {"name": "WHOLE", "valueFrom": "arn:aws:secretsmanager:us-west-2:111122223333:secret:appauthexample-AbCdEf"},
      {"name": "USER", "valueFrom": "arn:aws:secretsmanager:us-west-2:111122223333:secret:appauthexample-AbCdEf:username1::"},
      {"name": "PREV", "valueFrom": "arn:aws:secretsmanager:us-west-2:111122223333:secret:appauthexample-AbCdEf::AWSPREVIOUS:"},
      {"name": "BYID", "valueFrom": "arn:aws:secretsmanager:us-west-2:111122223333:secret:appauthexample-AbCdEf:::9d4cb84b-ad69-40e0-a0ab-cEXAMPLE"}
    ]
  }]
}`

func TestParseGuide(t *testing.T) {
	d, err := Parse([]byte(guide))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Container("")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ref.Ref{
		"environment_variable_name": {Kind: ref.SSM, Name: "parameter_name", Region: "us-east-2"},
		"BY_NAME":                   {Kind: ref.SSM, Name: "/app/prod/DB_PASS"},
		"WHOLE":                     {Kind: ref.Secret, Name: "appauthexample-AbCdEf", Region: "us-west-2"},
		"USER":                      {Kind: ref.Secret, Name: "appauthexample-AbCdEf", JSONKey: "username1", Region: "us-west-2"},
		"PREV":                      {Kind: ref.Secret, Name: "appauthexample-AbCdEf", VersionStage: "AWSPREVIOUS", Region: "us-west-2"},
		"BYID":                      {Kind: ref.Secret, Name: "appauthexample-AbCdEf", VersionID: "9d4cb84b-ad69-40e0-a0ab-cEXAMPLE", Region: "us-west-2"},
	}
	if len(c.Secrets) != len(want) {
		t.Fatalf("%d secrets, want %d", len(c.Secrets), len(want))
	}
	for _, s := range c.Secrets {
		w := want[s.Name]
		got := s.Ref
		if got.Kind != w.Kind || got.Name != w.Name || got.JSONKey != w.JSONKey || got.VersionStage != w.VersionStage || got.VersionID != w.VersionID || got.Region != w.Region {
			t.Errorf("%s: %+v, want %+v", s.Name, got, w)
		}
	}
	if !slices.Equal(c.Ignored, []string{"image"}) {
		t.Errorf("ignored %q", c.Ignored)
	}
	if c.Argv() != nil {
		t.Errorf("argv %q, want nil", c.Argv())
	}
}

// The three shapes users have at hand give the same container.
func TestParseShapes(t *testing.T) {
	container := `{"name": "app", "entryPoint": ["secretexec", "--"], "command": ["gunicorn", "app:app"],
	  "environment": [{"name": "A", "value": "1"}, {"name": "EMPTY"}], "secrets": [{"name": "S", "valueFrom": "x"}]}`
	for name, file := range map[string]string{
		"describe": `{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/app:7",
		  "containerDefinitions": [` + container + `], "revision": 7, "status": "ACTIVE"}, "tags": []}`,
		"bare":           `{"family": "app", "containerDefinitions": [` + container + `]}`,
		"cli-input-json": `{"family": "app", "taskRoleArn": "arn:aws:iam::111122223333:role/app", "containerDefinitions": [` + container + `]}`,
		"array":          " \n[" + container + "]",
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Parse([]byte(file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := d.Container("app")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Argv(); !slices.Equal(got, []string{"secretexec", "--", "gunicorn", "app:app"}) || !RunsSecretexec(got) {
				t.Errorf("argv %q", got)
			}
			if !slices.Equal(c.Environment, []Var{{"A", "1"}, {"EMPTY", ""}}) {
				t.Errorf("environment %q", c.Environment)
			}
			if len(c.Secrets) != 1 || c.Secrets[0].Ref.Name != "x" {
				t.Errorf("secrets %+v", c.Secrets)
			}
			if region := d.Region(); (name == "describe") != (region == "eu-west-1") {
				t.Errorf("region %q", region)
			}
		})
	}
}

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/ecs/task-definition.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Container("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "web" || !RunsSecretexec(c.Argv()) || len(c.Environment) != 3 || len(c.Secrets) != 0 {
		t.Errorf("%+v", c)
	}
	if !slices.Contains(d.Ignored, "taskRoleArn") || !slices.Contains(c.Ignored, "image") || slices.Contains(c.Ignored, "environment") {
		t.Errorf("ignored %q and %q", d.Ignored, c.Ignored)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       string // in the error
		is         error
	}{
		{name: "syntax", file: "{\n  \"containerDefinitions\": [\n    {\"name\": \"web\",,}\n", want: "line 3, column 20: not valid JSON"},
		{name: "truncated", file: "{\"containerDefinitions\": [", want: "ends too early"},
		{name: "type", file: "{\"containerDefinitions\": [{\"name\": \"web\",\n \"environment\": {\"A\": \"canary-x\"}}]}", want: "line 2, column 17: containerDefinitions.environment: want an array, not an object"},
		{name: "value type", file: `{"containerDefinitions": [{"name": "web", "environment": [{"name": "A", "value": 5}]}]}`, want: "want a string, not a number"},
		{name: "not a task definition", file: `{"family": "x"}`, is: ErrNotTaskDefinition},
		{name: "a string", file: `"canary-y"`, is: ErrNotTaskDefinition},
		{name: "empty array", file: `[]`, is: ErrNotTaskDefinition},
		{name: "no name", file: `[{"image": "x"}]`, want: "containerDefinitions[0] has no name"},
		{name: "two of a name", file: `[{"name": "a"}, {"name": "a"}]`, want: `two containers are named "a"`},
		{name: "env twice", file: `[{"name": "a", "environment": [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}]}]`, want: "environment X: given twice"},
		{name: "secret and env", file: `[{"name": "a", "environment": [{"name": "X", "value": "1"}], "secrets": [{"name": "X", "valueFrom": "p"}]}]`, want: "secret X: both an environment variable and a secret"},
		{name: "env without name", file: `[{"name": "a", "environment": [{"value": "canary-z"}]}]`, want: "environment[0]: no name"},
		{name: "NUL value", file: `[{"name": "a", "environment": [{"name": "X", "value": "a\u0000b"}]}]`, want: "NUL"},
		{name: "no valueFrom", file: `[{"name": "a", "secrets": [{"name": "S"}]}]`, want: "secret S: no valueFrom"},
		{name: "s3 arn", file: `[{"name": "a", "secrets": [{"name": "S", "valueFrom": "arn:aws:s3:::bucket/key"}]}]`, is: ErrBadValueFrom},
		{name: "stage and id", file: `[{"name": "a", "secrets": [{"name": "S", "valueFrom": "arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf::AWSCURRENT:9d4cb84b-ad69-40e0-a0ab-cEXAMPLE"}]}]`, want: "invalid arn reference: give a version stage or a version id, not both"},
		{name: "two fields", file: `[{"name": "a", "secrets": [{"name": "S", "valueFrom": "arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf:key"}]}]`, want: "a secret arn ends in :NAME or in :NAME:JSON_KEY:VERSION_STAGE:VERSION_ID"},
		{name: "bad name", file: `[{"name": "a", "secrets": [{"name": "S", "valueFrom": "app/prod/x"}]}]`, want: "invalid parameter name: a hierarchical parameter name starts with"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.file))
			if err == nil {
				t.Fatalf("no error: %+v", d)
			}
			if tt.is != nil && !errors.Is(err, tt.is) || tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q %v", err, tt.want, tt.is)
			}
			if strings.Contains(err.Error(), "canary") {
				t.Errorf("error %q quotes the file", err)
			}
		})
	}
}

func TestContainer(t *testing.T) {
	d, err := Parse([]byte(`[{"name": "web"}, {"name": "worker", "command": ["celery"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	var ce *ContainerError
	if _, err := d.Container(""); !errors.As(err, &ce) || err.Error() != "the task definition has 2 containers: web, worker" {
		t.Errorf("no name: %v", err)
	}
	if _, err := d.Container("api"); !errors.As(err, &ce) || err.Error() != `no container "api" in the task definition (it has web, worker)` {
		t.Errorf("unknown: %v", err)
	}
	if c, err := d.Container("worker"); err != nil || !slices.Equal(c.Argv(), []string{"celery"}) || RunsSecretexec(c.Argv()) {
		t.Errorf("worker: %v %+v", err, c)
	}
}

func TestIgnoredSkipsUnsetFields(t *testing.T) {
	// What describe-task-definition prints for fields never set.
	d, err := Parse([]byte(`[{"name": "a", "entryPoint": null, "dnsServers": null, "mountPoints": [], "volumesFrom": [ ],
	  "cpu": 0, "essential": true, "repositoryCredentials": {"credentialsParameter": "arn"}, "Environment": []}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Containers[0].Ignored; !slices.Equal(got, []string{"essential", "repositoryCredentials"}) {
		t.Errorf("ignored %q", got)
	}
}

func TestEnvironmentFiles(t *testing.T) {
	d, err := Parse([]byte(`[{"name": "a", "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}]}]`))
	if err != nil || d.Containers[0].EnvFiles != 1 {
		t.Fatalf("%v %+v", err, d)
	}
}

func TestRegionOfARN(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:ecs:eu-west-1:111122223333:task-definition/app:7": "eu-west-1",
		"arn:aws:ecs::111122223333:task-definition/app:7":          "",
		"arn:aws:ecs:EU:111122223333:task-definition/app:7":        "",
		"":                    "",
		"task-definition/app": "",
	} {
		if got := (&Definition{ARN: arn}).Region(); got != want {
			t.Errorf("%q: region %q, want %q", arn, got, want)
		}
	}
}
