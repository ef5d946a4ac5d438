package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interruptSignals stop secretexec before the command starts; the exit status is then 128+N.
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// interrupts catches interruptSignals until the command is about to start: the first one
// cancels the fetch, and caught says which it was.
type interrupts struct {
	sigs *asyncSignals
	got  chan os.Signal // the relay's catch, put back by caught for the next look
	quit chan struct{}
	done chan struct{}
}

func catchInterrupts(cancel context.CancelFunc) *interrupts {
	in := &interrupts{
		sigs: notifyAsync(interruptSignals...),
		got:  make(chan os.Signal, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go func() {
		defer close(in.done)
		select {
		case s := <-in.sigs.C:
			in.got <- s
			cancel()
		case <-in.quit:
		}
	}()
	return in
}

// caught reports the signal that arrived, if one did. A signal the relay has not taken yet
// is still on sigs.C, so both are looked at.
func (in *interrupts) caught() (syscall.Signal, bool) {
	var s os.Signal
	select {
	case s = <-in.got:
	case s = <-in.sigs.C:
	default:
		return 0, false
	}
	in.got <- s
	return s.(syscall.Signal), true
}

// stopAsync begins deregistering; a signal from then on is either caught or has its default
// action (secretexec ends with 128+N), never lost.
func (in *interrupts) stopAsync() { in.sigs.stopAsync() }

// stop deregisters and stops the relay, so that no signal is in its hands when stop
// returns: one that arrived is seen by caught.
func (in *interrupts) stop() {
	in.sigs.stop()
	select {
	case <-in.quit:
	default:
		close(in.quit)
	}
	<-in.done
}

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
