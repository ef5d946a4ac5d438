package atomicfile

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// forEachTempKind runs test once per kind of temp file WriteFunc can use: unnamed
// (O_TMPFILE), and named, as where /proc is missing.
func forEachTempKind(t *testing.T, test func(t *testing.T)) {
	t.Run("unnamed", func(t *testing.T) {
		requireTmpfile(t)
		test(t)
	})
	t.Run("named", func(t *testing.T) {
		withoutProc(t)
		test(t)
	})
}

// requireTmpfile skips a test of unnamed temp files where the test folder's file system
// has none (WriteFunc names them there, which other tests cover).
func requireTmpfile(t *testing.T) {
	t.Helper()
	f, err := openUnnamed(t.TempDir())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no unnamed temp files in %s: %v", os.TempDir(), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// withoutProc makes WriteFunc find no /proc, as in a chroot without it.
func withoutProc(t *testing.T) {
	t.Helper()
	prev := procSelfFD
	procSelfFD = filepath.Join(t.TempDir(), "no-proc") + "/"
	t.Cleanup(func() { procSelfFD = prev })
}

// withTmpfileError makes opening an unnamed file fail with errno, as on a file system or
// kernel without O_TMPFILE.
func withTmpfileError(t *testing.T, errno syscall.Errno) {
	t.Helper()
	prev := openTmpfile
	openTmpfile = func(dir string) (*os.File, error) {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: errno}
	}
	t.Cleanup(func() { openTmpfile = prev })
}

// tempsWhileFilling writes path and returns what its folder held, besides path, while
// fill was writing.
func tempsWhileFilling(t *testing.T, dir, path string) []string {
	t.Helper()
	var temps []string
	err := WriteFunc(context.Background(), path, func(w io.Writer) error {
		for _, name := range listing(t, dir) {
			if name != filepath.Base(path) {
				temps = append(temps, name)
			}
		}
		_, err := io.WriteString(w, "NEW=1\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "NEW=1\n", 0o600)
	assertOnly(t, dir, filepath.Base(path))
	return temps
}

// Where it can, WriteFunc writes into a file that has no name until the data is synced.
func TestUnnamedWhileFilling(t *testing.T) {
	requireTmpfile(t)
	dir, path := setup(t)
	if temps := tempsWhileFilling(t, dir, path); len(temps) > 0 {
		t.Errorf("while filling, the folder holds %q, want no temp file", temps)
	}
}

// Where there is no O_TMPFILE or no /proc, WriteFunc names the temp file from the start,
// and that name is one the shipped .gitignore files ignore.
func TestNamedFallback(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"no /proc", withoutProc},
		{"file system without O_TMPFILE (EOPNOTSUPP)", func(t *testing.T) { withTmpfileError(t, syscall.EOPNOTSUPP) }},
		{"kernel without O_TMPFILE (EISDIR)", func(t *testing.T) { withTmpfileError(t, syscall.EISDIR) }},
		{"O_TMPFILE refused (EINVAL)", func(t *testing.T) { withTmpfileError(t, syscall.EINVAL) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup(t)
			dir, path := setup(t)
			temps := tempsWhileFilling(t, dir, path)
			if len(temps) != 1 || !strings.HasPrefix(temps[0], ".env.runtime.tmp-") {
				t.Fatalf("while filling, the folder holds %q, want one .env.runtime.tmp-NNN", temps)
			}
			assertIgnored(t, temps[0])
		})
	}
}

// Any other failure to open an unnamed file is reported, not papered over.
func TestUnnamedOpenError(t *testing.T) {
	withTmpfileError(t, syscall.EACCES)
	dir, path := setup(t)
	err := write(context.Background(), path, []byte("NEW=1\n"))
	if !errors.Is(err, fs.ErrPermission) || !strings.HasPrefix(err.Error(), "write ") {
		t.Errorf("error %v, want write %q: ... permission denied", err, path)
	}
	assertFile(t, path, old, 0o644)
	assertOnly(t, dir, ".env.runtime")
}

// A failure to name the unnamed file (here /proc goes away during the write) leaves the
// old file and nothing else.
func TestLinkFailure(t *testing.T) {
	requireTmpfile(t)
	dir, path := setup(t)
	err := WriteFunc(context.Background(), path, func(w io.Writer) error {
		withoutProc(t)
		_, err := io.WriteString(w, "NEW=1\n")
		return err
	})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "name temp file") {
		t.Errorf("error %v, want write %q: name temp file: ... no such file or directory", err, path)
	}
	assertFile(t, path, old, 0o644)
	assertOnly(t, dir, ".env.runtime")
}
