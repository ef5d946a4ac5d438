package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/logattr"
)

// logger writes secretexec's own messages, one shape everywhere. As text (the default):
// "secretexec: error: ...", "secretexec: hint: ...", "secretexec: warning: ...". As json
// (--log-format json): one object per line, {"time", "level", "msg", ...fields}, an error
// and its hint in one object; the fields are the facts a message's arguments name with the
// types of internal/logattr (and a failed source's or reference's, from its error), so any
// message works in either format. Nothing passed to it may hold a secret value.
type logger struct {
	w       io.Writer
	quiet   bool
	verbose bool
	json    bool
	now     func() time.Time // nil: time.Now (tests fix it)
	mu      sync.Mutex       // --watch's checks log from their own goroutine
}

// The levels of the json form: "level" is one of these.
const (
	levelError   = "error"
	levelWarning = "warning"
	levelInfo    = "info"
	levelVerbose = "debug"
)

// fail prints an error and its hint (joined errors each get theirs). fields are added to
// each error's json object (the exit status).
func (l *logger) fail(err error, fields ...slog.Attr) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	printed := map[string]bool{}
	for _, e := range errs {
		h := Hint(e)
		if l.json {
			attrs := errorAttrs(e)
			if h != "" {
				attrs = append(attrs, slog.String("hint", h))
			}
			l.emit(levelError, e.Error(), append(attrs, fields...))
			continue
		}
		l.line("error", e.Error())
		// Many references to one missing secret fail alike: say what to do once.
		if h != "" && !printed[h] {
			printed[h] = true
			l.line("hint", h)
		}
	}
}

// errorAttrs are the facts of a failed source or reference: which one.
func errorAttrs(err error) []slog.Attr {
	var fe *fetch.Error
	if !errors.As(err, &fe) {
		return nil
	}
	switch {
	case fe.Ref != nil:
		return []slog.Attr{slog.String("source", fe.Ref.Ref.String()), slog.String("variable", fe.Ref.Var)}
	case fe.Source.Kind == fetch.SSMPath:
		return []slog.Attr{slog.String("source", fe.Source.Path)}
	case fe.Source.SecretID != "":
		attrs := []slog.Attr{slog.String("source", fe.Source.SecretID)}
		if fe.Source.Bind != "" {
			attrs = append(attrs, slog.String("variable", fe.Source.Bind))
		}
		return attrs
	}
	return nil
}

func (l *logger) errorf(format string, args ...any) { l.msg(levelError, "error", nil, format, args...) }

func (l *logger) warnf(format string, args ...any) {
	if !l.quiet {
		l.msg(levelWarning, "warning", nil, format, args...)
	}
}

// infof is what secretexec does, said unless --quiet (--watch's changes).
func (l *logger) infof(format string, args ...any) {
	if !l.quiet {
		l.msg(levelInfo, "", nil, format, args...)
	}
}

func (l *logger) verbosef(format string, args ...any) {
	if l.verbose {
		l.msg(levelVerbose, "", nil, format, args...)
	}
}

// msg is one message of a level (its text kind), its json fields attrs and those its
// arguments' logattr types name.
func (l *logger) msg(level, kind string, attrs []slog.Attr, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if !l.json {
		l.line(kind, text)
		return
	}
	for _, a := range args {
		switch v := a.(type) {
		case logattr.PID:
			attrs = append(attrs, slog.Int("pid", int(v)))
		case logattr.Status:
			attrs = append(attrs, slog.Int("status", int(v)))
		case logattr.Attempt:
			attrs = append(attrs, slog.Int("attempt", int(v)))
		case logattr.Delay:
			attrs = append(attrs, slog.String("delay", v.String()))
		case logattr.Source:
			attrs = append(attrs, slog.String("source", string(v)))
		case logattr.Variable:
			attrs = append(attrs, slog.String("variable", string(v)))
		}
	}
	l.emit(level, text, attrs)
}

// line is one text message: "secretexec: KIND: MSG", newlines made spaces.
func (l *logger) line(kind, msg string) {
	if l.json {
		level := levelInfo
		switch kind {
		case "error":
			level = levelError
		case "warning":
			level = levelWarning
		}
		l.emit(level, msg, nil)
		return
	}
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

// emit writes one json object through log/slog's JSON handler: "time" (RFC 3339, UTC),
// "level", "msg" (newlines made spaces, as in the text form), then attrs in their order.
func (l *logger) emit(level, msg string, attrs []slog.Attr) {
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	r := slog.NewRecord(now().UTC(), slog.LevelInfo, strings.ReplaceAll(msg, "\n", " "), 0)
	r.AddAttrs(attrs...)
	l.mu.Lock()
	defer l.mu.Unlock()
	h := slog.NewJSONHandler(l.w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.LevelKey {
			return slog.String(slog.LevelKey, level)
		}
		return a
	}})
	_ = h.Handle(context.Background(), r)
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
