package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSystemRootsExist(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A FROM-scratch image: no file, or only empty ones. The bundled roots are needed.
	t.Setenv("SSL_CERT_FILE", empty)
	t.Setenv("SSL_CERT_DIR", emptyDir+":"+filepath.Join(dir, "missing"))
	if systemRootsExist() {
		t.Error("an empty CA file and an empty directory count as a CA store")
	}
	// A store in a directory is enough.
	if err := os.WriteFile(filepath.Join(emptyDir, "ca.pem"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !systemRootsExist() {
		t.Error("a CA directory with a file is not seen")
	}
	// So is a non-empty CA file.
	t.Setenv("SSL_CERT_DIR", filepath.Join(dir, "missing"))
	t.Setenv("SSL_CERT_FILE", filepath.Join(emptyDir, "ca.pem"))
	if !systemRootsExist() {
		t.Error("a non-empty CA file is not seen")
	}
}
