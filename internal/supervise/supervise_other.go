//go:build !linux

// Package supervise is secretexec's --init mode: it stays PID 1, runs the command as a child,
// forwards signals to it, reaps every zombie and reports the child's exit status; in a
// terminal it keeps the shell's job control working as it does for an exec'd command.
package supervise

import (
	"context"
	"errors"
	"syscall"
)

var errUnsupported = errors.New("--init is only supported on linux")

// Supervisor is only implemented on Linux, where containers run; elsewhere Start fails.
type Supervisor struct{ Forwarded func(syscall.Signal) }

// Child is a command started by [Supervisor.Start].
type Child struct{}

func New() *Supervisor       { return &Supervisor{} }
func (s *Supervisor) Close() {}
func (s *Supervisor) Start(path string, argv, env []string) (*Child, error) {
	return nil, errUnsupported
}
func (s *Supervisor) Wait(ctx context.Context, c *Child) (int, error) { return 125, errUnsupported }
func (c *Child) Pid() int                                             { return 0 }
func (c *Child) Signal(sig syscall.Signal) error                      { return errUnsupported }
func (c *Child) SignalGroup(sig syscall.Signal) error                 { return errUnsupported }

// Run is only implemented on Linux, where containers run; elsewhere it fails with status 125.
func Run(ctx context.Context, path string, argv, env []string) (status int, err error) {
	return 125, errUnsupported
}
