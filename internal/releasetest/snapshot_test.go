package releasetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// targets are the release's binaries: static Linux ones for images and servers, macOS ones
// for laptops. Building all of them here is what catches code that builds on Linux only.
var targets = []struct{ goos, goarch string }{
	{"linux", "amd64"},
	{"linux", "arm64"},
	{"darwin", "amd64"},
	{"darwin", "arm64"},
}

// published lists, by name, every file a tag attaches to its GitHub release (before signing
// adds SHA256SUMS.sigstore.json); version is GoReleaser's, the tag without its "v".
// docs/install.md and README's "Install" section use these names.
func published(version string) []string {
	names := []string{"SHA256SUMS"}
	for _, tg := range targets {
		bin := "secretexec-" + tg.goos + "-" + tg.goarch
		archive := "secretexec-v" + version + "-" + tg.goos + "-" + tg.goarch + ".tar.gz"
		names = append(names, bin, bin+".spdx.json", archive, archive+".spdx.json")
	}
	slices.Sort(names)
	return names
}

// artifact is one entry of GoReleaser's dist/artifacts.json.
type artifact struct {
	Name   string         `json:"name"`
	Path   string         `json:"path"`
	Goos   string         `json:"goos"`
	Goarch string         `json:"goarch"`
	Type   string         `json:"type"`
	Extra  map[string]any `json:"extra"`
}

// snapshot is one snapshot release, built once for all of TestSnapshot's checks.
type snapshot struct {
	dir       string // the repository
	dist      string
	version   string // GoReleaser's .Version
	summary   string // git describe --tags --always --dirty: what --version must say
	commit    string
	artifacts []artifact
	env       []string
}

