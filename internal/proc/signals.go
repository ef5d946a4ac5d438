package proc

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// StopSignals stop secretexec before the command starts: the fetch is cancelled, nothing
// is run, and the exit status is 128+N.
var StopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// HeldSignals are the command's: their default action ends a process, and the Go runtime
// ignores them unless asked, so without catching them a start would lose them silently.
// Before the command starts, exec mode stops with 128+N, as the command would have ended
// had it been running without a handler; a supervised start holds them, starts the command
// and says they were not delivered: sent at once they would end it before it could have a
// handler, and a command that has just started has nothing to reopen or reload.
//
// SIGPIPE is not among them: once it is registered, Go delivers the kernel's SIGPIPE for
// every write to a broken pipe or socket of this process, and a kept-alive connection to AWS
// that the other end closed would stop the start. Unregistered, the Go runtime ignores it
// here (the fetch sees EPIPE and retries); only a write to stdout or stderr still raises it.
var HeldSignals = []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM}

// Interrupts catches StopSignals and HeldSignals from the start's first instruction until
// the command is about to start. The first signal that stops secretexec cancels the
// fetch; Caught says which it was, Held what a supervised start held.
//
// Registration starts before anything else, beside the reading of the configuration, and
// is done before the first request to AWS (Ready): until it is done a signal has the Go
// runtime's default action (SIGTERM ends secretexec with no message, status 2 as PID 1;
// SIGUSR1 is ignored). What is left of that window is process start, package
// initialisation and the registration itself (docs/signals.md).
type Interrupts struct {
	c       chan os.Signal
	cancel  context.CancelFunc
	quit    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	// registered is closed once the signals are registered. Registering starts first thing
	// and runs beside the configuration's reading rather than before it: each signal is a
	// round trip to the runtime's signal-mask thread (bench/README.md has the figures).
	registered chan struct{}
	once       sync.Once

	mu      sync.Mutex
	hold    bool      // supervised: held signals wait for the command
	stopper os.Signal // the signal that stopped secretexec, if one did
	held    []os.Signal
}

// SignalsCaught, when tests set it, is called once CatchInterrupts has registered: from then
// on a stopping signal gives 128+N.
var SignalsCaught func()

// CatchInterrupts starts catching; cancel is called on the first signal that stops
// secretexec.
func CatchInterrupts(cancel context.CancelFunc) *Interrupts {
	in := &Interrupts{
		c:          make(chan os.Signal, 16),
		cancel:     cancel,
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		stopped:    make(chan struct{}),
		registered: make(chan struct{}),
	}
	go func() {
		signal.Notify(in.c, withoutIgnored(append(slices.Clip(StopSignals), HeldSignals...))...)
		if SignalsCaught != nil {
			SignalsCaught()
		}
		close(in.registered)
		in.relay()
	}()
	return in
}

// Ready returns once the signals are registered: the start waits for it before the first request
// to AWS.
func (in *Interrupts) Ready() { <-in.registered }

func (in *Interrupts) relay() {
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

func (in *Interrupts) take(s os.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.stopper != nil:
	case in.hold && !slices.Contains(StopSignals, s):
		if !slices.Contains(in.held, s) { // pending signals of one kind are one, as in the kernel
			in.held = append(in.held, s)
		}
	default:
		in.stopper = s
		in.cancel()
	}
}

// HoldForCommand makes held signals wait for a supervised command instead of stopping
// secretexec; set once the configuration is known.
func (in *Interrupts) HoldForCommand() {
	in.mu.Lock()
	in.hold = true
	in.mu.Unlock()
}

// Caught reports the signal that stopped secretexec, if one did. Once Stop has returned it
// is final: no signal is in the relay's hands any more.
func (in *Interrupts) Caught() (syscall.Signal, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopper == nil {
		return 0, false
	}
	return in.stopper.(syscall.Signal), true
}

// Held is the held signals, in the order they first arrived.
func (in *Interrupts) Held() []os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.held)
}

// StopAsync begins deregistering, off the critical path (each signal is a round trip to the
// runtime's signal-mask thread); a signal from then on is either caught or has its default
// action, never lost.
func (in *Interrupts) StopAsync() {
	in.once.Do(func() {
		go func() {
			<-in.registered
			signal.Stop(in.c)
			close(in.stopped)
		}()
	})
}

// Stop deregisters and stops the relay: when it returns, every signal that was caught has
// been taken, so Caught and Held are final.
func (in *Interrupts) Stop() {
	in.StopAsync()
	<-in.stopped
	select {
	case <-in.quit:
	default:
		close(in.quit)
	}
	<-in.done
}

// SignalName is a signal's name as kill -l gives it with the SIG prefix ("SIGTERM").
func SignalName(s os.Signal) string {
	if ss, ok := s.(syscall.Signal); ok {
		if n := unix.SignalName(ss); n != "" {
			return n
		}
	}
	return s.String()
}
