// Package atomicfile replaces a file all at once: readers see the old file or the whole
// new one, never a part, and the new file is mode 0600 from its first byte.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrSymlink is returned (wrapped) when the path is a symbolic link.
var ErrSymlink = errors.New("refusing to write through symlink")

// testHookBeforeRename, when set by tests, runs once the data is synced and the temp file
// has its name, before the rename: a failure there is the last chance to leave the old
// file untouched.
var testHookBeforeRename func() error

// WriteFunc replaces path with what fill writes, atomically:
//
//   - path must not be a symlink (it is refused, not followed or replaced) and, if it
//     exists, must be a regular file;
//   - fill writes to a new temp file on path's file system, mode 0600 from creation, then
//     fchmod'ed to 0600 so no umask can loosen or break it. On Linux the file has no name
//     while fill writes (O_TMPFILE), so a process killed then leaves nothing behind; where
//     that cannot be done (no O_TMPFILE on the file system, no /proc) the file is created
//     with a name and O_EXCL instead;
//   - the temp file is fsynced, given a name in path's folder if it has none yet, closed
//     and renamed over path, then the folder is fsynced.
//
// A temp file's name is path's followed by ".tmp-" and a random number, so that an
// ignore pattern for path with a trailing * (".env.runtime*" in .gitignore) covers it.
// A process killed while one has that name (during fill for a named temp file; between
// two syscalls otherwise) leaves it behind, mode 0600.
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
	tmp := "" // the temp file's path, once it has one
	f, err := openUnnamed(dir)
	if errors.Is(err, errors.ErrUnsupported) {
		tmp, err = claimTempName(dir, base, func(p string) (err error) {
			f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("write %q: create temp file: %w", path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close() // may be closed already; the error is of no use here
			if tmp != "" {
				os.Remove(tmp)
			}
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
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if tmp == "" {
		// linkat cannot replace path, so the file gets a temp name first, and the
		// rename below replaces path as for a named temp file.
		tmp, err = claimTempName(dir, base, func(p string) error { return linkUnnamed(f, p) })
		if err != nil {
			return fmt.Errorf("write %q: name temp file: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %q: close: %w", path, err)
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

// claimTempName calls claim with new temp paths for base in dir until one is free, and
// returns the path claimed. claim creates the file at its path, failing if one exists.
func claimTempName(dir, base string, claim func(path string) error) (string, error) {
	var err error
	for range 100 {
		p := filepath.Join(dir, base+".tmp-"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		if err = claim(p); err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return "", err
}
