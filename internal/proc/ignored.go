package proc

import (
	"os"
	"os/signal"
	"slices"
	"syscall"
)

// inheritedIgnores are the signals secretexec was started with ignored (nohup, trap "" HUP, a
// background job of a non-interactive shell) that are still ignored: SIGHUP and SIGINT,
// the only ones the Go runtime leaves ignored (it installs its own handlers for the others
// before main, docs/signals.md). Read at package initialisation, before any signal.Notify:
// Notify would end the ignore, and Ignored would then say false.
var inheritedIgnores = ignoredAtStart()

func ignoredAtStart() []os.Signal {
	var ign []os.Signal
	for _, s := range []os.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(s) {
			ign = append(ign, s)
		}
	}
	return ign
}

// withoutIgnored is sigs less the inherited ignores. Those are never caught: their
// disposition stays SIG_IGN, which a child inherits across fork and exec, so that a
// supervised command (and every restarted one) ignores them as an exec'd one does, and a
// signal the user asked to ignore does not stop a fetch either.
func withoutIgnored(sigs []os.Signal) []os.Signal {
	if len(inheritedIgnores) == 0 {
		return sigs
	}
	return slices.DeleteFunc(slices.Clone(sigs), func(s os.Signal) bool { return slices.Contains(inheritedIgnores, s) })
}
