package proc

import "syscall"

// Every exit status secretexec itself returns. Once the command runs (exec, or under a
// supervisor), the status is the command's own; these are the rest.
const (
	// StatusOK: success without a command (--output alone, --dry-run, --help, --version).
	StatusOK = 0
	// StatusChanged: a watched change stopped the command and secretexec exits so that the
	// orchestrator's restart policy starts a fresh container. 75 is EX_TEMPFAIL ("try
	// again"), distinct from 125-127 and from a command's 128+N.
	StatusChanged = 75
	// StatusFailure: secretexec's own failure (usage, configuration, fetch, output, an
	// environment execve cannot carry); nothing was run.
	StatusFailure = 125
	// StatusNoExec: the command was found but could not be executed.
	StatusNoExec = 126
	// StatusNotFound: the command was not found.
	StatusNotFound = 127
	// statusSignalBase + N: signal N ended secretexec before the command started, or
	// killed a supervised command.
	statusSignalBase = 128
)

// StatusSignaled is the exit status for signal sig: 128+N, as a shell reports a process
// killed by signal N.
func StatusSignaled(sig syscall.Signal) int { return statusSignalBase + int(sig) }
