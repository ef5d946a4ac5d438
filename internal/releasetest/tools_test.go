package releasetest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// toolsVar names the directory holding the pinned release tools (GoReleaser, syft,
// actionlint), which .ci/tools builds outside the repository and .ci/run passes on. Without
// it the tests that need them skip, as the container tests skip without podman.
const toolsVar = "RELEASETEST_TOOLS"

// tool returns the path of one pinned tool, or skips the test when none were built.
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv(toolsVar)
	if dir == "" {
		t.Skipf("%s is not set: run .ci/run, or export %s=$(.ci/tools) first", toolsVar, toolsVar)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v (.ci/tools %s builds it)", name, err, dir)
	}
	return p
}

// root is the repository's top directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// goSettings are the go command's own settings that a build needs from this machine: its
// caches and how it reaches modules. Nothing else of the caller's environment is passed on.
var goSettings = []string{
	"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOTOOLCHAIN",
	"GOPROXY", "GOSUMDB", "GONOSUMDB", "GONOPROXY", "GOPRIVATE", "GOINSECURE",
}

// toolEnv is the whole environment the release tools run in: the pinned tools, go and git
// on PATH, Go's settings, an empty HOME (no ~/.aws, no ~/.docker, no git configuration) and
// nothing else, so a developer's shell cannot change what the release does.
func toolEnv(t *testing.T, toolsDir string) []string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	gitCmd, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, d := range []string{toolsDir, filepath.Dir(goCmd), filepath.Dir(gitCmd), "/usr/bin", "/bin"} {
		if !slices.Contains(path, d) {
			path = append(path, d)
		}
	}
	env := []string{
		"PATH=" + strings.Join(path, string(os.PathListSeparator)),
		"HOME=" + t.TempDir(),
		"TMPDIR=" + t.TempDir(),
		"GOENV=off",
	}
	out, err := exec.Command(goCmd, append([]string{"env", "-json"}, goSettings...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	var settings map[string]string
	if err := json.Unmarshal(out, &settings); err != nil {
		t.Fatalf("go env: %v", err)
	}
	for _, k := range goSettings {
		if v := settings[k]; v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// run runs one command to completion and returns its combined output; any failure ends the test.
func run(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no result after %v\n%s", filepath.Base(name), strings.Join(args, " "), timeout, out)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	return string(out)
}
