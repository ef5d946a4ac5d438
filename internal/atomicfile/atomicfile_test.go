package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Tests here change the process umask; none of them runs in parallel.

const old = "OLD=1\n"

// write replaces path with data.
func write(ctx context.Context, path string, data []byte) error {
	return WriteFunc(ctx, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// setup makes a folder holding path with the old content, mode 0644.
func setup(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, ".env.runtime")
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// listing is the folder's entry names, to catch a temp file left behind.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func assertOnly(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := listing(t, dir)
	sort.Strings(want)
	if strings.Join(got, "/") != strings.Join(want, "/") {
		t.Errorf("folder holds %q, want %q", got, want)
	}
}

func assertFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Errorf("%s holds %q, want %q", path, got, content)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
	}
}

func withUmask(t *testing.T, mask int) {
	t.Helper()
	prev := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(prev) })
}

func TestMode0600WhateverTheUmask(t *testing.T) { forEachTempKind(t, testMode0600WhateverTheUmask) }

func testMode0600WhateverTheUmask(t *testing.T) {
	for _, mask := range []int{0, 0o022, 0o077, 0o277, 0o777} {
		t.Run(fmt.Sprintf("umask %04o", mask), func(t *testing.T) {
			withUmask(t, mask)
			dir, path := setup(t)
			fresh := filepath.Join(dir, "fresh")
			for _, p := range []string{path, fresh} {
				// The temp file must be 0600 before the first byte is written, not
				// only once it is in place.
				err := WriteFunc(context.Background(), p, func(w io.Writer) error {
					fi, err := w.(*os.File).Stat()
					if err != nil {
						return err
					}
					if fi.Mode() != 0o600 {
						t.Errorf("temp file created with mode %v, want 0600", fi.Mode())
					}
					_, err = io.WriteString(w, "NEW=1\n")
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				assertFile(t, p, "NEW=1\n", 0o600)
			}
			assertOnly(t, dir, ".env.runtime", "fresh")
		})
	}
}

func TestWriteBytes(t *testing.T) { forEachTempKind(t, testWriteBytes) }

func testWriteBytes(t *testing.T) {
	dir, path := setup(t)
	data := bytes.Repeat([]byte("x'\"$\\\n\x00"), 100000)
	if err := write(context.Background(), path, data); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, string(data), 0o600)
	assertOnly(t, dir, ".env.runtime")

	// A relative path writes in the working folder.
	t.Chdir(dir)
	if err := write(context.Background(), "rel.env", []byte("R=1\n")); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(dir, "rel.env"), "R=1\n", 0o600)
}

func TestSymlinkRefused(t *testing.T) {
	dir, target := setup(t)
	link := filepath.Join(dir, "link.env")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.env")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, dangling} {
		err := write(context.Background(), p, []byte("NEW=1\n"))
		if !errors.Is(err, ErrSymlink) {
			t.Fatalf("write(%s) = %v, want ErrSymlink", p, err)
		}
		want := fmt.Sprintf("write %q: refusing to write through symlink", p)
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		fi, lerr := os.Lstat(p)
		if lerr != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", p)
		}
	}
	assertFile(t, target, old, 0o644)
	assertOnly(t, dir, ".env.runtime", "dangling.env", "link.env")
}

var errFill = errors.New("fill failed")

// Every failure leaves the old file as it was and no temp file behind.
func TestFailureLeavesOldFile(t *testing.T) { forEachTempKind(t, testFailureLeavesOldFile) }

func testFailureLeavesOldFile(t *testing.T) {
	tests := []struct {
		name string
		// run does the failing write in a folder holding path; it returns the error.
		run     func(t *testing.T, dir, path string) error
		wantIs  error
		wantMsg string
	}{
		{
			name: "fill error after partial write",
			run: func(t *testing.T, dir, path string) error {
				return WriteFunc(context.Background(), path, func(w io.Writer) error {
					io.WriteString(w, "PARTIAL=")
					return errFill
				})
			},
			wantIs: errFill,
		},
		{
			name: "context done before",
			run: func(t *testing.T, dir, path string) error {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return write(ctx, path, []byte("NEW=1\n"))
			},
			wantIs: context.Canceled,
		},
		{
			name: "context done while writing (SIGTERM)",
			run: func(t *testing.T, dir, path string) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				return WriteFunc(ctx, path, func(w io.Writer) error {
					io.WriteString(w, "NEW=1\n")
					cancel()
					return nil
				})
			},
			wantIs: context.Canceled,
		},
		{
			name: "failure just before rename",
			run: func(t *testing.T, dir, path string) error {
				testHookBeforeRename = func() error {
					if n := len(listing(t, dir)); n != 2 {
						t.Errorf("before rename the folder holds %d entries, want the file and a temp file", n)
					}
					return errFill
				}
				defer func() { testHookBeforeRename = nil }()
				return write(context.Background(), path, []byte("NEW=1\n"))
			},
			wantIs: errFill,
		},
		{
			name: "path is a folder",
			run: func(t *testing.T, dir, path string) error {
				sub := filepath.Join(dir, "sub")
				if err := os.Mkdir(sub, 0o700); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(sub)
				return write(context.Background(), sub, []byte("NEW=1\n"))
			},
			wantMsg: "not a regular file",
		},
		{
			name: "folder missing",
			run: func(t *testing.T, dir, path string) error {
				return write(context.Background(), filepath.Join(dir, "no", "such"), []byte("NEW=1\n"))
			},
			wantIs: fs.ErrNotExist,
		},
		{
			name: "read-only folder",
			run: func(t *testing.T, dir, path string) error {
				if os.Geteuid() == 0 {
					t.Skip("root writes into a read-only folder anyway")
				}
				os.Chmod(dir, 0o500)
				defer os.Chmod(dir, 0o700)
				return write(context.Background(), path, []byte("NEW=1\n"))
			},
			wantIs: fs.ErrPermission,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, path := setup(t)
			err := tt.run(t, dir, path)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want it to wrap %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "write ") {
				t.Errorf("error %q: want it to start with write and the path and say %q", err, tt.wantMsg)
			}
			assertFile(t, path, old, 0o644)
			assertOnly(t, dir, ".env.runtime")
		})
	}
}

