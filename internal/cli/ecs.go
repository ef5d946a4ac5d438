package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/secretexec/secretexec/env"
	"github.com/secretexec/secretexec/internal/taskdef"
	"github.com/secretexec/secretexec/ref"
)

// taskRun is the container of --ecs-task-definition that this start runs, as ECS would
// start it: its environment and secrets over the inherited environment, then its command.
type taskRun struct {
	file string
	name string   // the container's
	argv []string // its entryPoint + command, when they do not run secretexec itself
	env  []taskdef.Var
	// secrets are resolved as references, unless SECRETEXEC_DISABLE is set.
	secrets []taskdef.Secret
	// arnRegion is the region of the task definition's ARN; envRegion the AWS_REGION (else
	// AWS_DEFAULT_REGION) of the container's environment, which secretexec in the container
	// would use.
	arnRegion, envRegion string
	ignored, ignoredTask []string // fields set and not applied, for --verbose
}

// loadTask reads c's task definition and parses the configuration again with what its
// container adds: its environment (where SECRETEXEC_* twins configure secretexec, as they
// would in the container) and, unless args give a COMMAND, its command line. It returns the
// new configuration and the environment with the container's over the inherited one.
func loadTask(c *config, args, environ []string) (*config, []string, error) {
	data, err := os.ReadFile(c.taskDef)
	if err != nil {
		return nil, nil, fmt.Errorf("--ecs-task-definition: %w", err)
	}
	d, err := taskdef.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("--ecs-task-definition %s: %w", c.taskDef, err)
	}
	ct, err := d.Container(c.container)
	if err != nil {
		return nil, nil, fmt.Errorf("--ecs-task-definition %s: %w", c.taskDef, err)
	}
	if ct.EnvFiles > 0 {
		return nil, nil, &hintError{
			err:  fmt.Errorf("container %q has environmentFiles (S3 objects), which secretexec does not read", ct.Name),
			hint: "download the file and pass its variables in the environment (aws s3 cp s3://BUCKET/KEY.env app.env; set -a; . ./app.env; set +a), or move them to environment, secrets or a path read with --ssm-path",
		}
	}
	t := &taskRun{file: c.taskDef, name: ct.Name, env: ct.Environment, secrets: ct.Secrets,
		arnRegion: d.Region(), ignored: ct.Ignored, ignoredTask: d.Ignored}
	own := map[string]bool{flagTwin("ecs-task-definition"): true, flagTwin("container"): true}
	var kvs []string
	for _, v := range ct.Environment {
		if own[v.Name] {
			return nil, nil, usagef("give the task definition and the container on the command line or in the real environment", "container %q: its environment sets %s", ct.Name, v.Name)
		}
		kvs = append(kvs, v.Name+"="+v.Value)
		if v.Name == "AWS_REGION" || (v.Name == "AWS_DEFAULT_REGION" && t.envRegion == "") {
			t.envRegion = v.Value
		}
	}
	for _, s := range ct.Secrets {
		if env.Reserved(s.Name) {
			return nil, nil, usagef("SECRETEXEC_* variables configure secretexec and are never fetched: rename the secret", "container %q: secret %s is in secretexec's own SECRETEXEC_ namespace", ct.Name, s.Name)
		}
	}
	environ = overlay(environ, kvs)
	var pre []string
	if argv := ct.Argv(); taskdef.RunsSecretexec(argv) {
		pre = argv[1:len(argv):len(argv)] // never nil: the container runs secretexec
	} else {
		t.argv = argv
	}
	c2, err := parseConfigTask(pre, args, environ, t)
	if err != nil {
		return nil, nil, err
	}
	if c2.taskDef != c.taskDef || c2.container != c.container {
		return nil, nil, usagef("give the task definition and the container on the command line or in the real environment", "container %q runs secretexec with another task definition or container", ct.Name)
	}
	return c2, environ, nil
}

// overlay sets each NAME=VALUE of kvs in environ, which holds each name once, in place or
// at the end.
func overlay(environ, kvs []string) []string {
	if len(kvs) == 0 {
		return environ
	}
	at := make(map[string]int, len(environ))
	out := slices.Clone(environ)
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		at[k] = i
	}
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := at[k]; ok {
			out[i] = kv
			continue
		}
		at[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// addSecrets puts the container's secrets into base, each variable holding its valueFrom
// until it is resolved, and into refs, replacing a reference the inherited variable of the
// same name held: the task definition's secret wins, as in ECS.
func (t *taskRun) addSecrets(base []string, refs []ref.VarRef) ([]string, []ref.VarRef) {
	if len(t.secrets) == 0 {
		return base, refs
	}
	names := make(map[string]bool, len(t.secrets))
	kvs := make([]string, 0, len(t.secrets))
	for _, s := range t.secrets {
		names[s.Name] = true
		kvs = append(kvs, s.Name+"="+s.ValueFrom)
	}
	refs = slices.DeleteFunc(slices.Clone(refs), func(vr ref.VarRef) bool { return names[vr.Var] })
	for _, s := range t.secrets {
		refs = append(refs, ref.VarRef{Var: s.Name, Ref: s.Ref})
	}
	return overlay(base, kvs), refs
}

// envNames are the variables the container's environment sets for the command (its
// SECRETEXEC_* twins configure secretexec instead); nil for no task definition. --output
// writes them with the fetched ones: they are what the container gets.
func (t *taskRun) envNames() []string {
	if t == nil {
		return nil
	}
	var names []string
	for _, v := range t.env {
		if !env.Reserved(v.Name) {
			names = append(names, v.Name)
		}
	}
	return names
}

// secretNames lists the container's secrets, for a warning.
func (t *taskRun) secretNames() string {
	names := make([]string, len(t.secrets))
	for i, s := range t.secrets {
		names[i] = s.Name
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// describe says, for --verbose, what of the task definition is applied and what is not.
func (t *taskRun) describe(lg *logger) {
	lg.verbosef("task definition %s: container %q: %s, %s", t.file, t.name, plural(len(t.env), "environment variable"), plural(len(t.secrets), "secret"))
	if len(t.ignoredTask) > 0 {
		lg.verbosef("task definition %s: not applied (secretexec reads with its own AWS credentials, not the task's roles): %s", t.file, strings.Join(t.ignoredTask, ", "))
	}
	if len(t.ignored) > 0 {
		lg.verbosef("container %q: not applied: %s", t.name, strings.Join(t.ignored, ", "))
	}
}

// planLines are the --dry-run and --verbose lines of the container's environment: names,
// never values. Its secrets are described with the references.
func (t *taskRun) planLines() []planLine {
	var ls []planLine
	for _, v := range t.env {
		if !env.Reserved(v.Name) {
			ls = append(ls, planLine{v.Name, fmt.Sprintf("%s: from container %q's environment", v.Name, t.name)})
		}
	}
	return ls
}

// secretFrom is how the plan names a secret's origin, or "" for a variable that is not one.
func (t *taskRun) secretFrom(name string) string {
	if t == nil {
		return ""
	}
	for _, s := range t.secrets {
		if s.Name == name {
			return fmt.Sprintf("container %q's secrets: %s", t.name, s.ValueFrom)
		}
	}
	return ""
}