// TestSnapshot builds what a tag would publish, with the pinned GoReleaser and the release's
// own configuration, skipping only what needs GitHub, a registry or an OIDC identity (the
// upload, the image push, the signatures), and checks every file.
func TestSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every release target; skipped with -short")
	}
	goreleaser := tool(t, "goreleaser")
	tool(t, "syft") // GoReleaser runs it from PATH for the SBOMs
	s := &snapshot{dir: root(t), env: toolEnv(t, filepath.Dir(goreleaser))}
	dependOnSources(t, s.dir)
	start := time.Now()

	run(t, s.dir, s.env, time.Minute, goreleaser, "check")

	// GoReleaser writes where its configuration's dist: says; the copy it is given writes to
	// a temporary directory, leaving the work tree (and make release's dist/) alone.
	cfg, err := os.ReadFile(filepath.Join(s.dir, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^dist:`).Match(cfg) {
		t.Fatal(".goreleaser.yaml sets dist:; this test sets it to a temporary directory")
	}
	tmp := t.TempDir()
	s.dist = filepath.Join(tmp, "dist")
	cfgCopy := filepath.Join(tmp, "goreleaser.yaml")
	if err := os.WriteFile(cfgCopy, fmt.Appendf(cfg, "\ndist: %q\n", s.dist), 0o644); err != nil {
		t.Fatal(err)
	}
	// GoReleaser reads the repository's URL from its remote and, without one, even a snapshot
	// loses the commit and the version (both "none"). A clone has one; a work tree made
	// otherwise may not: then the project's URL is given in the environment, not written.
	ls := exec.Command("git", "ls-remote", "--get-url")
	ls.Dir, ls.Env = s.dir, s.env
	if err := ls.Run(); err != nil {
		s.env = append(s.env, "GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=remote.origin.url", "GIT_CONFIG_VALUE_0=https://github.com/secretexec/secretexec.git")
	}
	s.summary = strings.TrimSpace(run(t, s.dir, s.env, time.Minute, "git", "describe", "--tags", "--always", "--dirty"))
	s.commit = strings.TrimSpace(run(t, s.dir, s.env, time.Minute, "git", "rev-parse", "HEAD"))
	run(t, s.dir, s.env, 8*time.Minute, goreleaser, "release", "--snapshot", "--clean", "--skip=docker,sign", "--config", cfgCopy)
	t.Logf("check and snapshot release: %v", time.Since(start).Round(100*time.Millisecond))

	var meta struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	s.readJSON(t, "metadata.json", &meta)
	s.readJSON(t, "artifacts.json", &s.artifacts)
	s.version = meta.Version
	if meta.Commit != s.commit {
		t.Fatalf("GoReleaser built commit %s, HEAD is %s", meta.Commit, s.commit)
	}

	t.Run("names", s.testNames)
	t.Run("checksums", s.testChecksums)
	t.Run("binaries", s.testBinaries)
	t.Run("archives", s.testArchives)
	t.Run("sboms", s.testSBOMs)
	t.Run("readme", s.testReadme)
	t.Run("image", s.testImage)
}

// dependOnSources looks at every Go file and module file of the repository, so that go test
// counts them among this test's inputs: what it checks is built by GoReleaser in another
// process, and without this a change to the code (say, one that no longer builds for darwin)
// would leave go test reporting this test's cached result.
func dependOnSources(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if name := d.Name(); strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *snapshot) readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dist, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// uploads are the artifacts a release publishes, by name; builds the binaries as built.
func (s *snapshot) uploads() map[string]artifact {
	m := map[string]artifact{}
	for _, a := range s.artifacts {
		switch {
		case a.Type == "Binary" && a.Name == "secretexec": // the build's output, before naming
		case a.Type == "Binary", a.Type == "Archive", a.Type == "SBOM", a.Type == "Checksum":
			m[a.Name] = a
		}
	}
	return m
}

func (s *snapshot) build(t *testing.T, goos, goarch string) artifact {
	t.Helper()
	for _, a := range s.artifacts {
		if a.Type == "Binary" && a.Name == "secretexec" && a.Goos == goos && a.Goarch == goarch {
			return a
		}
	}
	t.Fatalf("no %s/%s binary in artifacts.json", goos, goarch)
	return artifact{}
}

func (s *snapshot) testNames(t *testing.T) {
	var got []string
	for name := range s.uploads() {
		got = append(got, name)
	}
	slices.Sort(got)
	if want := published(s.version); !slices.Equal(got, want) {
		t.Errorf("published files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// testChecksums: SHA256SUMS lists every other published file, with the right digest, in
// the form sha256sum -c reads.
func (s *snapshot) testChecksums(t *testing.T) {
	up := s.uploads()
	b, err := os.ReadFile(filepath.Join(s.dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)
	listed := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("SHA256SUMS: not a sha256sum line: %q", l)
			continue
		}
		a, ok := up[m[2]]
		if !ok {
			t.Errorf("SHA256SUMS lists %s, which is not published", m[2])
			continue
		}
		listed[m[2]] = true
		if got := sha256File(t, a.Path); got != m[1] {
			t.Errorf("SHA256SUMS: %s is %s, the file's digest is %s", m[2], m[1], got)
		}
	}
	for name := range up {
		if name != "SHA256SUMS" && !listed[name] {
			t.Errorf("SHA256SUMS does not list %s", name)
		}
	}
}

// testBinaries: every target was built with the release's flags (those Go records in the
// binary, and the effects of the others), is stamped with the version and commit, depends on
// nothing but the AWS SDK and golang.org/x, and is static; the linux binary this machine can
// run prints them with --version.
func (s *snapshot) testBinaries(t *testing.T) {
	up := s.uploads()
	for _, tg := range targets {
		a := s.build(t, tg.goos, tg.goarch)
		name := "secretexec-" + tg.goos + "-" + tg.goarch
		if u, ok := up[name]; !ok || sha256File(t, u.Path) != sha256File(t, a.Path) {
			t.Errorf("%s is not the %s/%s build's binary", name, tg.goos, tg.goarch)
		}
		bin, err := os.ReadFile(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		bi, err := buildinfo.Read(bytes.NewReader(bin))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		settings := map[string]string{}
		for _, st := range bi.Settings {
			settings[st.Key] = st.Value
		}
		// With -trimpath Go does not record -ldflags; their effects are checked below.
		for k, want := range map[string]string{
			"CGO_ENABLED": "0",
			"-trimpath":   "true",
			"GOOS":        tg.goos,
			"GOARCH":      tg.goarch,
		} {
			if settings[k] != want {
				t.Errorf("%s was built with %s=%q, want %q", name, k, settings[k], want)
			}
		}
		// -X main.version=... -X main.commit=...: the strings are in the binary's data. Go's
		// VCS stamp may hold the commit too, in the build info, so they must be there more
		// often than the build info accounts for.
		for what, v := range map[string]string{"version": s.summary, "commit": s.commit} {
			if bytes.Count(bin, []byte(v)) <= strings.Count(bi.String(), v) {
				t.Errorf("%s: the %s %q is not stamped in", name, what, v)
			}
		}
		for _, d := range bi.Deps {
			if !strings.HasPrefix(d.Path, "github.com/aws/") && !strings.HasPrefix(d.Path, "golang.org/x/") {
				t.Errorf("%s holds %s %s: the binary depends on the AWS SDK and golang.org/x only", name, d.Path, d.Version)
			}
		}
		switch tg.goos {
		case "linux":
			checkELF(t, name, a.Path, map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[tg.goarch])
		case "darwin":
			checkMachO(t, name, a.Path, map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[tg.goarch])
		}
	}

	if runtime.GOOS != "linux" {
		t.Skipf("cannot run the linux binaries on %s", runtime.GOOS)
	}
	a := s.build(t, "linux", runtime.GOARCH)
	bi, err := buildinfo.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	// An empty environment: the stamp alone decides what it prints.
	got := run(t, t.TempDir(), []string{}, 30*time.Second, a.Path, "--version")
	if want := s.versionLine(bi.GoVersion); got != want {
		t.Errorf("secretexec-linux-%s --version = %q, want %q", runtime.GOARCH, got, want)
	}
}

func (s *snapshot) versionLine(goVersion string) string {
	return fmt.Sprintf("secretexec %s (commit %s, %s)\n", s.summary, s.commit[:12], goVersion)
}

// checkELF: an executable with no interpreter and no shared libraries runs in a FROM
// scratch image and on any Linux of its architecture; no symbol table (-s), no DWARF (-w).
func checkELF(t *testing.T, name, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s is for %v, want %v", name, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (%v)", name, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs %v", name, libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table: not built with -s", name)
	}
	if _, err := f.DWARF(); err == nil {
		t.Errorf("%s has DWARF: not built with -w", name)
	}
}

// checkMachO: the architecture, no Go symbols (-s), no DWARF (-w), and on arm64 the code
// signature the linker adds, without which macOS on Apple silicon kills the process.
func checkMachO(t *testing.T, name, path string, cpu macho.Cpu) {
	t.Helper()
	f, err := macho.Open(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	defer f.Close()
	if f.Cpu != cpu {
		t.Errorf("%s is for %v, want %v", name, f.Cpu, cpu)
	}
	if f.Symtab != nil {
		for _, sym := range f.Symtab.Syms {
			if sym.Name == "_main.main" || sym.Name == "main.main" {
				t.Errorf("%s has Go symbols: not built with -s", name)
				break
			}
		}
	}
	if _, err := f.DWARF(); err == nil {
		t.Errorf("%s has DWARF: not built with -w", name)
	}
	const lcCodeSignature = 0x1d
	signed := false
	for _, l := range f.Loads {
		if raw := l.Raw(); len(raw) >= 4 && f.ByteOrder.Uint32(raw) == lcCodeSignature {
			signed = true
		}
	}
	if cpu == macho.CpuArm64 && !signed {
		t.Errorf("%s has no code signature", name)
	}
}

// archived are the files each archive holds beside the binary: the front page, the licence
// and the documentation pages, as in the repository.
func (s *snapshot) archived(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(s.dir, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no docs/*.md in the repository")
	}
	names := []string{"README.md", "LICENSE"}
	for _, p := range pages {
		names = append(names, "docs/"+filepath.Base(p))
	}
	return names
}

// testArchives: each archive holds the binary, executable, and README.md, LICENSE and
// docs/*.md as they are in the repository, nothing else.
func (s *snapshot) testArchives(t *testing.T) {
	up := s.uploads()
	want := append(s.archived(t), "secretexec")
	slices.Sort(want)
	for _, tg := range targets {
		name := "secretexec-v" + s.version + "-" + tg.goos + "-" + tg.goarch + ".tar.gz"
		a, ok := up[name]
		if !ok {
			continue // testNames reports it
		}
		f, err := os.Open(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tr := tar.NewReader(zr)
		var names []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			names = append(names, h.Name)
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if h.Name == "secretexec" {
				sum := sha256.Sum256(b)
				if hex.EncodeToString(sum[:]) != sha256File(t, s.build(t, tg.goos, tg.goarch).Path) {
					t.Errorf("%s: secretexec is not the %s/%s build", name, tg.goos, tg.goarch)
				}
				if h.Mode&0o111 == 0 {
					t.Errorf("%s: secretexec is not executable (mode %o)", name, h.Mode)
				}
				continue
			}
			if src, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(h.Name))); err == nil && !bytes.Equal(b, src) {
				t.Errorf("%s: %s is not the repository's %s", name, h.Name, h.Name)
			}
		}
		f.Close()
		slices.Sort(names)
		if !slices.Equal(names, want) {
			t.Errorf("%s holds %v, want %v", name, names, want)
		}
	}
}

// testSBOMs: one SPDX document per published binary and archive, listing the modules the
// binary was built from, at the versions go.mod requires.
func (s *snapshot) testSBOMs(t *testing.T) {
	goMod, err := os.ReadFile(filepath.Join(s.dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github.com/aws/aws-sdk-go-v2 (v\S+)`).FindSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/aws/aws-sdk-go-v2")
	}
	sdk := string(m[1])
	for name, a := range s.uploads() {
		if a.Type != "SBOM" {
			continue
		}
		var doc struct {
			SPDXVersion string `json:"spdxVersion"`
			Packages    []struct {
				Name             string `json:"name"`
				VersionInfo      string `json:"versionInfo"`
				LicenseConcluded string `json:"licenseConcluded"`
			} `json:"packages"`
		}
		b, err := os.ReadFile(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
			t.Errorf("%s: spdxVersion %q", name, doc.SPDXVersion)
		}
		found := false
		for _, p := range doc.Packages {
			if p.Name == "github.com/aws/aws-sdk-go-v2" {
				found = true
				if p.VersionInfo != sdk {
					t.Errorf("%s: github.com/aws/aws-sdk-go-v2 %s, go.mod requires %s", name, p.VersionInfo, sdk)
				}
				if !strings.Contains(p.LicenseConcluded, "Apache-2.0") {
					t.Errorf("%s: github.com/aws/aws-sdk-go-v2's licence is %q, want Apache-2.0 (read from the module cache)", name, p.LicenseConcluded)
				}
			}
		}
		if !found {
			t.Errorf("%s does not list github.com/aws/aws-sdk-go-v2", name)
		}
	}
}

