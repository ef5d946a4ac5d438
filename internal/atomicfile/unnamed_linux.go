package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// procSelfFD is where proc(5) shows this process's open files, and openTmpfile opens an
// unnamed file in a folder: variables so that tests can take /proc and O_TMPFILE away.
var (
	procSelfFD  = "/proc/self/fd/"
	openTmpfile = func(dir string) (*os.File, error) {
		return os.OpenFile(dir, unix.O_TMPFILE|os.O_WRONLY, 0o600)
	}
)

// openUnnamed opens a new regular file on dir's file system that has no name (O_TMPFILE
// without O_EXCL, so linkUnnamed can name it): until then a crash or SIGKILL leaves
// nothing behind. The error wraps errors.ErrUnsupported where that cannot be done: the
// kernel or file system has no O_TMPFILE, or /proc, which linkUnnamed needs, does not
// show the file.
func openUnnamed(dir string) (*os.File, error) {
	f, err := openTmpfile(dir)
	// EOPNOTSUPP: the file system has no O_TMPFILE; EISDIR: the kernel (before 3.11) does
	// not know the flag and tried to open dir itself for writing. EINVAL is taken as the
	// same: the flags are valid, so only the file system can be refusing them.
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
		return nil, fmt.Errorf("%w: %w", errors.ErrUnsupported, err)
	}
	if err != nil {
		return nil, err
	}
	// linkat(AT_EMPTY_PATH) would need no /proc, but until Linux 6.10 it needs
	// CAP_DAC_READ_SEARCH, which containers do not get by default; linking through
	// /proc/self/fd works for any process that can see its own files there, which is
	// checked now, before fill writes a byte, rather than found out after.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if pi, err := os.Stat(procPath(f)); err != nil || !os.SameFile(fi, pi) {
		f.Close()
		return nil, fmt.Errorf("%w: %s does not show open files", errors.ErrUnsupported, procSelfFD)
	}
	return f, nil
}

// linkUnnamed gives f, from openUnnamed, the name path, which must not exist.
func linkUnnamed(f *os.File, path string) error {
	if err := unix.Linkat(unix.AT_FDCWD, procPath(f), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: procPath(f), New: path, Err: err}
	}
	return nil
}

func procPath(f *os.File) string {
	return procSelfFD + strconv.FormatUint(uint64(f.Fd()), 10)
}
