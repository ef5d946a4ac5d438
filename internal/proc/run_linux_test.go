package proc

import (
	"context"

	"golang.org/x/sys/unix"
)

// runOnce starts a command and waits for it, as the tests use a Supervisor: Start and Wait once,
// on a Supervisor of its own. It returns the child's exit status, or 128+N when the child
// was killed by signal N. If the command cannot be started, err is fork/exec's error as it
// is. When ctx is done first the child is killed (SIGKILL) and reaped, and err is ctx.Err();
// ctx must therefore not be one that a SIGTERM cancels (signal.NotifyContext), or the child
// would be killed instead of receiving the forwarded signal.
func runOnce(ctx context.Context, path string, argv, env []string) (status int, err error) {
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
