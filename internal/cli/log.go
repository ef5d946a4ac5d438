package cli

import (
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

// fail prints an error and its hint (joined errors each get theirs).
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
		// Many references to one missing secret fail alike: say what to do once.
		if h := Hint(e); h != "" && !printed[h] {
			printed[h] = true
			l.line("hint", h)
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

// brief is an error and its hint on one line, for a warning.
func brief(err error) string {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if h := Hint(err); h != "" {
		return msg + " (" + h + ")"
	}
	return msg
}

// watchLog is the logger as the watch loop sees it.
type watchLog struct{ *logger }

func (l watchLog) Infof(format string, args ...any)    { l.infof(format, args...) }
func (l watchLog) Warnf(format string, args ...any)    { l.warnf(format, args...) }
func (l watchLog) Verbosef(format string, args ...any) { l.verbosef(format, args...) }
func (l watchLog) Error(err error)                     { l.fail(err) }
func (l watchLog) Brief(err error) string              { return brief(err) }
