package releasetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The one way secretexec's binaries are built, by `make release`, by the Dockerfile and by
// GoReleaser: static (CGO_ENABLED=0), no build paths (-trimpath), no symbol tables (-s -w), and
// the version and commit stamped in. VERSION is `git describe --tags --always --dirty` (the
// Makefile's default, GoReleaser's .Summary: the tag itself on a release) and COMMIT the full
// commit hash (git rev-parse HEAD, .FullCommit); the Dockerfile takes both as build args.
const (
	wantEnv     = "CGO_ENABLED=0"
	wantFlags   = "-trimpath"
	wantLdflags = "-s -w -X main.version=VERSION -X main.commit=COMMIT"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), name))
	if err != nil {
		t.Fatal(err)
	}
	// One logical line per continued shell line.
	return strings.ReplaceAll(string(b), "\\\n", " ")
}

// TestBuildFlagsAgree keeps the three builds of the binary on the same flags.
func TestBuildFlagsAgree(t *testing.T) {
	t.Run("Makefile", func(t *testing.T) {
		mk := readFile(t, "Makefile")
		m := regexp.MustCompile(`(?m)^LDFLAGS\s*:?=\s*(.*?)\s*$`).FindStringSubmatch(mk)
		if m == nil {
			t.Fatal("no LDFLAGS := line")
		}
		if got := strings.NewReplacer("$(VERSION)", "VERSION", "$(COMMIT)", "COMMIT").Replace(m[1]); got != wantLdflags {
			t.Errorf("LDFLAGS = %q, want %q", got, wantLdflags)
		}
		for name, want := range map[string]string{
			"VERSION": "git describe --tags --always --dirty",
			"COMMIT":  "git rev-parse HEAD",
		} {
			if !regexp.MustCompile(`(?m)^` + name + `\s*\?=.*` + regexp.QuoteMeta(want)).MatchString(mk) {
				t.Errorf("%s is not %q", name, want)
			}
		}
		builds := regexp.MustCompile(`(?m)^.*\bgo build\b.*$`).FindAllString(mk, -1)
		if len(builds) < 2 {
			t.Fatalf("found %d go build lines, want release's and build's", len(builds))
		}
		for _, b := range builds {
			if !strings.Contains(b, wantEnv) || !strings.Contains(b, wantFlags+` -ldflags "$(LDFLAGS)"`) {
				t.Errorf("want %s and %s -ldflags \"$(LDFLAGS)\" in: %s", wantEnv, wantFlags, strings.Join(strings.Fields(b), " "))
			}
		}
	})

	t.Run("Dockerfile", func(t *testing.T) {
		df := readFile(t, "Dockerfile")
		builds := regexp.MustCompile(`(?m)^RUN .*\bgo build\b.*$`).FindAllString(df, -1)
		if len(builds) != 1 {
			t.Fatalf("found %d RUN ... go build lines, want 1", len(builds))
		}
		b := builds[0]
		if !strings.Contains(b, wantEnv) || !strings.Contains(b, wantFlags) {
			t.Errorf("want %s and %s in: %s", wantEnv, wantFlags, b)
		}
		m := regexp.MustCompile(`-ldflags "([^"]*)"`).FindStringSubmatch(b)
		if m == nil {
			t.Fatalf("no -ldflags \"...\" in: %s", b)
		}
		if got := strings.NewReplacer("$VERSION", "VERSION", "$COMMIT", "COMMIT").Replace(m[1]); got != wantLdflags {
			t.Errorf("-ldflags %q, want %q", got, wantLdflags)
		}
	})

	t.Run(".goreleaser.yaml", func(t *testing.T) {
		cfg := readFile(t, ".goreleaser.yaml")
		// The builds: block, up to the next top-level key; it holds one build.
		_, builds, ok := strings.Cut(cfg, "\nbuilds:")
		if !ok {
			t.Fatal("no builds:")
		}
		if loc := regexp.MustCompile(`(?m)^[a-z]`).FindStringIndex(builds); loc != nil {
			builds = builds[:loc[0]]
		}
		if n := strings.Count(builds, "\n  - "); n != 1 {
			t.Fatalf("builds: has %d entries, want 1", n)
		}
		for key, want := range map[string]string{
			"env":     wantEnv,
			"flags":   wantFlags,
			"ldflags": wantLdflags,
		} {
			// key:, then exactly one list item.
			m := regexp.MustCompile(`(?m)^    ` + key + `:\n      - (.*)\n(.*)$`).FindStringSubmatch(builds)
			if m == nil {
				t.Errorf("builds: no %s: with a list under it", key)
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(m[2]), "- ") {
				t.Errorf("builds: %s: has more than one item", key)
			}
			got := strings.NewReplacer("{{ .Summary }}", "VERSION", "{{ .FullCommit }}", "COMMIT").Replace(m[1])
			if got != want {
				t.Errorf("builds: %s: %q, want %q", key, got, want)
			}
		}
	})
}
