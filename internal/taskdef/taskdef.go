// Package taskdef reads an Amazon ECS task definition file: one container's environment,
// secrets (their valueFrom parsed as ECS parses them, by package ref) and command line. It is
// pure: no AWS calls, no os.Getenv, no file system (the caller reads the file).
//
// Accepted shapes, all JSON:
//
//	{"taskDefinition": {...}, "tags": [...]}   aws ecs describe-task-definition
//	{"family": ..., "containerDefinitions": [...]}   the bare object, or
//	                                           register-task-definition --cli-input-json
//	[{"name": ..., "image": ...}, ...]         a containerDefinitions array alone (Terraform's
//	                                           container_definitions)
//
// Errors never quote the file's content: an environment entry's value may be a secret.
package taskdef

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/secretexec/secretexec/ref"
)

// Definition is what secretexec reads of a task definition.
type Definition struct {
	ARN        string // taskDefinitionArn, "" when the file does not hold it
	Containers []Container
	// Ignored names the task-level fields that are set and that secretexec does not apply
	// (taskRoleArn, networkMode, ...), sorted.
	Ignored []string
}

// Container is one container definition, as far as secretexec applies it.
type Container struct {
	Name        string
	EntryPoint  []string
	Command     []string
	Environment []Var    // in file order, each name once
	Secrets     []Secret // in file order, each name once, none also in Environment
	// EnvFiles counts environmentFiles entries: S3 objects, which secretexec does not read.
	EnvFiles int
	// Ignored names the container's fields that are set and that secretexec does not apply
	// (image, portMappings, repositoryCredentials, ...), sorted.
	Ignored []string
}

// Var is one environment entry.
type Var struct{ Name, Value string }

// Secret is one secrets entry: the variable and the object its valueFrom names.
type Secret struct {
	Name      string
	ValueFrom string // as written; never a secret value
	Ref       ref.Ref
}

// SyntaxError is a file that is not valid JSON, or whose JSON has the wrong type somewhere,
// at Line and Column (1-based, in bytes). Msg never quotes the file.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// ErrNotTaskDefinition is valid JSON that holds no container definitions.
var ErrNotTaskDefinition = errors.New("not an ECS task definition: no containerDefinitions")

// ContainerError is a container that cannot be chosen: Name is not among Names, or Name is
// "" and there are several.
type ContainerError struct {
	Name  string
	Names []string // every container's name, in file order
}

func (e *ContainerError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("the task definition has %d containers: %s", len(e.Names), strings.Join(e.Names, ", "))
	}
	return fmt.Sprintf("no container %q in the task definition (it has %s)", e.Name, strings.Join(e.Names, ", "))
}

// EntryError is a container's environment or secrets entry that ECS would refuse, or that
// cannot be passed to a process.
type EntryError struct {
	Container string
	Field     string // "environment" or "secrets"
	Index     int    // 0-based position in Field
	Name      string // the variable, if the entry has a valid one
	ValueFrom bool   // the secret's valueFrom is what is wrong
	Err       error
}

func (e *EntryError) Error() string {
	where := fmt.Sprintf("%s[%d]", e.Field, e.Index)
	if e.Name != "" {
		where = fmt.Sprintf("%s %s", strings.TrimSuffix(e.Field, "s"), e.Name)
	}
	return fmt.Sprintf("container %q: %s: %v", e.Container, where, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// ErrBadValueFrom is a valueFrom that is neither an SSM parameter name nor the ARN of an SSM
// parameter or a Secrets Manager secret.
var ErrBadValueFrom = errors.New("valueFrom is neither a parameter name nor the ARN of an SSM parameter or a Secrets Manager secret")

// The JSON shapes. Every field secretexec applies is listed here; the others are named in
// Ignored.
type (
	fileJSON struct {
		TaskDefinition *defJSON `json:"taskDefinition"`
		defJSON
	}
	defJSON struct {
		TaskDefinitionArn    string          `json:"taskDefinitionArn"`
		ContainerDefinitions []containerJSON `json:"containerDefinitions"`
	}
	containerJSON struct {
		Name             string     `json:"name"`
		EntryPoint       []string   `json:"entryPoint"`
		Command          []string   `json:"command"`
		Environment      []kvJSON   `json:"environment"`
		Secrets          []kvJSON   `json:"secrets"`
		EnvironmentFiles []struct{} `json:"environmentFiles"`
	}
	kvJSON struct {
		Name      *string `json:"name"`
		Value     *string `json:"value"`
		ValueFrom *string `json:"valueFrom"`
	}
)

// applied are the fields secretexec reads, by level, for Ignored.
var (
	appliedTop       = []string{"taskDefinition", "taskDefinitionArn", "containerDefinitions", "tags"}
	appliedContainer = []string{"name", "entryPoint", "command", "environment", "secrets", "environmentFiles"}
)

// Parse reads a task definition file in any of the accepted shapes and checks every
// container's environment and secrets as ECS would at registration.
func Parse(data []byte) (*Definition, error) {
	var f fileJSON
	top := firstByte(data)
	var err error
	if top != '{' && top != '[' {
		var v json.RawMessage // validity only: no value is decoded
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, syntaxError(data, err)
		}
		return nil, ErrNotTaskDefinition // a string, number, true or null
	}
	if top == '[' {
		err = json.Unmarshal(data, &f.ContainerDefinitions)
	} else {
		err = json.Unmarshal(data, &f)
	}
	if err != nil {
		return nil, syntaxError(data, err)
	}
	d := f.defJSON
	if f.TaskDefinition != nil {
		d = *f.TaskDefinition
	}
	if len(d.ContainerDefinitions) == 0 {
		return nil, ErrNotTaskDefinition
	}
	out := &Definition{ARN: d.TaskDefinitionArn}
	seen := map[string]bool{}
	for i, cj := range d.ContainerDefinitions {
		c, err := container(i, cj)
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("two containers are named %q", c.Name)
		}
		seen[c.Name] = true
		out.Containers = append(out.Containers, c)
	}
	ignored(data, top == '[', out)
	return out, nil
}

