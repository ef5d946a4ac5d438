//go:build !linux

package ptytest

import (
	"errors"
	"os"
)

func openPTY() (master, tty *os.File, ttyNr uint64, err error) {
	return nil, nil, 0, errors.New("ptytest opens pseudo-terminals on Linux only")
}
