//go:build !linux

// Package supervise is secretexec's --init mode: it stays PID 1, runs the command as a child,
// forwards signals to it, reaps every zombie and reports the child's exit status.
package supervise

import (
	"context"
	"errors"
)

// Run is only implemented on Linux, where containers run; elsewhere it fails with status 125.
func Run(ctx context.Context, path string, argv, env []string) (status int, err error) {
	return 125, errors.New("--init is only supported on linux")
}
