package atomicfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The secret a killed writer was writing: it must not be left anywhere but in a
// temporary file that the shipped .gitignore files ignore.
const killedSecret = "NEW=canary-killed-writer\n"

// killedWriter is the child of TestKilledWriter: it writes path and stops at stage
// ("fill": halfway through fill; "rename": named, just before the rename), says "ready"
// on stdout and waits to be killed. It exits (without finishing) if stdin closes.
// without is what it goes without: "proc" or "tmpfile" (O_TMPFILE), or "".
func killedWriter(path, stage, without string) {
	switch without {
	case "proc":
		procSelfFD = "/no-proc/"
	case "tmpfile":
		openTmpfile = func(dir string) (*os.File, error) {
			return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.EOPNOTSUPP}
		}
	}
	stop := func() error {
		os.Stdout.WriteString("ready\n")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
		return nil
	}
	if stage == "rename" {
		testHookBeforeRename = stop
	}
	err := WriteFunc(context.Background(), path, func(w io.Writer) error {
		if _, err := io.WriteString(w, killedSecret[:10]); err != nil {
			return err
		}
		if stage == "fill" {
			stop()
		}
		_, err := io.WriteString(w, killedSecret[10:])
		return err
	})
	fmt.Fprintf(os.Stderr, "writer: finished (error %v) without stopping at %q\n", err, stage)
	os.Exit(4)
}

// TestKilledWriter kills (SIGKILL, no cleanup possible) a process in the middle of
// WriteFunc: the old file must be untouched, and nothing may be left beside it but,
// where a name was unavoidable, one temporary file, mode 0600 and ignored by the shipped
// .gitignore files.
func TestKilledWriter(t *testing.T) {
	if p := os.Getenv("ATOMICFILE_TEST_KILLED"); p != "" {
		killedWriter(p, os.Getenv("ATOMICFILE_TEST_STAGE"), os.Getenv("ATOMICFILE_TEST_WITHOUT"))
		return
	}
	tests := []struct {
		name           string
		stage, without string // see killedWriter
		// leftover is what the temporary file left beside path holds, "" for none.
		leftover string
	}{
		{name: "while filling an unnamed file", stage: "fill"},
		{name: "unnamed, between naming and rename", stage: "rename", leftover: killedSecret},
		{name: "no /proc, while filling", stage: "fill", without: "proc", leftover: killedSecret[:10]},
		{name: "no O_TMPFILE, while filling", stage: "fill", without: "tmpfile", leftover: killedSecret[:10]},
		{name: "no O_TMPFILE, between naming and rename", stage: "rename", without: "tmpfile", leftover: killedSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.without == "" {
				requireTmpfile(t)
			}
			dir, path := setup(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
			cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "ATOMICFILE_TEST_KILLED="+path, "ATOMICFILE_TEST_STAGE="+tt.stage, "ATOMICFILE_TEST_WITHOUT="+tt.without)
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ready := false
			for sc := bufio.NewScanner(stdout); sc.Scan(); {
				if sc.Text() == "ready" {
					ready = true
					break
				}
			}
			if !ready {
				cmd.Wait()
				t.Fatal("the writer never got to the stage")
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var ee *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("writer: %v, want killed by SIGKILL", err)
			}

			assertFile(t, path, old, 0o644)
			var left []string
			for _, name := range listing(t, dir) {
				if name != filepath.Base(path) {
					left = append(left, name)
				}
			}
			if tt.leftover == "" {
				if len(left) > 0 {
					t.Errorf("left beside the file: %q, want nothing", left)
				}
				return
			}
			if len(left) != 1 {
				t.Fatalf("left beside the file: %q, want one temporary file", left)
			}
			tmp := filepath.Join(dir, left[0])
			assertFile(t, tmp, tt.leftover, 0o600)
			assertIgnored(t, left[0])
			if !strings.HasPrefix(left[0], filepath.Base(path)+".tmp-") {
				t.Errorf("left %q, want it named %s.tmp-NNN", left[0], filepath.Base(path))
			}
		})
	}
}
