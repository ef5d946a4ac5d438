// Package ptytest gives tests a real terminal: a pseudo-terminal that a process gets as its
// controlling terminal, keys to type on it, and its screen to wait for text on.
//
// A test opens a [Terminal], attaches the first process (usually an interactive shell) as the
// leader of a new session whose controlling terminal it is, types commands and control
// characters ("\x1a" is Ctrl-Z, "\x03" Ctrl-C), and waits for what the terminal shows with
// [Terminal.Expect]. Closing the terminal kills every process it is still the controlling
// terminal of, so that a hung test leaves nothing behind.
package ptytest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Timeout bounds each [Terminal.Expect]. It is a hang check, not a speed target: on a loaded
// machine a shell, the emulator and a race-enabled binary take seconds, not minutes.
const Timeout = 30 * time.Second

// Terminal is one pseudo-terminal pair and everything it has shown.
type Terminal struct {
	t      testing.TB
	master *os.File // the test's side: what is typed, what is shown
	tty    *os.File // the process's side: its stdin, stdout, stderr and controlling terminal
	ttyNr  uint64   // the terminal as /proc/PID/stat's tty_nr shows it

	mu     sync.Mutex
	screen []byte
	mark   int           // Expect looks from here on
	more   chan struct{} // a token after each read of the master
	done   chan struct{} // closed when the master reads no more

	closeOnce sync.Once
}

// Open opens a new pseudo-terminal (24 rows of 160 columns) and starts collecting what it
// shows. It skips the test where no pseudo-terminal can be opened (no /dev/ptmx or devpts, or
// not Linux). The terminal is closed at the end of the test.
func Open(t testing.TB) *Terminal {
	t.Helper()
	master, tty, ttyNr, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	tm := &Terminal{
		t: t, master: master, tty: tty, ttyNr: ttyNr,
		more: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	go tm.read()
	t.Cleanup(tm.Close)
	return tm
}

// control runs f on f's descriptor without putting the file in blocking mode, as Fd would:
// the master must stay in the runtime's poller so that Close ends a pending Read.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (tm *Terminal) read() {
	defer close(tm.done)
	buf := make([]byte, 4096)
	for {
		n, err := tm.master.Read(buf)
		if n > 0 {
			tm.mu.Lock()
			tm.screen = append(tm.screen, buf[:n]...)
			tm.mu.Unlock()
			select {
			case tm.more <- struct{}{}:
			default:
			}
		}
		if err != nil { // EIO once no process has the terminal open; or Close
			return
		}
	}
}

// Attach makes the terminal cmd's stdin, stdout and stderr, and cmd the leader of a new
// session whose controlling terminal it is, as a login or an ssh session starts a shell.
func (tm *Terminal) Attach(cmd *exec.Cmd) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tm.tty, tm.tty, tm.tty
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0 // the child's stdin
}

// Type writes s to the terminal as keys typed on it.
func (tm *Terminal) Type(s string) {
	tm.t.Helper()
	if _, err := tm.master.Write([]byte(s)); err != nil {
		tm.t.Fatalf("typing %q: %v", s, err)
	}
}

// Expect waits until text appears on the screen after what the last Expect matched, and
// returns the screen from there to the end of text. It fails the test, showing the screen,
// when text has not appeared within [Timeout].
func (tm *Terminal) Expect(text string) string {
	tm.t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		tm.mu.Lock()
		if i := bytes.Index(tm.screen[tm.mark:], []byte(text)); i >= 0 {
			end := tm.mark + i + len(text)
			got := string(tm.screen[tm.mark:end])
			tm.mark = end
			tm.mu.Unlock()
			return got
		}
		tm.mu.Unlock()
		select {
		case <-tm.more:
		case <-tm.done:
			tm.t.Fatalf("the terminal closed before %q appeared; screen:\n%s", text, tm.Screen())
		case <-deadline.C:
			tm.t.Fatalf("%q did not appear on the terminal within %s; screen:\n%s", text, Timeout, tm.Screen())
		}
	}
}

// Screen returns everything the terminal has shown.
func (tm *Terminal) Screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return string(tm.screen)
}

// Close kills every process whose controlling terminal this is, then closes both sides and
// waits until the screen is complete. It may be called more than once.
func (tm *Terminal) Close() {
	tm.closeOnce.Do(func() {
		// Before closing: a hangup would detach the processes from the terminal and hide them.
		for range 100 {
			pids := tm.processes()
			if len(pids) == 0 {
				break
			}
			for _, pid := range pids {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			time.Sleep(10 * time.Millisecond)
		}
		tm.tty.Close()
		tm.master.Close()
		<-tm.done
	})
}

// processes lists the live processes whose controlling terminal this is.
func (tm *Terminal) processes() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil || st.State == "Z" || st.TtyNr != tm.ttyNr {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// Stat is the part of /proc/PID/stat the tests read.
type Stat struct {
	State               string // R, S, T (stopped), Z (zombie), ...
	PPid, PGrp, Session int
	TtyNr               uint64 // the controlling terminal's device number, 0 for none
}

// ReadStat reads /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, err
	}
	// "pid (comm) state ppid pgrp session tty_nr tpgid ...": comm may hold spaces and ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 5 {
		return Stat{}, errors.New("malformed stat")
	}
	var st Stat
	st.State = f[0]
	st.PPid, _ = strconv.Atoi(f[1])
	st.PGrp, _ = strconv.Atoi(f[2])
	st.Session, _ = strconv.Atoi(f[3])
	st.TtyNr, _ = strconv.ParseUint(f[4], 10, 64)
	return st, nil
}
