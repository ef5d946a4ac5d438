package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// logger writes secretexec's own messages, one shape everywhere:
// "secretexec: error: ...", "secretexec: hint: ...", "secretexec: warning: ...".
// Nothing passed to it may hold a secret value.
type logger struct {
	w       io.Writer
	quiet   bool
	verbose bool
	mu      sync.Mutex // --watch's checks log from their own goroutine
}

// hinter is an error that knows what the user should do about it.
type hinter interface{ Hint() string }

type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

func (u *usageError) Hint() string { return u.hint }

// fail prints an error and every hint found along its chain (joined errors each get theirs).
func (l *logger) fail(err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	printed := map[string]bool{}
	for _, e := range errs {
		l.line("error", e.Error())
		var h hinter
		// Many references to one missing secret fail alike: say what to do once.
		if errors.As(e, &h) && h.Hint() != "" && !printed[h.Hint()] {
			printed[h.Hint()] = true
			l.line("hint", h.Hint())
		}
	}
}

func (l *logger) errorf(format string, args ...any) { l.line("error", fmt.Sprintf(format, args...)) }

func (l *logger) warnf(format string, args ...any) {
	if !l.quiet {
		l.line("warning", fmt.Sprintf(format, args...))
	}
}

// infof is what secretexec does, said unless --quiet (--watch's changes).
func (l *logger) infof(format string, args ...any) {
	if !l.quiet {
		l.line("", fmt.Sprintf(format, args...))
	}
}

func (l *logger) verbosef(format string, args ...any) {
	if l.verbose {
		l.line("", fmt.Sprintf(format, args...))
	}
}

func (l *logger) line(kind, msg string) {
	var b strings.Builder
	b.WriteString("secretexec: ")
	if kind != "" {
		b.WriteString(kind + ": ")
	}
	b.WriteString(strings.ReplaceAll(msg, "\n", " "))
	b.WriteByte('\n')
	l.mu.Lock()
	io.WriteString(l.w, b.String())
	l.mu.Unlock()
}
