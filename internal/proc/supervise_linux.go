package proc

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

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
// setting and the controlling terminal, held while it runs commands. A caller that replaces
// the command (a restart) calls them again on the same Supervisor, which keeps the terminal
// and the shell's job control right across commands. It does not start goroutines of its
// own.
type Supervisor struct {
	// Forwarded, when set, is told each signal Wait has passed on to the command, after
	// passing it on, and whether it was one that stops the command (see Stops): how a
	// caller that restarts commands learns it is being stopped.
	Forwarded func(sig syscall.Signal, stops bool)
	// StopSignal and StopTimeout are how a command is stopped (--stop-signal,
	// --stop-timeout): the signal to its whole tree, SIGKILL to what is left after the
	// timeout. New sets SIGTERM and 10s.
	StopSignal  syscall.Signal
	StopTimeout time.Duration
	// Listeners are passed to every command started, as fds 3, 4, ... (see listen.go).
	Listeners []*Listener

	sigs    chan os.Signal   // the forwarded signals
	chld    chan os.Signal   // SIGCHLD; one pending is enough: each one reaps all
	pipe    chan os.Signal   // SIGPIPE, caught and dropped: see New
	pending []syscall.Signal // forwarded signals that came while no command ran
	live    map[int]*Child   // started and not yet reaped
	tty     *terminal        // the controlling terminal; nil without one
	pgrp    int              // this process's group: the job the shell knows
}

