package proc

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded returns the signals the supervisor forwards to the child. It is built when a
// Supervisor is made, not at package init, so a start without --init does not pay for it.
// Every catchable signal is forwarded except:
//
//   - SIGCHLD: it is ours; it drives the reaping loop.
//   - SIGURG: the Go runtime sends it to its own threads for goroutine preemption, so a
//     SIGURG seen here is indistinguishable from a spurious one; forwarding would flood the
//     child. Its default action is "ignore", so an app relying on it is rare.
//   - SIGTTIN, SIGTTOU: a terminal sends them to a background group that reads it (or writes
//     it, with stty tostop). They keep their default action, never caught nor ignored, so
//     that the child inherits the disposition secretexec got, as after exec (an ignored
//     signal stays ignored across exec). The supervisor never reads the terminal; it blocks
//     SIGTTOU in the one thread that hands the terminal over (see jobcontrol_linux.go).
//   - SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGPIPE: they report the supervisor's
//     own faults (or its own write to a closed pipe); the Go runtime handles them. tini
//     excludes the same ones.
//   - 32 and 33: reserved by the C library's and Go's threading (Go uses 33 for
//     per-thread syscalls).
//   - SIGKILL, SIGSTOP: cannot be caught.
//
// SIGTSTP is forwarded; in a terminal the supervisor then follows the child's stop.
// SIGCONT is forwarded, in a terminal to the child's whole group with the terminal handed
// back (see resume). SIGQUIT and SIGABRT are forwarded rather than dumping the supervisor's
// goroutines; real-time signals 34..64 are forwarded.
func forwarded() []os.Signal {
	sigs := make([]os.Signal, 0, 64)
	for s := syscall.Signal(1); s <= 64; s++ {
		switch s {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGTTIN, unix.SIGTTOU,
			unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL,
			unix.SIGTRAP, unix.SIGSYS, unix.SIGPIPE,
			unix.SIGKILL, unix.SIGSTOP, 32, 33:
		default:
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// Supervisor is the parent side of --init: the signal registrations, the child subreaper
// setting and the controlling terminal, held while it runs one command at a time. A caller that replaces the command (a restart) calls them again on
// the same Supervisor, which keeps the terminal and the shell's job control right across
// commands. It does not start goroutines of its own.
type Supervisor struct {
	// Forwarded, when set, is told each signal Wait has passed on to the command, after
	// passing it on: how a caller that restarts commands learns it is being stopped.
	Forwarded func(syscall.Signal)

	sigs chan os.Signal // the forwarded signals
	chld chan os.Signal // SIGCHLD; one pending is enough: each one reaps all
	tty  *terminal      // the controlling terminal; nil without one
	pgrp int            // this process's group: the job the shell knows
}

// Child is a command started by [Supervisor.Start], in a process group of its own whose id
// is its pid.
type Child struct {
	pid int
}

// Pid returns the child's process id, which is also its process group's id.
func (c *Child) Pid() int { return c.pid }

// Signal sends sig to the child, not to its group. ESRCH means it has exited and is about to
// be reaped.
func (c *Child) Signal(sig syscall.Signal) error { return unix.Kill(c.pid, sig) }

// SignalGroup sends sig to the child's whole process group: the command and whatever it
// started and did not move elsewhere.
func (c *Child) SignalGroup(sig syscall.Signal) error { return unix.Kill(-c.pid, sig) }

// New prepares this process to supervise commands: it registers for the signals to forward
// and for SIGCHLD before any child exists, so that none is missed, makes itself a child
// subreaper (PR_SET_CHILD_SUBREAPER) when it is not PID 1, so that orphans of the command
// come to it outside containers too, and finds its controlling terminal. Close undoes it.
func New() *Supervisor {
	if os.Getpid() != 1 {
		// Best effort: without it, orphans go to the real init, which reaps them anyway.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	s := &Supervisor{
		sigs: make(chan os.Signal, 64),
		chld: make(chan os.Signal, 1),
		pgrp: unix.Getpgrp(),
	}
	signal.Notify(s.sigs, withoutIgnored(forwarded())...) // an inherited ignore stays (ignored.go)
	signal.Notify(s.chld, unix.SIGCHLD)
	s.tty = openTerminal()
	return s
}

// Close stops the signal registrations and closes the terminal. The subreaper setting stays.
func (s *Supervisor) Close() {
	signal.Stop(s.chld)
	signal.Stop(s.sigs)
	s.tty.close()
}

// Start starts the command at path (argv[0] is passed as given, env is its whole environment)
// with this process's stdin, stdout and stderr, in a process group of its own. When this
// process's group is the foreground group of its controlling terminal (the job is in the
// foreground), the child's group becomes the foreground group instead, before the command
// runs (see jobcontrol_linux.go for why). If the command cannot be started, err is an
// *ExecError holding fork/exec's errno, as for a failed exec ([Status] maps it).
func (s *Supervisor) Start(path string, argv, env []string) (*Child, error) {
	if len(argv) == 0 {
		return nil, errors.New("proc: empty argv")
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	handover := s.tty != nil && s.tty.foreground() == s.pgrp
	if handover {
		// Foreground does TIOCSPGRP in the child, after its setpgid and before its exec,
		// with every signal blocked (so no SIGTTOU), on Ctty taken as a descriptor of this
		// process: the close-on-exec /dev/tty, which the command does not inherit. So the
		// command never runs in the background, even for its first read of the terminal.
		attr.Sys.Foreground = true
		attr.Sys.Ctty = s.tty.fd
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		if handover {
			_ = s.tty.setForeground(s.pgrp) // the child may have taken it before its exec failed
		}
		return nil, &ExecError{Path: path, Err: err}
	}
	return &Child{pid: pid}, nil
}

// Wait waits until c exits and returns its exit status, or 128+N when signal N killed it.
// Meanwhile it forwards every signal listed at forwarded to c, reaps every child of this
// process, orphans included, and in a terminal passes job control on between the shell and
// c (see jobcontrol_linux.go). When c has exited and its group has the terminal, the
// terminal goes back to this process's group. When ctx is done first, Wait returns
// ctx.Err() and leaves c running: the caller may signal it and Wait again.
func (s *Supervisor) Wait(ctx context.Context, c *Child) (status int, err error) {
	for {
		select {
		case sig := <-s.sigs:
			s.forward(c, sig.(syscall.Signal))
		case <-s.chld:
			if st, exited := s.reap(c); exited {
				s.tty.reclaim(c.pid, s.pgrp)
				return st, nil
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// forward passes a signal sent to the supervisor on to c.
func (s *Supervisor) forward(c *Child, sig syscall.Signal) {
	if sig == unix.SIGCONT && s.tty != nil {
		s.resume(c)
	} else {
		_ = c.Signal(sig) // ESRCH: c is gone and its exit is about to be reaped
	}
	if s.Forwarded != nil {
		s.Forwarded(sig)
	}
}

// reap collects every exited child without blocking and reports whether c was among them,
// with its status. In a terminal it also sees c stop (WUNTRACED), and follows; a stopped
// orphan is ignored.
func (s *Supervisor) reap(c *Child) (status int, exited bool) {
	flags := unix.WNOHANG
	if s.tty != nil {
		flags |= unix.WUNTRACED
	}
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, flags, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 { // ECHILD: no children left; 0: none has changed yet.
			return status, exited
		}
		if got != c.pid {
			continue
		}
		switch {
		case ws.Exited():
			status, exited = ws.ExitStatus(), true
		case ws.Signaled():
			status, exited = StatusSignaled(ws.Signal()), true
		case ws.Stopped():
			s.followStop(c, ws.StopSignal())
		}
	}
}
