//go:build unix

package proc

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// interpDepth is how many #! interpreters may stand in front of one another (Linux allows
// four; a deeper chain fails with ELOOP).
const interpDepth = 4

// scriptLine is how much of a file Linux reads for its #! line (BINPRM_BUF_SIZE): an
// interpreter name that does not end within it is ENOEXEC.
const scriptLine = 256

// CheckFormat checks, before anything is written or started, what execve would check in
// the file at path, an executable found by LookPath, that needs no running of it:
//
//   - a "#!" line: its interpreter exists (else ENOENT, 127) and is executable (EACCES,
//     126), recursively for an interpreter that is itself a script;
//   - on Linux, an ELF file for this machine (or its 32-bit sibling): its program
//     interpreter (the dynamic loader, PT_INTERP) exists (ENOENT, 127: a binary built for
//     another libc);
//   - on Linux, a file that is neither ELF nor a "#!" script is ENOEXEC (126), unless
//     /proc/sys/fs/binfmt_misc lists a handler (which might run it). Where binfmt_misc is
//     not mounted (most containers) no handler is assumed: a command that only a host's
//     binfmt_misc handler runs (a .jar, a PE file) is refused; name its interpreter instead.
//
// What it cannot see is left to execve: an ELF for another machine (it may run under a
// binfmt_misc emulator), a corrupt ELF, missing shared libraries, a noexec mount. The
// error is an *ExecError, as Exec's.
func CheckFormat(path string) error {
	return checkFormat(path, 0)
}

func checkFormat(path string, depth int) error {
	f, err := os.Open(path)
	if err != nil {
		// execve can run a file it cannot read (mode 0111); nothing more to check.
		return nil
	}
	defer f.Close()
	head := make([]byte, scriptLine)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		return checkScript(path, head, depth)
	case runtime.GOOS != "linux":
		return nil
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
		return checkELF(path, f)
	case binfmtMisc():
		return nil
	}
	return &ExecError{Path: path, Err: unix.ENOEXEC}
}

func checkScript(path string, head []byte, depth int) error {
	line := head[2:]
	end := bytes.IndexByte(line, '\n')
	if end >= 0 {
		line = line[:end]
	}
	line = bytes.TrimLeft(line, " \t")
	interp := line
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		interp = line[:i]
	} else if end < 0 && len(head) == scriptLine {
		return &ExecError{Path: path, Err: unix.ENOEXEC} // the name runs past what the kernel reads
	}
	if len(interp) == 0 {
		return &ExecError{Path: path, Err: unix.ENOEXEC}
	}
	if depth >= interpDepth {
		return &ExecError{Path: path, Err: unix.ELOOP}
	}
	ip := string(interp)
	if err := executable(ip); err != nil {
		return &ExecError{Path: path, Interpreter: ip, Err: err}
	}
	// An interpreter that is itself a script: its own error names it (Path) and what it
	// lacks.
	return checkFormat(ip, depth+1)
}

// checkELF checks the program interpreter of an ELF file for this machine.
func checkELF(path string, f *os.File) error {
	ef, err := elf.NewFile(f)
	if err != nil || !nativeMachine(ef.Machine) {
		return nil
	}
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
		if err != nil {
			return nil
		}
		ip := string(bytes.TrimRight(b, "\x00"))
		if ip == "" {
			return nil
		}
		if err := executableOrReadable(ip); err != nil {
			return &ExecError{Path: path, Interpreter: ip, ELF: true, Err: err}
		}
	}
	return nil
}

// executableOrReadable is whether the kernel can open an ELF interpreter: it must exist;
// permission problems are left to execve.
func executableOrReadable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)) {
		return err
	}
	return nil
}

func nativeMachine(m elf.Machine) bool {
	switch runtime.GOARCH {
	case "amd64":
		return m == elf.EM_X86_64 || m == elf.EM_386
	case "386":
		return m == elf.EM_386
	case "arm64":
		return m == elf.EM_AARCH64 || m == elf.EM_ARM
	case "arm":
		return m == elf.EM_ARM
	case "riscv64":
		return m == elf.EM_RISCV
	case "ppc64", "ppc64le":
		return m == elf.EM_PPC64
	case "s390x":
		return m == elf.EM_S390
	case "loong64":
		return m == elf.EM_LOONGARCH
	}
	return false
}

// binfmtMisc reports whether a binfmt_misc handler is registered that may run a file of
// another format.
func binfmtMisc() bool {
	ents, err := os.ReadDir("/proc/sys/fs/binfmt_misc")
	if err != nil {
		return false
	}
	if st, err := os.ReadFile("/proc/sys/fs/binfmt_misc/status"); err == nil && bytes.HasPrefix(st, []byte("disabled")) {
		return false
	}
	for _, e := range ents {
		if n := e.Name(); n != "register" && n != "status" {
			return true
		}
	}
	return false
}
