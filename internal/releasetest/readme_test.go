package releasetest

import (
	"regexp"
	"strings"
	"testing"
)

// installPage is docs/install.md, where README's "Install" section sends its readers to
// check a release before installing it.
func installPage(t *testing.T) string {
	t.Helper()
	return readFile(t, "docs/install.md")
}

// readmeInstall is README's "Install" section: a short install, and a link to docs/install.md.
func readmeInstall(t *testing.T) string {
	t.Helper()
	_, install, ok := strings.Cut(readFile(t, "README.md"), "\n## Install\n")
	if !ok {
		t.Fatal(`README.md has no "## Install" section`)
	}
	install, _, _ = strings.Cut(install, "\n## ")
	return install
}

// TestReadmeInstall keeps the install instructions true to the release: README's Install
// section links to docs/install.md, and there cosign is told to expect the identity of the
// workflow that signs, at the tag; the bundle is the file signing writes; the image is the one
// the release pushes; go install names this module. (TestSnapshot checks the names of the
// files both download against a snapshot release.)
func TestReadmeInstall(t *testing.T) {
	if !strings.Contains(readmeInstall(t), "](docs/install.md)") {
		t.Error("README's Install section does not link to docs/install.md")
	}
	install := installPage(t)
	cfg := readFile(t, ".goreleaser.yaml")
	release := readFile(t, ".github/workflows/release.yml")
	goMod := readFile(t, "go.mod")

	// release.yml runs GoReleaser, and with it cosign, on v* tags with an OIDC token.
	for _, want := range []string{`tags: ["v*"]`, "goreleaser release", "id-token: write"} {
		if !strings.Contains(release, want) {
			t.Errorf("release.yml has no %q: it is not the workflow that signs", want)
		}
	}
	identity := `--certificate-identity "https://github.com/secretexec/secretexec/.github/workflows/release.yml@refs/tags/$V"`
	issuer := "--certificate-oidc-issuer https://token.actions.githubusercontent.com"
	signer := "--signer-workflow secretexec/secretexec/.github/workflows/release.yml"
	for want, n := range map[string]int{identity: 2, issuer: 2, signer: 2} {
		if got := strings.Count(install, want); got != n {
			t.Errorf("docs/install.md has %q %d times, want %d (blob and image)", want, got, n)
		}
	}

	// signs: names the bundle after the checksum file.
	if !strings.Contains(cfg, "name_template: SHA256SUMS\n") || !strings.Contains(cfg, `signature: "${artifact}.sigstore.json"`) {
		t.Error(".goreleaser.yaml no longer writes SHA256SUMS and SHA256SUMS.sigstore.json: update docs/install.md")
	}
	for _, want := range []string{
		"cosign verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json",
		"sha256sum -c --ignore-missing SHA256SUMS",
	} {
		if !strings.Contains(install, want) {
			t.Errorf("docs/install.md has no %q", want)
		}
	}

	image := regexp.MustCompile(`(?m)^    images: \[(\S+)\]$`).FindStringSubmatch(cfg)
	if image == nil {
		t.Fatal(".goreleaser.yaml: no images: [...] under dockers_v2")
	}
	for _, want := range []string{
		"cosign verify " + image[1] + "@$D",
		"COPY --from=" + image[1] + ":v1.2.3@sha256:",
	} {
		if !strings.Contains(install, want) {
			t.Errorf("docs/install.md has no %q", want)
		}
	}

	module := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(goMod)
	if module == nil || !strings.Contains(install, "go install "+module[1]+"@latest") {
		t.Errorf("docs/install.md has no go install of this module")
	}
}

// TestLicence: LICENSE is the Apache License 2.0, and what carries a licence says so: the
// release image's labels and annotations, both Dockerfiles' label, and README.
func TestLicence(t *testing.T) {
	const spdx = "Apache-2.0"
	licence := readFile(t, "LICENSE")
	for _, want := range []string{"Apache License", "Version 2.0, January 2004", "http://www.apache.org/licenses/", "END OF TERMS AND CONDITIONS"} {
		if !strings.Contains(licence, want) {
			t.Errorf("LICENSE has no %q: not the Apache License 2.0", want)
		}
	}
	cfg := readFile(t, ".goreleaser.yaml")
	labels := regexp.MustCompile(`(?m)^\s+org\.opencontainers\.image\.licenses: (\S+)$`).FindAllStringSubmatch(cfg, -1)
	if len(labels) != 2 {
		t.Errorf(".goreleaser.yaml sets org.opencontainers.image.licenses %d times, want 2 (label and annotation)", len(labels))
	}
	for _, m := range labels {
		if m[1] != spdx {
			t.Errorf(".goreleaser.yaml: org.opencontainers.image.licenses: %s, want %s", m[1], spdx)
		}
	}
	for _, name := range []string{"Dockerfile", "Dockerfile.release"} {
		if !regexp.MustCompile(`(?m)^LABEL org\.opencontainers\.image\.licenses=` + spdx + `$`).MatchString(readFile(t, name)) {
			t.Errorf("%s has no LABEL org.opencontainers.image.licenses=%s", name, spdx)
		}
	}
	if readme := readFile(t, "README.md"); !strings.Contains(readme, spdx) || !strings.Contains(readme, "](LICENSE)") {
		t.Errorf("README.md does not state the licence (%s) and link to LICENSE", spdx)
	}
}