// Child is a command started by [Supervisor.Start], in a process group of its own whose id
// is its pid.
type Child struct {
	pid    int
	done   bool      // reaped, with status
	status int       // its exit status, or 128+N
	killAt time.Time // a stop signal was passed on to it: SIGKILL to its tree at this time
	killed bool      // SIGKILL was sent
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
//
// SIGPIPE is caught and dropped, for good: the Go runtime ends a program whose write to
// fd 1 or 2 meets a closed pipe unless SIGPIPE is notified, and a supervisor whose log
// collector went away must keep supervising (its writes then fail, and are ignored). Caught,
// not ignored: a caught signal is reset to its default action by execve, an ignored one
// would be inherited by every command started.
func New() *Supervisor {
	if os.Getpid() != 1 {
		// Best effort: without it, orphans go to the real init, which reaps them anyway.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	s := &Supervisor{
		StopSignal:  unix.SIGTERM,
		StopTimeout: 10 * time.Second,
		sigs:        make(chan os.Signal, 64),
		chld:        make(chan os.Signal, 1),
		pipe:        make(chan os.Signal, 1),
		live:        make(map[int]*Child),
		pgrp:        unix.Getpgrp(),
	}
	signal.Notify(s.pipe, unix.SIGPIPE)
	signal.Notify(s.sigs, withoutIgnored(forwarded())...) // an inherited ignore stays (ignored.go)
	signal.Notify(s.chld, unix.SIGCHLD)
	s.tty = openTerminal()
	return s
}

// Close stops the signal registrations and closes the terminal. The subreaper setting and
// the SIGPIPE catch stay: secretexec's last words may go to a closed pipe too.
func (s *Supervisor) Close() {
	signal.Stop(s.chld)
	signal.Stop(s.sigs)
	s.tty.close()
}

// Stops reports whether sig, sent to secretexec, stops the command: SIGTERM, SIGINT,
// SIGQUIT and the stop signal. Those go to the command's whole tree, with SIGKILL after
// the stop timeout. Any other signal (SIGHUP, SIGUSR1, ...) goes to the command alone, as
// the command's business: it may reload, rotate its logs, or end; which, only its exit says.
func (s *Supervisor) Stops(sig syscall.Signal) bool {
	switch sig {
	case unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, s.StopSignal:
		return true
	}
	return false
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
	files := []uintptr{0, 1, 2}
	if len(s.Listeners) > 0 {
		path, argv, env, files = listenStart(s.Listeners, path, argv, env)
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: files,
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
	c := &Child{pid: pid}
	s.live[pid] = c
	return c, nil
}

// Wait waits until c exits and returns its exit status, or 128+N when signal N killed it.
// Meanwhile it forwards every signal listed at forwarded to c (a stop signal to its whole
// tree, with SIGKILL after the stop timeout: see Stops), reaps every child of this process,
// orphans included, and in a terminal passes job control on between the shell and c (see
// jobcontrol_linux.go). When c has exited and its group has the terminal, the terminal goes
// back to this process's group. When ctx is done first, Wait returns ctx.Err() and leaves c
// running: the caller may signal it and Wait again.
func (s *Supervisor) Wait(ctx context.Context, c *Child) (status int, err error) {
	for !c.done {
		kill, stop := c.killTimer()
		select {
		case sig := <-s.sigs:
			s.forward(c, sig.(syscall.Signal))
		case <-s.chld:
			s.reap()
		case <-kill:
			c.killed = true
			s.signalTree(c, unix.SIGKILL, s.others(c))
		case <-ctx.Done():
			stop()
			return 0, ctx.Err()
		}
		stop()
	}
	s.tty.reclaim(c.pid, s.pgrp)
	return c.status, nil
}

// killTimer fires when c is due for SIGKILL, or never.
func (c *Child) killTimer() (<-chan time.Time, func() bool) {
	if c.killAt.IsZero() || c.killed {
		return nil, func() bool { return false }
	}
	t := time.NewTimer(time.Until(c.killAt))
	return t.C, t.Stop
}

// Exited reaps what has exited and reports whether c has, with its status, without waiting.
func (s *Supervisor) Exited(c *Child) (status int, exited bool) {
	s.reap()
	return c.status, c.done
}

// Pending returns the signals that came while no Wait or Stop was forwarding them (between
// one command's end and the next one's start), and forgets them.
func (s *Supervisor) Pending() []syscall.Signal {
	for {
		select {
		case sig := <-s.sigs:
			s.pending = append(s.pending, sig.(syscall.Signal))
		default:
			p := s.pending
			s.pending = nil
			return p
		}
	}
}

// Stop stops c and everything it started, and returns once none of it is left, with c's
// status: the stop signal to c's process group and to each of its descendants outside the
// group, SIGKILL to all that is left after the stop timeout; a process of c's that is still
// there once c has exited (re-parented to this process) is stopped the same way before Stop
// returns. The commands in keep, their process groups and their descendants are left alone
// (the new command, during a start-first restart). Signals that arrive meanwhile are
// forwarded to the first command in keep, the one that stays, or without keep to c while it
// runs; later ones wait for Pending. killed says SIGKILL was needed.
func (s *Supervisor) Stop(c *Child, keep ...*Child) (status int, killed bool) {
	killed = s.stopTree(c, keep)
	s.tty.reclaim(c.pid, s.pgrp)
	return c.status, killed
}

// StopLeft stops whatever is left of the commands' processes once they have exited (a
// daemon a command started, a group member that outlived it), except the commands in keep
// and theirs, as Stop does: the stop signal, SIGKILL after the stop timeout. It returns how
// many processes there were.
func (s *Supervisor) StopLeft(keep ...*Child) (found int, killed bool) {
	found = len(outside(keep))
	if found == 0 {
		return 0, false
	}
	return found, s.stopTree(nil, keep)
}

// stopTree is Stop, for c or (nil) for the processes left over.
func (s *Supervisor) stopTree(c *Child, keep []*Child) (killed bool) {
	sig := s.StopSignal
	sent := make(map[int]bool)
	group := false
	if c != nil && !c.done {
		group = unix.Kill(-c.pid, sig) == nil
	}
	timer := time.NewTimer(s.StopTimeout)
	defer timer.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.reap()
		left := outside(keep)
		if (c == nil || c.done) && len(left) == 0 {
			return killed
		}
		for _, st := range left {
			switch {
			case killed:
				_ = unix.Kill(st.pid, unix.SIGKILL)
			case sent[st.pid] || (group && st.pgrp == c.pid):
			default:
				// Outside the group (setsid), or forked after the group's signal.
				_ = unix.Kill(st.pid, sig)
			}
			sent[st.pid] = true
		}
		to := forwardTo(c, keep)
		sigs := s.sigs
		if to == nil {
			sigs = nil // no command to pass them to: they wait for Pending
		}
		select {
		case got := <-sigs:
			s.forward(to, got.(syscall.Signal))
		case <-s.chld:
		case <-tick.C:
		case <-timer.C:
			killed = true
			if c != nil {
				c.killed = true
				if !c.done {
					_ = unix.Kill(-c.pid, unix.SIGKILL)
				}
			}
			for _, st := range outside(keep) {
				_ = unix.Kill(st.pid, unix.SIGKILL)
			}
		}
	}
}

// forwardTo is the command a signal that arrives during a stop of c goes to: the first
// command in keep, which stays (the new command of a start-first restart, or the old one
// while a rejected new one is stopped), while it runs; else c while it runs; else none.
// A signal passed on to c, which is going, would be lost to the command that stays.
func forwardTo(c *Child, keep []*Child) *Child {
	switch {
	case len(keep) > 0:
		if !keep[0].done {
			return keep[0]
		}
	case c != nil && !c.done:
		return c
	}
	return nil
}

// Pause stops (SIGSTOP) or, with pause false, continues (SIGCONT) c's whole tree, but the
// commands in keep and theirs: while the old command of a start-first restart is paused, only
// the new one accepts on a shared socket, so a health check through it judges the new one.
// It does nothing, and reports false, in a terminal, where a stopped child is the shell's
// business (see jobcontrol_linux.go).
func (s *Supervisor) Pause(c *Child, pause bool, keep ...*Child) bool {
	if s.tty != nil || c.done {
		return false
	}
	sig := unix.SIGCONT
	if pause {
		sig = unix.SIGSTOP
	}
	s.signalTree(c, sig, keep)
	return true
}

// signalTree sends sig to c's process group and to every process of c's outside it: every
// descendant of this process but the commands in keep and theirs.
func (s *Supervisor) signalTree(c *Child, sig syscall.Signal, keep []*Child) {
	group := !c.done && unix.Kill(-c.pid, sig) == nil
	for _, st := range outside(keep) {
		if !group || st.pgrp != c.pid {
			_ = unix.Kill(st.pid, sig)
		}
	}
}

// others is every command started and not reaped but c.
func (s *Supervisor) others(c *Child) []*Child {
	var out []*Child
	for _, o := range s.live {
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

// forward passes a signal sent to the supervisor on to c: a stop signal to its whole tree
// (see Stops), SIGKILL to follow after the stop timeout.
func (s *Supervisor) forward(c *Child, sig syscall.Signal) {
	stops := s.Stops(sig)
	switch {
	case sig == unix.SIGCONT && s.tty != nil:
		s.resume(c)
	case stops:
		s.signalTree(c, sig, s.others(c))
		if c.killAt.IsZero() {
			c.killAt = time.Now().Add(s.StopTimeout)
		}
	default:
		_ = c.Signal(sig) // ESRCH: c is gone and its exit is about to be reaped
	}
	if s.Forwarded != nil {
		s.Forwarded(sig, stops)
	}
}

// reap collects every exited child without blocking and records the exit of each command
// among them: each command by its pid, then the orphans re-parented to this process. A
// helper this process runs itself (see ownHelper) is left to os/exec, which waits for it: so
// no wait for any child (-1). In a terminal it also sees a command stop (WUNTRACED), and
// follows; a stopped orphan is ignored.
func (s *Supervisor) reap() {
	flags := unix.WNOHANG
	if s.tty != nil {
		flags |= unix.WUNTRACED
	}
	for pid, c := range s.live {
		for !c.done {
			var ws unix.WaitStatus
			got, err := unix.Wait4(pid, &ws, flags, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || got <= 0 { // 0: it has not changed yet
				break
			}
			switch {
			case ws.Exited():
				c.status, c.done = ws.ExitStatus(), true
			case ws.Signaled():
				c.status, c.done = StatusSignaled(ws.Signal()), true
			case ws.Stopped():
				s.followStop(c, ws.StopSignal())
			}
		}
		if c.done {
			delete(s.live, pid)
		}
	}
	for _, pid := range orphanZombies(s.live, s.pgrp) {
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); !errors.Is(err, unix.EINTR) {
				break
			}
		}
	}
}
