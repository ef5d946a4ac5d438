//go:build !linux

package proc

// NonDumpable does nothing outside Linux, where there is no PR_SET_DUMPABLE.
func NonDumpable() error { return nil }
