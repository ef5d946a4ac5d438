package ptytest

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair the way posix_openpt, unlockpt and ptsname do, and
// returns the terminal's device number as /proc/PID/stat shows it.
func openPTY() (master, tty *os.File, ttyNr uint64, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, 0, err
	}
	var n int
	err = control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		var err error
		if n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN); err != nil {
			return err
		}
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 160})
	})
	if err == nil {
		tty, err = os.OpenFile(filepath.Join("/dev/pts", strconv.Itoa(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	}
	var st unix.Stat_t
	if err == nil {
		err = unix.Stat(tty.Name(), &st)
	}
	if err != nil {
		master.Close()
		if tty != nil {
			tty.Close()
		}
		return nil, nil, 0, err
	}
	// The kernel's encoding of a device number in /proc/PID/stat (new_encode_dev).
	major, minor := uint64(unix.Major(st.Rdev)), uint64(unix.Minor(st.Rdev))
	return master, tty, minor&0xff | major<<8 | (minor&^0xff)<<12, nil
}
