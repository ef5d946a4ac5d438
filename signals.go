package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
)

// stopSignals stop secretexec before the command starts: the fetch is cancelled, nothing
// is run, and the exit status is 128+N.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// heldSignals are the command's: their default action ends a process, and the Go runtime
// ignores them unless asked, so without catching them a start would lose them silently.
// Before the command starts, exec mode stops with 128+N, as the command would have ended
// had it been running without a handler; --init holds them and delivers them to the
// command once it has started.
var heldSignals = []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGPIPE}

// interrupts catches stopSignals and heldSignals from secretexec's first instruction in run
// until the command is about to start. The first signal that stops secretexec cancels the
// fetch; caught says which it was, held what --init is to deliver.
//
// Registration starts before anything else, beside the reading of the configuration, and
// is done before the first request to AWS (ready): until it is done a signal has the Go
// runtime's default action (SIGTERM ends secretexec with no message, status 2 as PID 1;
// SIGUSR1 is ignored). What is left of that window is process start, package
// initialisation and the registration itself (README, "PID 1 and signals").
type interrupts struct {
	c       chan os.Signal
	cancel  context.CancelFunc
	quit    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	// registered is closed once the signals are registered. Registering starts first thing
	// and runs beside the configuration's reading rather than before it: each signal is a
	// round trip to the runtime's signal-mask thread (bench/README.md, change 13).
	registered chan struct{}
	once       sync.Once

	mu      sync.Mutex
	hold    bool      // --init: held signals wait for the command
	stopper os.Signal // the signal that stopped secretexec, if one did
	held    []os.Signal
}

// signalsCaught, when tests set it, is called once catchInterrupts has registered: from then
// on a stopping signal gives 128+N.
var signalsCaught func()

func catchInterrupts(cancel context.CancelFunc) *interrupts {
	in := &interrupts{
		c:          make(chan os.Signal, 16),
		cancel:     cancel,
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		stopped:    make(chan struct{}),
		registered: make(chan struct{}),
	}
	go func() {
		signal.Notify(in.c, append(slices.Clip(stopSignals), heldSignals...)...)
		if signalsCaught != nil {
			signalsCaught()
		}
		close(in.registered)
		in.relay()
	}()
	return in
}

// ready returns once the signals are registered: run waits for it before the first request
// to AWS.
func (in *interrupts) ready() { <-in.registered }

func (in *interrupts) relay() {
	defer close(in.done)
	for {
		select {
		case s := <-in.c:
			in.take(s)
		case <-in.quit:
			for { // what arrived before deregistration
				select {
				case s := <-in.c:
					in.take(s)
				default:
					return
				}
			}
		}
	}
}

func (in *interrupts) take(s os.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.stopper != nil:
	case in.hold && !slices.Contains(stopSignals, s):
		if !slices.Contains(in.held, s) { // pending signals of one kind are one, as in the kernel
			in.held = append(in.held, s)
		}
	default:
		in.stopper = s
		in.cancel()
	}
}

// holdForCommand makes held signals wait for the command (--init) instead of stopping
// secretexec; set once the configuration is known.
func (in *interrupts) holdForCommand() {
	in.mu.Lock()
	in.hold = true
	in.mu.Unlock()
}

// caught reports the signal that stopped secretexec, if one did. Once stop has returned it
// is final: no signal is in the relay's hands any more.
func (in *interrupts) caught() (syscall.Signal, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopper == nil {
		return 0, false
	}
	return in.stopper.(syscall.Signal), true
}

// heldForCommand is the held signals, in the order they first arrived.
func (in *interrupts) heldForCommand() []os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.held)
}

// stopAsync begins deregistering, off the critical path (each signal is a round trip to the
// runtime's signal-mask thread); a signal from then on is either caught or has its default
// action, never lost.
func (in *interrupts) stopAsync() {
	in.once.Do(func() {
		go func() {
			<-in.registered
			signal.Stop(in.c)
			close(in.stopped)
		}()
	})
}

// stop deregisters and stops the relay: when it returns, every signal that was caught has
// been taken, so caught and heldForCommand are final.
func (in *interrupts) stop() {
	in.stopAsync()
	<-in.stopped
	select {
	case <-in.quit:
	default:
		close(in.quit)
	}
	<-in.done
}
