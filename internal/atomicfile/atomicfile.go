// Package atomicfile replaces a file all at once: readers see the old file or the whole
// new one, never a part, and the new file is mode 0600 from its first byte.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrSymlink is returned (wrapped) when the path is a symbolic link.
var ErrSymlink = errors.New("refusing to write through symlink")

// testHookBeforeRename, when set by tests, runs after the data is synced and before the
// rename: a failure there is the last chance to leave the old file untouched.
var testHookBeforeRename func() error

// WriteFunc replaces path with what fill writes, atomically:
//
//   - path must not be a symlink (it is refused, not followed or replaced) and, if it
//     exists, must be a regular file;
//   - fill writes to a new temp file in path's folder, created with O_EXCL and mode 0600,
//     then fchmod'ed to 0600 so no umask can loosen or break it; its name is path's
//     followed by ".tmp-" and a random number, so that an ignore pattern for path with a
//     trailing * (".env.runtime*" in .gitignore) also covers it;
//   - the temp file is fsynced, closed and renamed over path, then the folder is fsynced.
//
// On any failure, including fill's error or ctx being done before the rename, the temp
// file is removed and path is left as it was. Cancel ctx (e.g. from a SIGTERM handler)
// and wait for WriteFunc to return to have the temp file removed; ctx is checked
// between steps, not during a blocked write. A symlink put at path after the check is
// replaced by the rename, never written through.
//
// The one failure after which path has changed is a failed sync of the folder: the
// new file is in place but may not survive a crash, and the error says so.
//
// The new file is owned by the caller and mode 0600 whatever the old one was.
func WriteFunc(ctx context.Context, path string, fill func(w io.Writer) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("write %q: %w", path, ErrSymlink)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("write %q: not a regular file", path)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %q: %w", path, err)
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// CreateTemp opens with O_RDWR|O_CREATE|O_EXCL and mode 0600 (less the umask).
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %q: create temp file: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close() // may be closed already; the error is of no use here
			os.Remove(tmp)
		}
	}()

	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write %q: chmod temp file: %w", path, err)
	}
	if err := fill(f); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %q: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %q: close: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if testHookBeforeRename != nil {
		if err := testHookBeforeRename(); err != nil {
			return fmt.Errorf("write %q: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	renamed = true

	// The new file is in place; the folder sync makes the rename itself durable.
	// Filesystems that cannot sync a folder say EINVAL (or ENOTSUP): nothing to do there.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %q: replaced, but open folder to sync: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("write %q: replaced, but sync folder: %w", path, err)
	}
	return nil
}
