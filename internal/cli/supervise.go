package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/internal/proc"
	"github.com/secretexec/secretexec/internal/watch"
)

// supervise starts the command as a child (--init, --watch), says which signals were held
// while fetching, and supervises it until it exits; with --watch, the watch loop does, checking the
// sources meanwhile.
func (s *start) supervise(ctx context.Context, sv *proc.Supervisor) (int, error) {
	c := s.c
	s.lg.verbosef("start %s as a child (--init)", s.path)
	sv.StopSignal, sv.StopTimeout = c.stopSignal, c.stopTimeout
	sv.Listeners = s.listeners
	child, err := sv.Start(s.path, c.command, s.fx.merged)
	if err != nil {
		return 0, err
	}
	// Whatever the command leaves behind when it ends (a daemon it started, a member of its
	// group) is stopped before secretexec exits, as docker stop would.
	defer func() {
		if n, killed := sv.StopLeft(); n > 0 {
			how := proc.SignalName(c.stopSignal)
			if killed {
				how += ", then SIGKILL"
			}
			what := "1 process"
			if n > 1 {
				what = fmt.Sprintf("%d processes", n)
			}
			s.lg.verbosef("the command left %s running: stopped (%s)", what, how)
		}
	}()
	for _, sig := range s.ints.Held() {
		// Sent now, it would reach the command before it could have a handler and end it:
		// the command starts afresh instead, which is what reopen-logs and reload ask.
		s.lg.warnf("%s arrived before the command started: not delivered to it, which has just started afresh (docs/signals.md)", proc.SignalName(sig))
	}
	if c.watch == 0 || s.f == nil {
		if c.watch > 0 {
			s.lg.warnf("--watch: nothing to watch")
		}
		status, _ := sv.Wait(ctx, child)
		return status, nil
	}
	cfg := watch.Config{
		Every:       c.watch,
		Action:      c.onChange.action,
		Signal:      c.onChange.sig,
		StopSignal:  c.stopSignal,
		StopTimeout: c.stopTimeout,
		What:        watched(c, s.refs),
		Output:      c.output,
		Check:       s.check,
		StartFirst:  c.startFirst(),
		PauseOld:    len(c.listen) > 0,
		Clock:       watch.RealClock{},
		Rand:        rand.Int64N,
		Log:         watchLog{s.lg},
	}
	if c.health != nil {
		cfg.Health = c.health.Probe
		cfg.HealthCheck = c.health.String()
		cfg.HealthTimeout = c.healthTimeout
		cfg.HealthEvery = 100 * time.Millisecond
		if len(c.listen) > 0 {
			// Each probe pauses the old command for up to watch.PauseProbe: at most about
			// half the time, however long a failing new command takes to be given up.
			cfg.HealthEvery = 400 * time.Millisecond
		}
	}
	if c.startFirst() && len(c.listen) == 0 {
		s.lg.warnf("--restart-order start-first without --listen: the new command must bind its port beside the old one (SO_REUSEPORT), or it fails to start")
	}
	if c.output != "" {
		cfg.Commit = func(ctx context.Context, st watch.State) error {
			// The fetched names are From's: every variable a source or reference set.
			names := make([]string, 0, len(st.From))
			for name := range st.From {
				names = append(names, name)
			}
			_, err := writeOutput(ctx, c, st.Env, names)
			return err
		}
	}
	first := watch.State{Env: s.fx.merged, Path: s.path, From: s.fx.from}
	return watch.Run(ctx, cfg, supervisor{sv: sv, argv: c.command}, child, first), nil
}

// check fetches everything again, as at start, within --timeout, checks the required names
// and resolves the command in the new environment: what would stop the new command from
// starting is a failed check too, and the running one is kept.
func (s *start) check(ctx context.Context) (watch.State, error) {
	c := s.c
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	fx, err := s.fetchMerge(ctx, nil)
	if err != nil {
		return watch.State{}, timeoutErr(ctx, c, err)
	}
	// A change after which a required name would be missing is not applied.
	if _, err := s.requireState(fx); err != nil {
		return watch.State{}, err
	}
	path, err := checkCommand(c.command, fx.merged)
	if err != nil {
		return watch.State{}, err
	}
	return watch.State{Env: fx.merged, Path: path, From: fx.from}, nil
}

// supervisor is *proc.Supervisor as the watch loop sees it, for one command line.
type supervisor struct {
	sv   *proc.Supervisor
	argv []string
}

func (a supervisor) Start(path string, env []string) (watch.Process, error) {
	child, err := a.sv.Start(path, a.argv, env)
	if err != nil {
		return nil, err
	}
	return child, nil
}

func (a supervisor) Wait(ctx context.Context, p watch.Process) (int, error) {
	return a.sv.Wait(ctx, p.(*proc.Child))
}

func (a supervisor) Exited(p watch.Process) (int, bool) { return a.sv.Exited(p.(*proc.Child)) }

func (a supervisor) Stop(p watch.Process, keep ...watch.Process) (int, bool) {
	kept := make([]*proc.Child, len(keep))
	for i, k := range keep {
		kept[i] = k.(*proc.Child)
	}
	return a.sv.Stop(p.(*proc.Child), kept...)
}

func (a supervisor) Pending() []syscall.Signal { return a.sv.Pending() }

func (a supervisor) Pause(p watch.Process, pause bool, keep watch.Process) bool {
	return a.sv.Pause(p.(*proc.Child), pause, keep.(*proc.Child))
}

func (a supervisor) Stops(sig syscall.Signal) bool { return a.sv.Stops(sig) }

func (a supervisor) OnForward(f func(syscall.Signal, bool)) { a.sv.Forwarded = f }
