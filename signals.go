package main

import (
	"os"
	"os/signal"
	"sync"
)

// asyncSignals is signal.Notify and signal.Stop off the start-up's critical path. Each
// signal enabled or disabled is a round trip to the thread the runtime dedicates to signal
// masks (started by the first Notify): 0.5 to 1.5 ms for the two calls on a small VM, a
// tenth of secretexec's own start-up. Registering runs alongside reading the
// configuration; deregistering alongside the command checks.
//
// Until registration completes a signal has the runtime's default action, as during package
// initialisation before it: secretexec ends, and the command is never started. Once
// deregistration has begun, a signal is either caught (delivered on C: the caller sees it
// before exec) or has the default action; it is never lost.
type asyncSignals struct {
	C          chan os.Signal
	registered chan struct{}
	stopped    chan struct{}
	stopOnce   sync.Once
}

func notifyAsync(sigs ...os.Signal) *asyncSignals {
	a := &asyncSignals{C: make(chan os.Signal, 1), registered: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		signal.Notify(a.C, sigs...)
		close(a.registered)
	}()
	return a
}

// stopAsync begins deregistering; stop waits until it is done.
func (a *asyncSignals) stopAsync() {
	a.stopOnce.Do(func() {
		go func() {
			<-a.registered
			signal.Stop(a.C)
			close(a.stopped)
		}()
	})
}

// stop deregisters and returns when no signal can be delivered on C any more.
func (a *asyncSignals) stop() {
	a.stopAsync()
	<-a.stopped
}