func content(i int) []byte {
	// Large enough that a torn write would show.
	return bytes.Repeat([]byte(fmt.Sprintf("WRITER=%02d\n", i)), 20000)
}

// complete reports which writer's whole content data is, or -1.
func complete(data []byte) int {
	if len(data) < 10 {
		return -1
	}
	i, err := strconv.Atoi(string(data[7:9]))
	if err != nil || !bytes.Equal(data, content(i)) {
		return -1
	}
	return i
}

func TestConcurrentWriters(t *testing.T) { forEachTempKind(t, testConcurrentWriters) }

func testConcurrentWriters(t *testing.T) {
	dir, path := setup(t)
	const writers = 20
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	// A reader that must only ever see the old file or one writer's whole content.
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("reader: %v", err)
				return
			}
			if string(data) != old && complete(data) < 0 {
				t.Errorf("reader saw a torn file of %d bytes", len(data))
				return
			}
		}
	}()
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := write(context.Background(), path, content(i)); err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if complete(data) < 0 {
		t.Errorf("final file of %d bytes is no one writer's", len(data))
	}
	assertOnly(t, dir, ".env.runtime")
}

// TestConcurrentProcesses has two processes (this test binary, re-run) write to one path.
func TestConcurrentProcesses(t *testing.T) {
	if p := os.Getenv("ATOMICFILE_TEST_WRITER"); p != "" {
		i, _ := strconv.Atoi(os.Getenv("ATOMICFILE_TEST_ID"))
		for range 30 {
			if err := write(context.Background(), p, content(i)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	dir, path := setup(t)
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$")
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "ATOMICFILE_TEST_WRITER="+path, "ATOMICFILE_TEST_ID="+strconv.Itoa(i+1))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer process: %v", err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := complete(data); i != 1 && i != 2 {
		t.Errorf("final file of %d bytes is no one writer's", len(data))
	}
	assertOnly(t, dir, ".env.runtime")
}

// shippedIgnores are the .gitignore files whose pattern README tells users to copy: each
// must ignore the output file and every temporary file WriteFunc may leave beside it.
var shippedIgnores = []string{"../../.gitignore", "../../examples/compose/.gitignore"}

// assertIgnored checks that each shipped .gitignore ignores every name: git check-ignore
// decides where git is installed, else one of the file's patterns must match
// (filepath.Match, which agrees with git for the plain patterns shipped).
func assertIgnored(t *testing.T, names ...string) {
	t.Helper()
	git, lookErr := exec.LookPath("git")
	for _, gi := range shippedIgnores {
		src, err := os.ReadFile(gi)
		if err != nil {
			t.Fatal(err)
		}
		var ignored []string
		if lookErr != nil {
			for _, name := range names {
				for _, line := range strings.Split(string(src), "\n") {
					if ok, _ := filepath.Match(strings.TrimSpace(line), name); ok && !strings.HasPrefix(line, "#") {
						ignored = append(ignored, name)
						break
					}
				}
			}
		} else {
			repo := t.TempDir()
			if err := os.WriteFile(filepath.Join(repo, ".gitignore"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			// The whole environment git sees: no user or system config, no global excludes.
			env := []string{"HOME=" + repo, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C"}
			gitRun := func(args ...string) (string, error) {
				cmd := exec.Command(git, append([]string{"-C", repo}, args...)...)
				cmd.Env = env
				out, err := cmd.Output()
				return string(out), err
			}
			if out, err := gitRun("init", "-q"); err != nil {
				t.Fatalf("git init: %v %s", err, out)
			}
			// check-ignore prints the names it ignores; it exits 1 when it ignores none.
			out, err := gitRun(append([]string{"check-ignore", "--no-index", "--"}, names...)...)
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
				t.Fatalf("git check-ignore: %v", err)
			}
			ignored = strings.Fields(out)
		}
		sort.Strings(ignored)
		want := append([]string(nil), names...)
		sort.Strings(want)
		if strings.Join(ignored, "/") != strings.Join(want, "/") {
			t.Errorf("%s ignores %q of %q: want all", gi, ignored, want)
		}
	}
}

// A temporary file is named after the file it replaces, so that the ignore pattern the
// shipped .gitignore files use for .env.runtime (and README documents) covers it too.
func TestTempNamesIgnored(t *testing.T) { forEachTempKind(t, testTempNamesIgnored) }

func testTempNamesIgnored(t *testing.T) {
	for _, base := range []string{".env.runtime", "app.env", "no-dot"} {
		dir := t.TempDir()
		path := filepath.Join(dir, base)
		var temps []string
		testHookBeforeRename = func() error {
			for _, name := range listing(t, dir) {
				if name != base {
					temps = append(temps, name)
				}
			}
			return nil
		}
		err := write(context.Background(), path, []byte("NEW=1\n"))
		testHookBeforeRename = nil
		if err != nil {
			t.Fatal(err)
		}
		if len(temps) != 1 || !strings.HasPrefix(temps[0], base+".tmp-") {
			t.Fatalf("temp files before the rename: %q, want one named %s.tmp-NNN", temps, base)
		}
		if base == ".env.runtime" {
			assertIgnored(t, base, temps[0])
		}
	}
}
