// Package supervise is secretexec's --init mode: it stays PID 1, runs the command as a child,
// forwards signals to it, reaps every zombie and reports the child's exit status.
package supervise

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
//   - SIGTTIN, SIGTTOU: terminal job control aimed at the supervisor itself (it is in the
//     background process group once the child owns the terminal); they are ignored here,
//     after the child is started so the child keeps the default action.
//   - SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGPIPE: they report the supervisor's
//     own faults (or its own write to a closed pipe); the Go runtime handles them. tini
//     excludes the same ones.
//   - 32 and 33: reserved by the C library's and Go's threading (Go uses 33 for
//     per-thread syscalls).
//   - SIGKILL, SIGSTOP: cannot be caught.
//
// SIGTSTP is forwarded (the supervisor never stops itself); SIGQUIT and SIGABRT are forwarded
// rather than dumping the supervisor's goroutines; real-time signals 34..64 are forwarded.
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

// Supervisor is the parent side of --init: the signal registrations and the child subreaper
// setting, held while it runs one command at a time. Run is Start and Wait once; a caller
// that replaces the command (a restart) calls them again on the same Supervisor. It does not
// start goroutines of its own.
type Supervisor struct {
	sigs    chan os.Signal // the forwarded signals
	chld    chan os.Signal // SIGCHLD; one pending is enough: each one reaps all
	pgrp    int            // this process's group
	started bool           // SIGTTIN and SIGTTOU are ignored once a child is started
}

// Child is a command started by [Supervisor.Start], in a process group of its own whose id
// is its pid.
type Child struct {
	pid  int
	ctty bool // its group was made the foreground group of stdin, the controlling terminal
}

// Pid returns the child's process id, which is also its process group's id.
func (c *Child) Pid() int { return c.pid }

// Signal sends sig to the child, not to its group. ESRCH means it has exited and is about to
// be reaped.
func (c *Child) Signal(sig syscall.Signal) error { return unix.Kill(c.pid, sig) }

// New prepares this process to supervise commands: it registers for the signals to forward
// and for SIGCHLD before any child exists, so that none is missed, makes itself a child
// subreaper (PR_SET_CHILD_SUBREAPER) when it is not PID 1, so that orphans of the command
// come to it outside containers too. Close undoes it.
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
	signal.Notify(s.sigs, forwarded()...)
	signal.Notify(s.chld, unix.SIGCHLD)
	return s
}

// Close stops the signal registrations. The subreaper setting stays.
func (s *Supervisor) Close() {
	if s.started {
		signal.Reset(unix.SIGTTIN, unix.SIGTTOU)
	}
	signal.Stop(s.chld)
	signal.Stop(s.sigs)
}

// Start starts the command at path (argv[0] is passed as given, env is its whole environment)
// with this process's stdin, stdout and stderr, in a process group of its own. When stdin is
// this process's controlling terminal that group is made the terminal's foreground group,
// so a Ctrl-C reaches the child once (and not through the supervisor a second time).
// Stopping an --init run with Ctrl-Z is not supported: it is meant for containers. If the
// command cannot be started, err is fork/exec's error as it is (an errno), for the caller to
// report and map to an exit status the way it does a failed exec.
func (s *Supervisor) Start(path string, argv, env []string) (*Child, error) {
	if len(argv) == 0 {
		return nil, errors.New("supervise: empty argv")
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	tty := false
	if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && fg == s.pgrp {
		// stdin is our controlling terminal and we are in its foreground group: hand it over.
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
		tty = true
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return nil, err
	}
	if !s.started {
		// Only now: an ignored signal stays ignored across exec, the child must keep the default.
		signal.Ignore(unix.SIGTTIN, unix.SIGTTOU)
		s.started = true
	}
	return &Child{pid: pid, ctty: tty}, nil
}

// Wait waits until c exits and returns its exit status, or 128+N when signal N killed it.
// Meanwhile it forwards every signal listed at forwarded to c and reaps every child of this
// process, orphans included. When c has exited and had been given the terminal, the terminal
// goes back to this process's group, so that our own messages and the shell that started us
// find it as they left it (SIGTTOU is ignored, so this cannot stop us). When ctx is done
// first, Wait returns ctx.Err() and leaves c running: the caller may signal it and Wait
// again.
func (s *Supervisor) Wait(ctx context.Context, c *Child) (status int, err error) {
	for {
		select {
		case sig := <-s.sigs:
			_ = c.Signal(sig.(syscall.Signal)) // ESRCH: c is gone and its exit is about to be reaped
		case <-s.chld:
			if st, exited := reap(c); exited {
				if c.ctty {
					_ = unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, s.pgrp)
				}
				return st, nil
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// reap collects every exited child without blocking and reports whether c was among them,
// with its status.
func reap(c *Child) (status int, exited bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 { // ECHILD: no children left; 0: none has exited yet.
			return status, exited
		}
		if got == c.pid {
			exited = true
			switch {
			case ws.Exited():
				status = ws.ExitStatus()
			case ws.Signaled():
				status = 128 + int(ws.Signal())
			}
		}
	}
}

// Run starts the command and waits for it: [Supervisor.Start] and [Supervisor.Wait] once,
// on a Supervisor of its own. It returns the child's exit status, or 128+N when the child
// was killed by signal N. If the command cannot be started, err is fork/exec's error as it
// is. When ctx is done first the child is killed (SIGKILL) and reaped, and err is ctx.Err();
// ctx must therefore not be one that a SIGTERM cancels (signal.NotifyContext), or the child
// would be killed instead of receiving the forwarded signal.
func Run(ctx context.Context, path string, argv, env []string) (status int, err error) {
	if len(argv) == 0 {
		return 125, errors.New("supervise: empty argv")
	}
	s := New()
	defer s.Close()
	c, err := s.Start(path, argv, env)
	if err != nil {
		return 0, err // the caller names the command and maps the errno, as for exec
	}
	if status, err = s.Wait(ctx, c); err != nil {
		_ = c.Signal(unix.SIGKILL)
		status, _ = s.Wait(context.Background(), c)
	}
	return status, ctx.Err() // nil unless ctx ended, killing the child or racing its exit
}
