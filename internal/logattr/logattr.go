// Package logattr names the facts in secretexec's messages: a message's arguments of these
// types print as their plain values in the text form and become fields of their own in
// --log-format json (internal/cli/log.go), so a log pipeline can filter on them. None of them
// ever holds a secret value.
package logattr

import "time"

// PID is a process id: the json field "pid".
type PID int

// Status is an exit status: the json field "status".
type Status int

// Attempt is the number of an attempt of an AWS request: the json field "attempt".
type Attempt int

// Delay is a wait before the next attempt or check: the json field "delay" (Go's duration
// text, "1.5s"). It prints as a time.Duration does.
type Delay time.Duration

func (d Delay) String() string { return time.Duration(d).String() }

// Source names a source (an --ssm-path's path, a --secret-id's id) or a reference: the json
// field "source".
type Source string

// Variable is the name of an environment variable: the json field "variable".
type Variable string
