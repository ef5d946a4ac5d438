//go:build unix

package proc

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/env"
)

// defaultPath is used when the merged environment has no PATH: what Docker gives containers.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// NotFoundError is a command name that is not in PATH (or an empty name).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string {
	if e.Name == "" {
		return "empty command name"
	}
	return fmt.Sprintf("command %q not found in PATH", e.Name)
}

// ExecError is a command that was found, or named by path, but cannot be run: Err is the
// errno execve (or the check before it) gave.
type ExecError struct {
	Path string
	// Interpreter is the #! interpreter (or, with ELF, the ELF program interpreter) that
	// failed, found by CheckFormat; "" when the file itself failed.
	Interpreter string
	ELF         bool
	Err         error
}

func (e *ExecError) Error() string {
	if e.Interpreter != "" {
		what := "its #! interpreter"
		if e.ELF {
			what = "its ELF interpreter (dynamic loader)"
		}
		switch {
		case errors.Is(e.Err, unix.ENOENT), errors.Is(e.Err, unix.ENOTDIR):
			return fmt.Sprintf("cannot run %q: %s %q does not exist", e.Path, what, e.Interpreter)
		case errors.Is(e.Err, unix.EACCES), errors.Is(e.Err, unix.EPERM), errors.Is(e.Err, unix.EISDIR):
			return fmt.Sprintf("cannot run %q: %s %q is not executable", e.Path, what, e.Interpreter)
		case errors.Is(e.Err, unix.ENOEXEC):
			return fmt.Sprintf("cannot run %q: %s %q is not an executable format", e.Path, what, e.Interpreter)
		}
		return fmt.Sprintf("cannot run %q: %s %q: %v", e.Path, what, e.Interpreter, e.Err)
	}
	switch {
	case errors.Is(e.Err, unix.ENOENT):
		return fmt.Sprintf("cannot run %q: no such file or directory", e.Path)
	case errors.Is(e.Err, unix.EACCES), errors.Is(e.Err, unix.EPERM):
		return fmt.Sprintf("cannot run %q: permission denied", e.Path)
	case errors.Is(e.Err, unix.ENOEXEC):
		return fmt.Sprintf("cannot run %q: not an executable format", e.Path)
	case errors.Is(e.Err, unix.EISDIR):
		return fmt.Sprintf("cannot run %q: is a directory", e.Path)
	case errors.Is(e.Err, unix.ELOOP):
		return fmt.Sprintf("cannot run %q: more than %d #! interpreters in a row", e.Path, interpDepth)
	}
	return fmt.Sprintf("cannot run %q: %v", e.Path, e.Err)
}

func (e *ExecError) Unwrap() error { return e.Err }

// LookPath finds the command in the merged environment's PATH (not secretexec's own), the way
// execvp does, except that empty and relative PATH entries are skipped: a secrets wrapper must
// not run a program from whatever the current directory is. A name with a "/" is used as is.
// The error is a *NotFoundError or an *ExecError; Status gives its exit status.
func LookPath(file string, environ []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", &ExecError{Path: file, Err: err}
		}
		return file, nil
	}
	if file == "" {
		return "", &NotFoundError{}
	}
	path, ok := env.Lookup(environ, "PATH")
	if !ok {
		path = defaultPath
	}
	var denied error
	for _, dir := range strings.Split(path, ":") {
		if !strings.HasPrefix(dir, "/") {
			continue
		}
		p := dir + "/" + file
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if denied == nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			denied = err
		}
	}
	if denied != nil {
		return "", &ExecError{Path: file, Err: denied}
	}
	return "", &NotFoundError{Name: file}
}

func executable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	return unix.Access(p, unix.X_OK)
}

// Exec replaces this process with the command; it returns only on failure, with an
// *ExecError.
func Exec(path string, argv, environ []string) error {
	return &ExecError{Path: path, Err: unix.Exec(path, argv, environ)}
}

// Status is the exit status for a failure to find or run the command: 127 not found, 126
// found but not executable, 125 for E2BIG (the environment secretexec built is its own
// failure) and for any error that is not about the command.
func Status(err error) int {
	var nf *NotFoundError
	var ee *ExecError
	switch {
	case errors.As(err, &nf):
		return StatusNotFound
	case !errors.As(err, &ee):
		return StatusFailure
	case errors.Is(err, unix.E2BIG):
		return StatusFailure
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return StatusNotFound
	}
	return StatusNoExec
}

// ExecLimit is the kernel's limit on argv plus environment for this process.
func ExecLimit() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &rl); err != nil {
		return 128 << 10
	}
	return env.ExecLimit(uint64(rl.Cur)) // int64 on the BSDs
}