// testReadme: every release file that docs/install.md or README's "Install" section names or
// downloads is one a tag publishes (v1.2.3 there stands for any tag); the signature bundle,
// which signing adds, is checked by TestReadmeInstall.
func (s *snapshot) testReadme(t *testing.T) {
	up := s.uploads()
	named := regexp.MustCompile("`((?:secretexec-|SHA256SUMS)[A-Za-z0-9._-]*)`")
	downloaded := regexp.MustCompile(`releases/(?:download/\$V|latest/download)/(\S+)`)
	check := func(doc string, names [][]string) {
		for _, m := range names {
			name := strings.ReplaceAll(m[1], "v1.2.3", "v"+s.version)
			if _, ok := up[name]; !ok && name != "SHA256SUMS.sigstore.json" {
				t.Errorf("%s names %s, which a release does not publish", doc, m[1])
			}
		}
	}

	install := installPage(t)
	n, d := named.FindAllStringSubmatch(install, -1), downloaded.FindAllStringSubmatch(install, -1)
	if len(n) == 0 || len(d) == 0 {
		t.Fatal("docs/install.md names no release files, or downloads none from releases/download/$V/")
	}
	check("docs/install.md", append(n, d...))

	readme := readmeInstall(t)
	d = downloaded.FindAllStringSubmatch(readme, -1)
	if len(d) == 0 {
		t.Fatal("README's Install section downloads nothing from releases/latest/download/")
	}
	check("README's Install", append(named.FindAllStringSubmatch(readme, -1), d...))
}

