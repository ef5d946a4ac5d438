//go:build unix

package main

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/secretexec/secretexec/env"
)

// defaultPath is used when the merged environment has no PATH: what Docker gives containers.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds the command in the merged environment's PATH (not secretexec's own), the way
// execvp does, except that empty and relative PATH entries are skipped: a secrets wrapper must
// not run a program from whatever the current directory is. A name with a "/" is used as is.
// The int is the exit status to use when the error is not nil.
func lookPath(file string, environ []string) (string, int, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", codeFor(err), execError(file, err)
		}
		return file, 0, nil
	}
	if file == "" {
		return "", exitNotFound, &hintError{err: errors.New("empty command name"), hint: "give the command after --"}
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
			return p, 0, nil
		}
		if denied == nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			denied = err
		}
	}
	if denied != nil {
		return "", exitNoExec, execError(file, denied)
	}
	return "", exitNotFound, &hintError{
		err:  fmt.Errorf("command %q not found in PATH", file),
		hint: "check the command name and PATH, or give its full path",
	}
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

func execve(path string, argv, environ []string) error {
	return unix.Exec(path, argv, environ)
}

func execError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return &hintError{err: fmt.Errorf("cannot run %q: no such file or directory", path), hint: "for a script, check that the interpreter on its #! line exists in the image"}
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return &hintError{err: fmt.Errorf("cannot run %q: permission denied", path), hint: "make it executable (chmod +x) and check that its file system is not mounted noexec"}
	case errors.Is(err, unix.ENOEXEC):
		return &hintError{err: fmt.Errorf("cannot run %q: not an executable format", path), hint: "a script needs a #! line; a binary must be built for this architecture"}
	case errors.Is(err, unix.EISDIR):
		return fmt.Errorf("cannot run %q: is a directory", path)
	}
	return fmt.Errorf("cannot run %q: %w", path, err)
}

// codeFor maps an exec error to 127 (not found) or 126 (found, not executable).
func codeFor(err error) int {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return exitNotFound
	}
	return exitNoExec
}

// execFailureCode is the exit status after a failed exec: E2BIG is secretexec's own
// failure (the environment it built), the rest is about the command.
func execFailureCode(err error) int {
	if errors.Is(err, unix.E2BIG) {
		return exitFailure
	}
	return codeFor(err)
}

// execLimit is the kernel's limit on argv plus environment for this process.
func execLimit() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &rl); err != nil {
		return 128 << 10
	}
	return env.ExecLimit(rl.Cur)
}
