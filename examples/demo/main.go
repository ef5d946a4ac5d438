// Command demo shows secretexec's main job with no AWS account: it starts the kumo AWS
// emulator in-process (internal/awstest), seeds the runbook's example secrets, builds secretexec and runs it in
// front of a small command that lists the variables it received, values masked.
//
//	go run ./examples/demo
//	go run ./examples/demo ecs    # examples/ecs/task-definition.json: --dry-run, then its own command
//
// With ecs, a stand-in gunicorn (this program again) lists what the container's command got.
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/secretexec/secretexec/internal/awstest"
)

// The runbook's parameters (/auraxis/prod/NAME) and its JSON secret (auraxis/prod/app).
var (
	parameters = map[string]string{
		"/auraxis/prod/SECRET_KEY":        "demo-secret-key-9f8e7d",
		"/auraxis/prod/JWT_SECRET_KEY":    "demo-jwt-secret-1a2b3c",
		"/auraxis/prod/DB_HOST":           "db.internal",
		"/auraxis/prod/DB_PORT":           "5432",
		"/auraxis/prod/DB_NAME":           "auraxis",
		"/auraxis/prod/DB_USER":           "auraxis_app",
		"/auraxis/prod/DB_PASS":           "demo-db-pass-\"quoted\" $NOT_EXPANDED",
		"/auraxis/prod/POSTGRES_PASSWORD": "demo-postgres-pass",
	}
	appSecret = `{"BRAPI_KEY":"demo-brapi-token","FEATURE_FLAGS":{"beta":true},"WORKERS":4}`
)

// shown are the variables the stand-in gunicorn lists.
var shown = []string{"SECRET_KEY", "JWT_SECRET_KEY", "DB_HOST", "DB_PASS", "BRAPI_KEY", "AWS_REGION", "SECRETEXEC_SSM_PATH"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "show" {
		show(os.Args[2:])
		return
	}
	if filepath.Base(os.Args[0]) == "gunicorn" {
		fmt.Printf("\ngunicorn (a stand-in) started with %q\n", os.Args[1:])
		show(shown)
		return
	}
	ecs := len(os.Args) > 1 && os.Args[1] == "ecs"
	if err := demo(ecs); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func demo(ecs bool) error {
	ctx := context.Background()
	srv, err := awstest.Start() // kumo, behind a proxy that enforces AWS's request limits
	if err != nil {
		return fmt.Errorf("starting the emulator: %w", err)
	}
	defer srv.Close()
	if err := seed(ctx, srv); err != nil {
		return fmt.Errorf("seeding the emulator: %w", err)
	}

	dir, err := os.MkdirTemp("", "secretexec-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "secretexec")
	build := exec.Command("go", "build", "-o", bin, "github.com/secretexec/secretexec")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building secretexec: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	if ecs {
		return demoECS(srv, dir, bin, self)
	}
	args := []string{"--verbose", "--ssm-path", "/auraxis/prod", "--secret-id", "auraxis/prod/app", "--", self, "show",
		"SECRET_KEY", "JWT_SECRET_KEY", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASS", "POSTGRES_PASSWORD",
		"BRAPI_KEY", "FEATURE_FLAGS", "WORKERS", "SECRETEXEC_SSM_PATH"}
	fmt.Printf("$ secretexec %s -- show ...\n\n", strings.Join(args[:5], " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	// A whole environment of its own: the emulator, test credentials, and nothing from the
	// developer's AWS setup (~/.aws, AWS_PROFILE, AWS_CA_BUNDLE).
	cmd.Env = append(srv.Env(dir),
		"PATH="+os.Getenv("PATH"),
		"HOME="+dir,
		"DB_HOST=localhost", // inherited; AWS wins unless --no-override
	)
	if err := cmd.Start(); err != nil {
		return err
	}
	fmt.Printf("secretexec started as pid %d\n", cmd.Process.Pid)
	return cmd.Wait()
}

// taskDefinition is the repository's example, read from a clone's root.
const taskDefinition = "examples/ecs/task-definition.json"

// demoECS runs the example task definition's container: first --dry-run, then its own
// command, with a stand-in gunicorn (this program, by another name) first on PATH.
func demoECS(srv *awstest.Server, dir, bin, self string) error {
	if _, err := os.Stat(taskDefinition); err != nil {
		return fmt.Errorf("run the demo from the repository's root: %w", err)
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o700); err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(binDir, "gunicorn")); err != nil {
		return err
	}
	env := append(srv.Env(dir), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+dir)
	for _, args := range [][]string{
		{"--dry-run", "--ecs-task-definition", taskDefinition},
		{"--ecs-task-definition", taskDefinition},
	} {
		fmt.Printf("$ secretexec %s\n", strings.Join(args, " "))
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		cmd.Env = env
		if err := cmd.Run(); err != nil {
			return err
		}
		fmt.Println()
	}
	return nil
}

func seed(ctx context.Context, srv *awstest.Server) error {
	for name, v := range parameters {
		if err := srv.PutParameter(ctx, name, v, true); err != nil {
			return err
		}
	}
	_, err := srv.CreateSecret(ctx, "auraxis/prod/app", appSecret)
	return err
}

// show is the command secretexec execs: it lists the variables it was asked about, masked.
func show(names []string) {
	sort.Strings(names)
	fmt.Printf("\nthe command runs as pid %d (secretexec exec'd it: same process) and received:\n", os.Getpid())
	for _, n := range names {
		v, ok := os.LookupEnv(n)
		if !ok {
			fmt.Printf("  %-20s (not set)\n", n)
			continue
		}
		sum := sha256.Sum256([]byte(v))
		fmt.Printf("  %-20s %s (%d bytes, sha256 %x)\n", n, mask(v), len(v), sum[:3])
	}
}

func mask(v string) string {
	if len(v) <= 4 {
		return strings.Repeat("*", len(v))
	}
	return v[:2] + strings.Repeat("*", min(len(v)-2, 10))
}
