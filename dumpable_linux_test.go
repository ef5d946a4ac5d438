package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitNotDumpable: under --init secretexec is not dumpable, so another process of its
// own user cannot read its /proc/PID/environ (nor its memory, nor get a core of it), while
// the command's own /proc/PID/environ stays readable by that user. Both run as
// nobody (setpriv), since root may read any process.
func TestInitNotDumpable(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Getuid() != 0 {
		t.Skip("needs root and setpriv to run as another user")
	}
	// A copy of the test binary (which is secretexec by its name) nobody may run.
	dir, err := os.MkdirTemp("", "dumpable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "secretexec")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()

	p := newProcEnv(t)
	p.canaries.add("canary-dumpable-pass-1")
	script := `cat /proc/$PPID/environ >/dev/null 2>&1 && echo parent=readable || echo parent=unreadable
tr '\0' '\n' < /proc/$$/environ | grep -c '^DB_PASS='`
	for _, mode := range [][]string{{"--init"}, {"--watch", "1h"}} {
		cmd, stdout, stderr := p.command(append(mode, "--", "sh", "-c", script)...)
		cmd.Args = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin}, cmd.Args[1:]...)
		cmd.Path = setpriv
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, "SECRETEXEC_DISABLE=1", "DB_PASS=canary-dumpable-pass-1")
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v; stderr:\n%s", mode, err, stderr)
		}
		if got, want := stdout.String(), "parent=unreadable\n1\n"; got != want {
			t.Errorf("%v: the command printed %q, want %q (secretexec's environ closed to its user, the command's own open)", mode, got, want)
		}
		if strings.Contains(stderr.String(), "non-dumpable") {
			t.Errorf("%v: stderr:\n%s", mode, stderr)
		}
	}
}
