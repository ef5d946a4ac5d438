package proc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// --listen: sockets bound once, before the first command starts, and handed to every
// command with systemd's socket-activation protocol (sd_listen_fds(3)): the sockets as
// file descriptors 3, 4, ..., LISTEN_FDS their number, LISTEN_FDNAMES their names, and
// LISTEN_PID the pid of the process they are meant for. While no command accepts
// (between a stop and the next start) connections wait in the socket's backlog instead of
// being refused, and during a start-first restart both commands accept on them.

// Listener is one --listen socket.
type Listener struct {
	Addr string   // as given: tcp://HOST:PORT or unix:///path
	Name string   // its LISTEN_FDNAMES entry
	f    *os.File // the listening socket, close-on-exec in this process
	fd   int      // f's descriptor
}

// ParseListen reads a --listen address: its network ("tcp" or "unix") and address.
func ParseListen(s string) (network, address string, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	switch {
	case ok && scheme == "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || port == "" || strings.ContainsAny(rest, "/?#@") {
			return "", "", errors.New("a tcp address is tcp://HOST:PORT (tcp://:8000 for every address)")
		}
		return "tcp", net.JoinHostPort(host, port), nil
	case ok && scheme == "unix":
		if !strings.HasPrefix(rest, "/") || len(rest) < 2 || strings.ContainsRune(rest, 0) {
			return "", "", errors.New("a unix address is unix:///absolute/path")
		}
		return "unix", rest, nil
	}
	return "", "", errors.New("an address to listen on is tcp://HOST:PORT or unix:///path")
}

// fdName is what LISTEN_FDNAMES may hold: printable ASCII without ':', at most 255 bytes.
func fdName(addr string) string {
	var b strings.Builder
	for _, r := range strings.Replace(addr, "://", "-", 1) {
		if r <= ' ' || r > '~' || r == ':' {
			r = '_'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

// Listen binds and listens on every address, in order. A unix socket file left by an
// earlier run is replaced; any other file at the path is an error.
func Listen(addrs []string) ([]*Listener, error) {
	var out []*Listener
	fail := func(err error) ([]*Listener, error) {
		CloseListeners(out)
		return nil, err
	}
	for _, a := range addrs {
		network, address, err := ParseListen(a)
		if err != nil {
			return fail(err)
		}
		if network == "unix" {
			if fi, err := os.Lstat(address); err == nil {
				if fi.Mode().Type() != os.ModeSocket {
					return fail(fmt.Errorf("listen on %s: the path exists and is not a socket", a))
				}
				_ = os.Remove(address)
			}
		}
		l, err := net.Listen(network, address)
		if err != nil {
			return fail(fmt.Errorf("listen on %s: %w", a, err))
		}
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false) // the socket outlives this listener: it is the dup's
		}
		f, err := l.(interface{ File() (*os.File, error) }).File()
		l.Close()
		if err != nil {
			return fail(fmt.Errorf("listen on %s: %w", a, err))
		}
		// Blocking mode, as a socket from systemd, set once, now: the mode belongs to the
		// socket, shared by every command holding it, and a running command sets the mode
		// it wants (os.File.Fd would set it again, under a command's feet, at each start).
		lf := &Listener{Addr: a, Name: fdName(a), f: f, fd: -1}
		if rc, err := f.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { lf.fd = int(fd) })
		}
		if lf.fd < 0 || unix.SetNonblock(lf.fd, false) != nil {
			f.Close()
			return fail(fmt.Errorf("listen on %s: cannot prepare the socket", a))
		}
		out = append(out, lf)
	}
	return out, nil
}

// CloseListeners closes the sockets.
func CloseListeners(ls []*Listener) {
	for _, l := range ls {
		l.f.Close()
	}
}

// The command's own pid is only known after fork, and the Go runtime runs nothing between
// fork and exec. So with --listen the child is secretexec itself (/proc/self/exe) in a
// hidden mode, given listenExecArg and listenExecVar together: it sets LISTEN_PID to its
// own pid and execs the command, which keeps that pid. Neither marker alone does anything,
// and the variable is in secretexec's own SECRETEXEC_ namespace, removed from commands.
const (
	listenExecArg = "--secretexec-internal-listen-exec-v1"
	listenExecVar = "SECRETEXEC_INTERNAL_LISTEN_EXEC=1"
)

// ListenExec is the hidden mode: when args (the command line after argv[0]) and environ
// say so, it execs the command with LISTEN_PID set, and returns only on failure, with
// the exit status; handled is false for any other start.
func ListenExec(args, environ []string) (status int, handled bool) {
	if len(args) < 3 || args[0] != listenExecArg {
		return 0, false
	}
	env := make([]string, 0, len(environ)+1)
	marked := false
	for _, kv := range environ {
		switch {
		case kv == listenExecVar:
			marked = true
		case strings.HasPrefix(kv, "LISTEN_PID="):
		default:
			env = append(env, kv)
		}
	}
	if !marked {
		return 0, false
	}
	env = append(env, fmt.Sprintf("LISTEN_PID=%d", os.Getpid()))
	err := Exec(args[1], args[2:], env)
	fmt.Fprintf(os.Stderr, "secretexec: error: %v\n", err)
	return Status(err), true
}

// listenStart is how Start runs a command with the sockets: the path, argv and env of the
// hidden mode, and the descriptors for fds 3, 4, ...
func listenStart(ls []*Listener, path string, argv, env []string) (string, []string, []string, []uintptr) {
	names := make([]string, len(ls))
	files := []uintptr{0, 1, 2}
	for i, l := range ls {
		names[i] = l.Name
		files = append(files, uintptr(l.fd))
	}
	e := make([]string, 0, len(env)+3)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "LISTEN_FDS=") && !strings.HasPrefix(kv, "LISTEN_FDNAMES=") && !strings.HasPrefix(kv, "LISTEN_PID=") {
			e = append(e, kv)
		}
	}
	e = append(e, fmt.Sprintf("LISTEN_FDS=%d", len(ls)), "LISTEN_FDNAMES="+strings.Join(names, ":"), listenExecVar)
	self := "secretexec"
	if len(os.Args) > 0 {
		self = os.Args[0] // what a multi-call test binary dispatches on
	}
	a := append([]string{self, listenExecArg, path}, argv...)
	return "/proc/self/exe", a, e, files
}