// testImage builds the release image's Containerfile as GoReleaser lays out its context
// (linux/amd64/secretexec), from the snapshot's binary, and runs it.
func (s *snapshot) testImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not installed: apt-get install podman runc")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed: apt-get install podman runc")
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no release image for %s", runtime.GOARCH)
	}
	a := s.build(t, "linux", runtime.GOARCH)
	ctx := t.TempDir()
	bin := filepath.Join(ctx, "linux", runtime.GOARCH, "secretexec")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{a.Path: bin, filepath.Join(s.dir, "Dockerfile.release"): filepath.Join(ctx, "Dockerfile")} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The flags these machines need (see internal/containertest); a normal host needs none.
	p := []string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v := os.Getenv("XDG_RUNTIME_DIR"); v != "" {
		env = append(env, "XDG_RUNTIME_DIR="+v) // rootless podman keeps its state there
	}
	image := fmt.Sprintf("localhost/secretexec-release-test:%d", os.Getpid())
	run(t, ctx, env, 2*time.Minute, podman, append(p, "build", "-q", "--platform", "linux/"+runtime.GOARCH, "-t", image, "-f", filepath.Join(ctx, "Dockerfile"), ctx)...)
	t.Cleanup(func() { exec.Command(podman, append(p, "rmi", "-f", image)...).Run() })

	got := run(t, ctx, env, time.Minute, podman, append(p, "run", "--rm", "--network", "none",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, "--version")...)
	bi, err := buildinfo.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.versionLine(bi.GoVersion); got != want {
		t.Errorf("the image's secretexec --version = %q, want %q", got, want)
	}
	// One layer, holding /secretexec and nothing else; the licence labelled.
	out := run(t, ctx, env, time.Minute, podman, append(p, "image", "inspect", "--format",
		`{{len .RootFS.Layers}} {{json .Config.Entrypoint}} {{index .Config.Labels "org.opencontainers.image.licenses"}}`, image)...)
	if want := "1 [\"/secretexec\"] Apache-2.0\n"; out != want {
		t.Errorf("image: layers, entrypoint and licence label %q, want %q", out, want)
	}
}
