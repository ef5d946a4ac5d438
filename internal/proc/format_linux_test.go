package proc

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckFormat: what execve would refuse, found without running anything, and what it
// would run, accepted.
func TestCheckFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := "#!/" + string(bytes.Repeat([]byte("x"), scriptLine))
	for _, tc := range []struct {
		name, content string
		want          error // nil: runs
		interp        string
	}{
		{"sh script", "#!/bin/sh\necho\n", nil, ""},
		{"spaces and an argument", "#!  /bin/sh -e\n", nil, ""},
		{"no newline", "#!/bin/sh", nil, ""},
		{"missing interpreter", "#!/no/such/sh\n", unix.ENOENT, "/no/such/sh"},
		{"interpreter is a directory", "#!/tmp\n", unix.EISDIR, "/tmp"},
		{"empty #! line", "#!\n", unix.ENOEXEC, ""},
		{"interpreter name past 256 bytes", long, unix.ENOEXEC, ""},
		{"text", "echo hi\n", unix.ENOEXEC, ""},
		{"empty file", "", unix.ENOEXEC, ""},
	} {
		err := CheckFormat(write("f", tc.content))
		var ee *ExecError
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v, want none", tc.name, err)
		case tc.want != nil && (!errors.As(err, &ee) || !errors.Is(err, tc.want) || ee.Interpreter != tc.interp):
			t.Errorf("%s: %#v, want an ExecError %v with interpreter %q", tc.name, err, tc.want, tc.interp)
		}
	}
	if binfmtMisc() {
		t.Log("binfmt_misc handlers are registered: text files were accepted")
	}

	// A chain of four interpreters runs; five is ELOOP, as in Linux.
	prev := "/bin/sh"
	for i := range interpDepth {
		prev = write(string(rune('a'+i)), "#!"+prev+"\n")
	}
	if err := CheckFormat(prev); err != nil {
		t.Errorf("four interpreters: %v", err)
	}
	if err := CheckFormat(write("e", "#!"+prev+"\n")); !errors.Is(err, unix.ELOOP) {
		t.Errorf("five interpreters: %v, want ELOOP", err)
	}
}

// TestCheckFormatELF: a dynamic binary for this machine whose program interpreter (the
// dynamic loader) does not exist is ENOENT, what execve says ("required file not found");
// the original passes.
func TestCheckFormatELF(t *testing.T) {
	bin, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip(err)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Skip(err)
	}
	var interp []byte
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			interp = make([]byte, p.Filesz)
			p.ReadAt(interp, 0)
		}
	}
	ef.Close()
	interp = bytes.TrimRight(interp, "\x00")
	if len(interp) < 8 {
		t.Skip("/bin/sh is not a dynamic ELF")
	}
	if err := CheckFormat(bin); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	missing := append([]byte("/no/"), bytes.Repeat([]byte("x"), len(interp)-4)...)
	b = bytes.Replace(b, interp, missing, 1)
	p := filepath.Join(t.TempDir(), "sh")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	err = CheckFormat(p)
	var ee *ExecError
	if !errors.As(err, &ee) || !errors.Is(err, unix.ENOENT) || ee.Interpreter != string(missing) || !ee.ELF {
		t.Fatalf("%v, want ENOENT for the ELF interpreter %q", err, missing)
	}
}

// FuzzCheckFormat: any file content gives nil or an *ExecError with a status of 126 or 127,
// never a panic.
func FuzzCheckFormat(f *testing.F) {
	for _, seed := range []string{"#!/bin/sh\n", "#!", "#! \t/bin/sh -x\n", "#!/no/such\n", "\x7fELF", "\x7fELF\x02\x01\x01", "echo", ""} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, content, 0o755); err != nil {
			t.Fatal(err)
		}
		err := CheckFormat(p)
		if err == nil {
			return
		}
		var ee *ExecError
		if !errors.As(err, &ee) {
			t.Fatalf("%T %v, want an *ExecError", err, err)
		}
		if st := Status(err); st != StatusNoExec && st != StatusNotFound {
			t.Fatalf("%v: status %d", err, st)
		}
		_ = ee.Error()
	})
}
