// Command reference is the benchmark's baseline: the straightforward way to do what
// secretexec does, with SDK defaults. It loads the default configuration, reads every page of
// GetParametersByPath one after another, then each secret (-secret, a JSON object) and each
// reference found in the environment (ssm://NAME, sm://ID#KEY) one after another, and execs
// the command with the values added to the environment.
//
//	reference [-path P] [-secret ID]... -- COMMAND [ARG...]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	path := flag.String("path", "", "SSM path")
	var secrets list
	flag.Var(&secrets, "secret", "Secrets Manager secret id holding a JSON object (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fail(fmt.Errorf("no command"))
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	environ := os.Environ()
	if *path != "" {
		p := ssm.NewGetParametersByPathPaginator(ssm.NewFromConfig(cfg), &ssm.GetParametersByPathInput{
			Path: path, WithDecryption: aws.Bool(true),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				fail(err)
			}
			for _, prm := range out.Parameters {
				name := strings.TrimPrefix(aws.ToString(prm.Name), strings.TrimSuffix(*path, "/")+"/")
				environ = append(environ, name+"="+aws.ToString(prm.Value))
			}
		}
	}
	var sm *secretsmanager.Client
	secretJSON := func(id string) map[string]any {
		if sm == nil {
			sm = secretsmanager.NewFromConfig(cfg)
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			fail(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
			fail(err)
		}
		return m
	}
	for _, id := range secrets {
		for k, v := range secretJSON(id) {
			environ = append(environ, k+"="+fmt.Sprint(v))
		}
	}
	var ssmc *ssm.Client
	for i, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(v, "ssm://"):
			if ssmc == nil {
				ssmc = ssm.NewFromConfig(cfg)
			}
			out, err := ssmc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(v[len("ssm://"):]), WithDecryption: aws.Bool(true)})
			if err != nil {
				fail(err)
			}
			environ[i] = name + "=" + aws.ToString(out.Parameter.Value)
		case strings.HasPrefix(v, "sm://"):
			id, key, _ := strings.Cut(v[len("sm://"):], "#")
			environ[i] = name + "=" + fmt.Sprint(secretJSON(id)[key])
		}
	}
	argv := flag.Args()
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		fail(err)
	}
	fail(syscall.Exec(bin, argv, environ))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reference:", err)
	os.Exit(1)
}