func firstByte(data []byte) byte {
	for _, b := range data {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b
	}
	return 0
}

func container(i int, cj containerJSON) (Container, error) {
	if cj.Name == "" {
		return Container{}, fmt.Errorf("containerDefinitions[%d] has no name", i)
	}
	c := Container{Name: cj.Name, EntryPoint: cj.EntryPoint, Command: cj.Command, EnvFiles: len(cj.EnvironmentFiles)}
	names := map[string]string{} // variable -> the field it was first given in
	for j, kv := range cj.Environment {
		name, err := entryName(kv.Name, names, "environment")
		if err == nil && kv.ValueFrom != nil {
			err = errors.New("an environment entry has a value, not a valueFrom (that is for secrets)")
		}
		value := ""
		if kv.Value != nil {
			value = *kv.Value
		}
		if err == nil && strings.IndexByte(value, 0) >= 0 {
			err = errors.New("the value holds a NUL byte, which no process environment can carry")
		}
		if err != nil {
			return Container{}, &EntryError{Container: c.Name, Field: "environment", Index: j, Name: name, Err: err}
		}
		c.Environment = append(c.Environment, Var{Name: name, Value: value})
	}
	for j, kv := range cj.Secrets {
		name, err := entryName(kv.Name, names, "secrets")
		nameOK := err == nil
		var s Secret
		if err == nil {
			switch {
			case kv.Value != nil:
				err = errors.New("a secrets entry has a valueFrom, not a value")
			case kv.ValueFrom == nil || *kv.ValueFrom == "":
				err = errors.New("no valueFrom")
			default:
				s = Secret{Name: name, ValueFrom: *kv.ValueFrom}
				s.Ref, err = ParseValueFrom(s.ValueFrom)
			}
		}
		if err != nil {
			return Container{}, &EntryError{Container: c.Name, Field: "secrets", Index: j, Name: name, Err: err, ValueFrom: nameOK}
		}
		c.Secrets = append(c.Secrets, s)
	}
	return c, nil
}

// entryName checks an entry's variable name and records it in names; it returns the name
// also with an error, when it is one worth naming.
func entryName(p *string, names map[string]string, field string) (string, error) {
	if p == nil || *p == "" {
		return "", errors.New("no name")
	}
	name := *p
	if strings.ContainsAny(name, "=\x00") {
		return "", errors.New("the name holds \"=\" or a NUL byte")
	}
	switch names[name] {
	case "":
		names[name] = field
		return name, nil
	case field:
		return name, fmt.Errorf("given twice in %s", field)
	}
	// ECS's own rule: "The secret name must be unique and not shared with any new or
	// existing environment variables set on the container".
	return name, errors.New("both an environment variable and a secret (ECS refuses a secret name shared with an environment variable)")
}

// ParseValueFrom parses a secrets entry's valueFrom as ECS does: an ARN is an SSM parameter
// or a Secrets Manager secret (with its optional :JSON_KEY:VERSION_STAGE:VERSION_ID), by
// ref's rules for bare ARNs; anything else is the name of an SSM parameter in the task's
// region. The errors are ref's.
func ParseValueFrom(v string) (ref.Ref, error) {
	if strings.HasPrefix(v, "arn:") {
		r, ok, err := ref.Parse(v, true)
		switch {
		case !ok:
			return ref.Ref{}, ErrBadValueFrom
		case err != nil:
			return ref.Ref{}, err
		}
		return r, nil
	}
	r, _, err := ref.Parse(ref.FormSSM+v, false)
	if err != nil {
		// ref says "invalid ssm:// reference", a form the file does not use.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return ref.Ref{}, fmt.Errorf("invalid parameter name: %w", err)
	}
	return r, nil
}

