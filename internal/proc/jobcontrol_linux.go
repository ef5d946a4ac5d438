package proc

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Job control in a terminal: --init must be as transparent to an interactive shell as exec.
//
// Process groups. The command runs in a process group of its own, and when the supervisor's
// group (the shell's job) is the terminal's foreground group, the command's group is made the
// foreground group instead. The terminal sends Ctrl-C (SIGINT), Ctrl-\ (SIGQUIT), Ctrl-Z
// (SIGTSTP) and window changes (SIGWINCH) to its whole foreground group: in the supervisor's
// group the command would get each once from the terminal and once more forwarded, as the
// supervisor cannot tell the terminal's SIGINT from kill(1)'s (Go does not show siginfo).
// In its own foreground group it gets them once, from the terminal, and can read the
// terminal; the supervisor forwards only what is sent to it (kill, docker stop, the shell's
// kill %1 and its SIGHUP on exit). The terminal is found by opening /dev/tty, not from
// fd 0, which may be a pipe (echo x | secretexec --init -- cmd-that-reads-/dev/tty).
//
// Stop and continue. The shell knows only the supervisor's group: the job. When the command
// stops (Ctrl-Z, a read of the terminal from the background, kill -STOP), the supervisor
// stops its own group with SIGSTOP. The shell waits for exactly that to report the job
// stopped and take the terminal. The whole group, not only the supervisor: what else the job
// holds (a script running secretexec, the other commands of a pipeline) stops as it would
// have under the terminal's SIGTSTP in exec mode. SIGSTOP rather than the command's own stop
// signal: the supervisor catches SIGTSTP to forward it, and Go keeps its handler after
// signal.Stop, so a SIGTSTP would never stop it; SIGSTOP cannot be caught. bash reports
// either as "Stopped"; zsh says "suspended (signal)". When the shell continues the job (fg or
// bg: SIGCONT to the supervisor's group; the command's group gets nothing), the supervisor
// gives the terminal to the command's group if its own group has it (fg) and continues the
// command's group (resume). A command stopped for reading the terminal from the background
// while the job is in the foreground (the shell's fg of a running background job sends no
// SIGCONT) is given the terminal and continued at once.
//
// Where no shell can resume the job, the supervisor does not stop: its group is orphaned
// (no member has a parent in the same session outside the group: secretexec as a session
// leader under docker exec -t, ssh -t or script, or as PID 1 under docker run -t, which
// no signal from inside can stop at all). There the kernel discards the terminal's SIGTSTP
// for an exec'd command, so a command stopped by SIGTSTP is continued at once; any other
// stop is left for whoever caused it, as before.
//
// Without a controlling terminal (a container without -t, a service) none of this applies:
// the child is not made foreground, its stops are not watched, SIGCONT is forwarded as any
// other signal.

// terminal is the supervisor's controlling terminal.
type terminal struct {
	fd int // /dev/tty, close-on-exec
}

// openTerminal opens the controlling terminal, or returns nil when there is none (ENXIO).
// O_NONBLOCK: the descriptor is only for ioctls, and a serial line's open must not wait
// for its carrier.
func openTerminal() *terminal {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return &terminal{fd: fd}
}

func (t *terminal) close() {
	if t != nil {
		unix.Close(t.fd)
	}
}

// foreground returns the terminal's foreground process group, or -1.
func (t *terminal) foreground() int {
	pgrp, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP)
	if err != nil {
		return -1
	}
	return pgrp
}

// setForeground makes pgrp the terminal's foreground group. The kernel sends SIGTTOU to a
// background group that tries, and fails the call, unless SIGTTOU is blocked or ignored.
// Ignoring it would be inherited by the next command started, so it is blocked, in this
// thread only and for this call only.
func (t *terminal) setForeground(pgrp int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ttou, old unix.Sigset_t
	ttou.Val[0] = 1 << (unix.SIGTTOU - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old); err != nil {
		return err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, pgrp)
}

// reclaim makes group to the foreground group again if group from, that of a command that
// has exited, still has the terminal: secretexec's own messages, the rest of its job and the
// next command started then find the terminal with the job.
func (t *terminal) reclaim(from, to int) {
	if t != nil && t.foreground() == from {
		_ = t.setForeground(to)
	}
}

// followStop passes a stop of c on to the shell, per the rules at the top of this file.
func (s *Supervisor) followStop(c *Child, sig syscall.Signal) {
	switch {
	case (sig == unix.SIGTTIN || sig == unix.SIGTTOU) && s.tty.foreground() == s.pgrp:
		// The job is in the foreground and the command is not: give it the terminal. Only
		// if that worked, or the command would stop again at once, and again.
		if s.tty.setForeground(c.pid) == nil {
			_ = unix.Kill(-c.pid, unix.SIGCONT)
		}
	case resumable():
		_ = unix.Kill(0, unix.SIGSTOP) // our group; the shell's SIGCONT comes to resume
	case sig == unix.SIGTSTP:
		_ = unix.Kill(-c.pid, unix.SIGCONT)
	}
}

// resume passes the shell's fg or bg on to the command: the terminal to its group if the
// job has it, then SIGCONT to its group, as the shell does to a job.
func (s *Supervisor) resume(c *Child) {
	if s.tty.foreground() == s.pgrp {
		_ = s.tty.setForeground(c.pid)
	}
	_ = unix.Kill(-c.pid, unix.SIGCONT)
}

// resumable reports whether a stop of this process's group can be undone by a shell: it is
// not PID 1, and the group is not orphaned. POSIX's test, which the kernel applies, asks
// whether any member has a parent in the same session outside the group. The members that
// may have one are this process and the ancestors that share its group (a script running
// secretexec, the shell's subshell); the other commands of a pipeline share its parent. So
// this walks up the ancestors in the group to the first one outside it.
func resumable() bool {
	if os.Getpid() == 1 {
		return false // the init of a PID namespace cannot be stopped from inside
	}
	pgrp := unix.Getpgrp()
	sid, err := unix.Getsid(0)
	if err != nil {
		return false
	}
	p := os.Getppid()
	for range 64 { // bounded: a pid reused mid-walk cannot loop it
		if p <= 0 { // the parent is outside this PID namespace
			return false
		}
		if psid, err := unix.Getsid(p); err != nil || psid != sid {
			return false
		}
		ppgrp, err := unix.Getpgid(p)
		if err != nil {
			return false
		}
		if ppgrp != pgrp {
			return true
		}
		if p = parentOf(p); p < 0 {
			return false
		}
	}
	return false
}

// parentOf returns pid's parent from /proc/PID/stat, or -1.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return ppid
}
