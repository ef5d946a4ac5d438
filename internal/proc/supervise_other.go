//go:build !linux

package proc

import (
	"context"
	"errors"
	"syscall"
	"time"
)

var errUnsupported = errors.New("supervising a command is only supported on Linux")

// Supervisor is only implemented on Linux, where containers run; elsewhere Start fails.
type Supervisor struct {
	Forwarded   func(sig syscall.Signal, stops bool)
	StopSignal  syscall.Signal
	StopTimeout time.Duration
	Listeners   []*Listener
}

// Child is a command started by [Supervisor.Start].
type Child struct{}

func New() *Supervisor                          { return &Supervisor{} }
func (s *Supervisor) Close()                    {}
func (s *Supervisor) Stops(syscall.Signal) bool { return false }
func (s *Supervisor) Start(path string, argv, env []string) (*Child, error) {
	return nil, errUnsupported
}
func (s *Supervisor) Wait(ctx context.Context, c *Child) (int, error) {
	return StatusFailure, errUnsupported
}
func (s *Supervisor) Exited(c *Child) (int, bool)                     { return StatusFailure, true }
func (s *Supervisor) Stop(c *Child, keep ...*Child) (int, bool)       { return StatusFailure, false }
func (s *Supervisor) StopLeft(keep ...*Child) (int, bool)             { return 0, false }
func (s *Supervisor) Pause(c *Child, pause bool, keep ...*Child) bool { return false }
func (s *Supervisor) Pending() []syscall.Signal                       { return nil }
func (c *Child) Pid() int                                             { return 0 }
func (c *Child) Signal(sig syscall.Signal) error                      { return errUnsupported }
func (c *Child) SignalGroup(sig syscall.Signal) error                 { return errUnsupported }