// Container returns the container called name; "" picks the only one.
func (d *Definition) Container(name string) (*Container, error) {
	names := make([]string, len(d.Containers))
	for i := range d.Containers {
		names[i] = d.Containers[i].Name
		if d.Containers[i].Name == name {
			return &d.Containers[i], nil
		}
	}
	if name == "" && len(d.Containers) == 1 {
		return &d.Containers[0], nil
	}
	return nil, &ContainerError{Name: name, Names: names}
}

// Region is the region of the task definition's ARN, or "".
func (d *Definition) Region() string { return ref.RegionOf(d.ARN) }

// Argv is the container's command line as docker builds it: entryPoint, then command. It is
// nil when the task definition gives neither (the image's own ENTRYPOINT and CMD, which
// the file does not hold, would run).
func (c *Container) Argv() []string {
	if len(c.EntryPoint)+len(c.Command) == 0 {
		return nil
	}
	return slices.Concat(c.EntryPoint, c.Command)
}

// RunsSecretexec reports whether argv starts with secretexec itself (by file name), as a
// container whose entryPoint is ["secretexec", "--"] does.
func RunsSecretexec(argv []string) bool {
	return len(argv) > 0 && path.Base(argv[0]) == "secretexec"
}

// syntaxError turns encoding/json's error into a SyntaxError at a line and column, with a
// message that quotes nothing of the file.
func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		msg := "not valid JSON"
		if se.Offset >= int64(len(data)) {
			msg = "not valid JSON: the file ends too early"
		}
		line, col := position(data, se.Offset-1)
		return &SyntaxError{Line: line, Column: col, Msg: msg}
	case errors.As(err, &te):
		line, col := position(data, te.Offset-1)
		field := strings.TrimPrefix(te.Field, "defJSON.") // the embedded struct's name
		jsonKind, _, _ := strings.Cut(te.Value, " ")      // "number 1e999" would quote the file
		if field == "" {
			field = "the task definition"
		}
		return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf("%s: want %s, not %s", field, kind(te.Type), article(jsonKind))}
	}
	return &SyntaxError{Line: 1, Column: 1, Msg: "not valid JSON"}
}

// position is the 1-based line and column of data[off].
func position(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line = 1 + strings.Count(string(before), "\n")
	col = int(off) + 1
	if i := strings.LastIndexByte(string(before), '\n'); i >= 0 {
		col = int(off) - i
	}
	return line, col
}

func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return t.Kind().String()
}

func article(jsonKind string) string {
	switch jsonKind {
	case "array", "object":
		return "an " + jsonKind
	case "string", "number", "bool":
		return "a " + jsonKind
	}
	return jsonKind
}

// ignored fills in the fields that are set and not applied, at the task's level and the
// containers'. data is valid JSON of a known shape (Parse checked it).
func ignored(data []byte, array bool, d *Definition) {
	var containers []map[string]json.RawMessage
	if array {
		_ = json.Unmarshal(data, &containers)
	} else {
		var top map[string]json.RawMessage
		_ = json.Unmarshal(data, &top)
		if inner, ok := top["taskDefinition"]; ok && !empty(inner) {
			top = nil
			_ = json.Unmarshal(inner, &top)
		}
		d.Ignored = setFields(top, appliedTop)
		_ = json.Unmarshal(top["containerDefinitions"], &containers)
	}
	for i := range d.Containers {
		if i < len(containers) {
			d.Containers[i].Ignored = setFields(containers[i], appliedContainer)
		}
	}
}

// setFields names the keys of m that are not applied (encoding/json matches keys without
// regard to case, and so does this) and hold something: not null, "",
// [], {}, false or 0 (what describe-task-definition prints for fields never set).
func setFields(m map[string]json.RawMessage, applied []string) []string {
	var out []string
	for k, v := range m {
		if !slices.ContainsFunc(applied, func(a string) bool { return strings.EqualFold(a, k) }) && !empty(v) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func empty(v json.RawMessage) bool {
	switch strings.TrimSpace(string(v)) {
	case "", "null", `""`, "[]", "{}", "false", "0":
		return true
	}
	s := strings.Join(strings.Fields(string(v)), "")
	return s == "[]" || s == "{}"
}
