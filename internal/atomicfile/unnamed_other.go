//go:build !linux

package atomicfile

import (
	"errors"
	"os"
)

// openUnnamed is O_TMPFILE's, which only Linux has: elsewhere temp files are named from
// the start.
func openUnnamed(dir string) (*os.File, error) {
	return nil, errors.ErrUnsupported
}

func linkUnnamed(f *os.File, path string) error {
	return errors.ErrUnsupported
}
