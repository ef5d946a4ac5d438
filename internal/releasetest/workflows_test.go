package releasetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	// usesKeyRE finds every uses: key; usesRE reads the ones written the one way ours are.
	usesKeyRE = regexp.MustCompile(`^\s*(?:-\s+)?["']?uses["']?\s*:`)
	usesRE    = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(["']?)([^"'\s#]+)(["']?)\s*(?:#\s*(.*?))?\s*$`)

	// pinnedRE is an action or reusable workflow of another repository at a full commit.
	pinnedRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$`)
	imageRE  = regexp.MustCompile(`^docker://[^@\s]+@sha256:[0-9a-f]{64}$`)
	tagRE    = regexp.MustCompile(`^v\d+(?:\.\d+)*$`)
)

// checkUses says why the value of a uses: key, with its line comment, is not pinned, or "".
// A tag or a branch can be moved to other code by whoever controls that repository; a commit
// digest cannot. The comment keeps the tag the digest was read from, for people and updaters.
func checkUses(ref, comment string) string {
	switch {
	case strings.HasPrefix(ref, "./"):
		return "" // this repository's own, at the same commit
	case strings.HasPrefix(ref, "docker://"):
		if imageRE.MatchString(ref) {
			return ""
		}
		return "a docker:// image must be pinned by its @sha256: digest"
	case !pinnedRE.MatchString(ref):
		return "not pinned to a full 40-hex commit digest (a tag or branch can be moved)"
	case !tagRE.MatchString(comment):
		return "the digest needs the tag it was read from as a comment, e.g. # v4.2.2"
	}
	return ""
}

func TestCheckUses(t *testing.T) {
	const digest = "3d3c42e5aac5ba805825da76410c181273ba90b1"
	for _, c := range []struct {
		ref, comment string
		ok           bool
	}{
		{"actions/checkout@" + digest, "v7.0.1", true},
		{"actions/checkout@" + digest, "", false},
		{"actions/checkout@" + digest, "latest", false},
		{"actions/checkout@v7.0.1", "", false},
		{"actions/checkout@v7", "v7", false},
		{"actions/checkout@main", "", false},
		{"actions/checkout@3d3c42e", "v7.0.1", false},
		{"actions/checkout@" + strings.ToUpper(digest), "v7.0.1", false},
		{"actions/checkout@" + digest + "0", "v7.0.1", false},
		{"actions/checkout", "", false},
		{"github/codeql-action/init@" + digest, "v4.1.0", true},
		{"octo/repo/.github/workflows/build.yml@" + digest, "v1.0.0", true},
		{"octo/repo/.github/workflows/build.yml@main", "", false},
		{"./.github/workflows/ci.yml", "", true},
		{"docker://alpine:3.22", "", false},
		{"docker://alpine@sha256:" + strings.Repeat("ab", 32), "", true},
	} {
		if why := checkUses(c.ref, c.comment); (why == "") != c.ok {
			t.Errorf("uses: %s # %s: pinned=%v (%s), want %v", c.ref, c.comment, why == "", why, c.ok)
		}
	}
}

func workflows(t *testing.T) map[string]string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root(t), ".github/workflows", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 2 {
		t.Fatalf("found %d workflows in .github/workflows, want ci.yml and release.yml", len(files))
	}
	texts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[filepath.Base(f)] = string(b)
	}
	return texts
}

// TestWorkflowsPinned: every action and reusable workflow from another repository runs at a
// commit chosen here, and one action is at one commit throughout.
func TestWorkflowsPinned(t *testing.T) {
	type pin struct{ ref, where string }
	seen := map[string]pin{} // owner/repo -> first pin
	n := 0
	for name, text := range workflows(t) {
		for i, line := range strings.Split(text, "\n") {
			if !usesKeyRE.MatchString(line) {
				continue
			}
			where := fmt.Sprintf("%s:%d", name, i+1)
			m := usesRE.FindStringSubmatch(line)
			if m == nil || m[1] != m[3] {
				t.Errorf("%s: cannot read this uses: line; write it as `uses: owner/repo@<digest> # vX.Y.Z`: %s", where, line)
				continue
			}
			n++
			ref, comment := m[2], m[4]
			if why := checkUses(ref, comment); why != "" {
				t.Errorf("%s: uses: %s: %s", where, ref, why)
				continue
			}
			if strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "docker://") {
				continue
			}
			path, digest, _ := strings.Cut(ref, "@")
			repo := strings.Join(strings.SplitN(path, "/", 3)[:2], "/")
			full := digest + " # " + comment
			if p, ok := seen[repo]; ok && p.ref != full {
				t.Errorf("%s: %s is at %s, but at %s in %s: use one", where, repo, full, p.ref, p.where)
			} else if !ok {
				seen[repo] = pin{full, where}
			}
		}
	}
	if n == 0 {
		t.Fatal("no uses: found in the workflows")
	}
}

// TestWorkflowsPermissions: a workflow grants nothing by default; each job asks for what it needs.
func TestWorkflowsPermissions(t *testing.T) {
	jobRE := regexp.MustCompile(`^  ([A-Za-z0-9_-]+):\s*$`)
	for name, text := range workflows(t) {
		if !regexp.MustCompile(`(?m)^permissions: \{\}\s*$`).MatchString(text) {
			t.Errorf("%s: want `permissions: {}` at the top, so a job has only what it asks for", name)
		}
		_, jobs, ok := strings.Cut(text, "\njobs:\n")
		if !ok {
			t.Errorf("%s: no jobs:", name)
			continue
		}
		job, perms := "", false
		check := func() {
			if job != "" && !perms {
				t.Errorf("%s: job %s has no permissions: of its own", name, job)
			}
		}
		for _, line := range strings.Split(jobs, "\n") {
			if m := jobRE.FindStringSubmatch(line); m != nil {
				check()
				job, perms = m[1], false
			} else if strings.HasPrefix(line, "    permissions:") {
				perms = true
			} else if line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
				break // the next top-level key
			}
		}
		check()
	}
}

// TestActionlint lints the workflows with the pinned actionlint: expressions, contexts,
// permissions' names, the inputs of known actions, and the run: scripts with shellcheck
// when it is installed (.ci/run installs it).
func TestActionlint(t *testing.T) {
	actionlint := tool(t, "actionlint")
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Log("shellcheck not installed: run: scripts are not checked (apt-get install shellcheck)")
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	run(t, root(t), env, time.Minute, actionlint, "-no-color", "-shellcheck="+shellcheck, "-pyflakes=")
}
