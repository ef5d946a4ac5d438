package proc

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestBrokenPipeIsNoInterrupt: a write to a closed pipe or socket while fetching (a kept-alive
// connection AWS has closed) is the fetch's own EPIPE, not a signal to stop: with SIGPIPE
// registered, Go delivers the kernel's SIGPIPE for it to the channel, which used to end the
// start with "interrupted by SIGPIPE" and status 141.
func TestBrokenPipeIsNoInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := CatchInterrupts(cancel)
	in.Ready()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := w.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a closed pipe: %v, want EPIPE", err)
	}
	w.Close()
	time.Sleep(50 * time.Millisecond) // a signal, if one were taken, reaches the relay
	in.Stop()
	if sig, ok := in.Caught(); ok {
		t.Fatalf("a broken pipe stopped the start as %v", sig)
	}
	if ctx.Err() != nil {
		t.Fatal("a broken pipe cancelled the fetch")
	}
}
