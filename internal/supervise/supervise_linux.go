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

// forwarded returns the signals Run forwards to the child. It is built when Run starts, not
// at package init, so a start without --init does not pay for it. Every catchable signal is
// forwarded except:
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

// Run starts the command at path (argv[0] is passed as given, env is its whole environment)
// as a child with the supervisor's stdin, stdout and stderr, and waits for it. Meanwhile it
// forwards every signal listed at forwarded to the child and reaps every child of this process,
// including orphans reparented to it: when the process is not PID 1 it makes itself a child
// subreaper (PR_SET_CHILD_SUBREAPER) so orphans of the command come to it, outside containers
// too. It does not start goroutines of its own.
//
// The child runs in its own process group; when stdin is this process's controlling terminal
// that group is made the terminal's foreground group, so a Ctrl-C reaches the child once
// (and not through the supervisor a second time). Stopping an --init run with Ctrl-Z is not
// supported: it is meant for containers.
//
// It returns the child's exit status, or 128+N when the child was killed by signal N. If the
// command cannot be started, err is fork/exec's error as it is (an errno), for the caller to
// report and map to an exit status the way it does a failed exec. When ctx is done
// first the child is killed (SIGKILL) and reaped, and err is ctx.Err(); ctx must therefore
// not be one that a SIGTERM cancels (signal.NotifyContext), or the child would be killed
// instead of receiving the forwarded signal.
func Run(ctx context.Context, path string, argv, env []string) (status int, err error) {
	if len(argv) == 0 {
		return 125, errors.New("supervise: empty argv")
	}
	if os.Getpid() != 1 {
		// Best effort: without it, orphans go to the real init, which reaps them anyway.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}

	// Register before the child exists so no signal or exit is missed.
	sigs := make(chan os.Signal, 64)
	chld := make(chan os.Signal, 1) // one pending SIGCHLD is enough: each one reaps all.
	signal.Notify(sigs, forwarded()...)
	signal.Notify(chld, unix.SIGCHLD)
	defer signal.Stop(chld)
	defer signal.Stop(sigs)

	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	ourPgrp := unix.Getpgrp()
	tty := false
	if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && fg == ourPgrp {
		// stdin is our controlling terminal and we are in its foreground group: hand it over.
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
		tty = true
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return 0, err // the caller names the command and maps the errno, as for exec
	}
	// Only now: an ignored signal stays ignored across exec, the child must keep the default.
	signal.Ignore(unix.SIGTTIN, unix.SIGTTOU)
	defer signal.Reset(unix.SIGTTIN, unix.SIGTTOU)
	if tty {
		// Take the terminal back once the child is gone, so our own messages and the shell
		// that started us find it as they left it. SIGTTOU is ignored, so this cannot stop us.
		defer unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, ourPgrp)
	}

	done := ctx.Done()
	for {
		select {
		case s := <-sigs:
			// ESRCH: the child is gone and its exit is about to be reaped.
			_ = unix.Kill(pid, s.(syscall.Signal))
		case <-chld:
			if st, exited := reap(pid); exited {
				return st, ctx.Err() // nil unless ctx ended, killing the child or racing its exit
			}
		case <-done:
			done = nil
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// reap collects every exited child without blocking and reports whether pid was among them,
// with its status.
func reap(pid int) (status int, exited bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 { // ECHILD: no children left; 0: none has exited yet.
			return status, exited
		}
		if got == pid {
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
