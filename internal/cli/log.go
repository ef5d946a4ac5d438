package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
func (l *logger) fail(err error, fields ...field) {
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
				attrs = append(attrs, fieldOf("hint", h))
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
func errorAttrs(err error) []field {
	var fe *fetch.Error
	if !errors.As(err, &fe) {
		return nil
	}
	switch {
	case fe.Ref != nil:
		// As the message shows it: a value that merely looks like a reference may be a password.
		return []field{fieldOf("source", fe.ShownRef()), fieldOf("variable", fe.Ref.Var)}
	case fe.Source.Kind == fetch.SSMPath:
		return []field{fieldOf("source", fe.Source.Path)}
	case fe.Source.SecretID != "":
		attrs := []field{fieldOf("source", fe.Source.SecretID)}
		if fe.Source.Bind != "" {
			attrs = append(attrs, fieldOf("variable", fe.Source.Bind))
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
func (l *logger) msg(level, kind string, attrs []field, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if !l.json {
		l.line(kind, text)
		return
	}
	for _, a := range args {
		switch v := a.(type) {
		case logattr.PID:
			attrs = append(attrs, fieldOf("pid", int(v)))
		case logattr.Status:
			attrs = append(attrs, fieldOf("status", int(v)))
		case logattr.Attempt:
			attrs = append(attrs, fieldOf("attempt", int(v)))
		case logattr.Delay:
			attrs = append(attrs, fieldOf("delay", v.String()))
		case logattr.Source:
			attrs = append(attrs, fieldOf("source", string(v)))
		case logattr.Variable:
			attrs = append(attrs, fieldOf("variable", string(v)))
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

// field is one fact of a json message: a key and a string or an int.
type field struct {
	key   string
	value any
}

func fieldOf[V string | int](key string, v V) field { return field{key, v} }

// emit writes one json object: "time" (RFC 3339, UTC, milliseconds), "level", "msg"
// (newlines made spaces, as in the text form), then fields in their order. Values are
// encoded by encoding/json (without HTML escaping: the line is for log pipelines, not a
// web page); log/slog's JSON handler does the same, for 120 KiB more binary (bench/README.md).
func (l *logger) emit(level, msg string, fields []field) {
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	put := func(key string, v any) {
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		_ = enc.Encode(key)
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		_ = enc.Encode(v)
		b.Truncate(b.Len() - 1)
	}
	put("time", now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	put("level", level)
	put("msg", strings.ReplaceAll(msg, "\n", " "))
	for _, f := range fields {
		put(f.key, f.value)
	}
	b.WriteString("}\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b.Bytes())
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
