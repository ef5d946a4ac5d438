// Package proc is secretexec's process side: finding and exec'ing the command (the PATH
// rule), the signals caught before the command starts, supervising it as PID 1 (--init:
// forwarding signals, reaping zombies, job control in a terminal), and in status.go every
// exit status secretexec returns.
package proc
