package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The process tree a command leaves. A command is stopped whole: its process group (what
// `docker stop` reaches inside a container, and what a shell's kill %1 reaches) and any
// process it started that left the group (setsid, a daemon's double fork). Such a process
// is a descendant of the command while its parent lives; once its parent has exited it is
// re-parented to this process, the child subreaper (or PID 1), and stays found. tini and
// dumb-init reap those orphans but stop only the group (dumb-init sends SIGTERM to it when
// its child exits); a process outside the group would outlive them, which outside a
// container is a process left running with the old secrets. So this walks /proc.

// procStat is one line of /proc/PID/stat, as far as the walk needs it.
type procStat struct {
	pid, ppid, pgrp int
	zombie          bool
}

// readStat reads /proc/PID/stat, or reports false when the process is gone.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{pid: pid, ppid: ppid, pgrp: pgrp, zombie: f[0] == "Z" || f[0] == "X"}, true
}

// scan reads every process's stat, from one pass over /proc.
func scan() map[int]procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	all := make(map[int]procStat, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			all[pid] = st
		}
	}
	return all
}

// ownHelper reports whether st is a process this one runs itself with os/exec (the SDK's
// credential_process, run by a check while a command is supervised): a child of this
// process in this process's own group. Every command runs in a group of its own, and what
// it starts stays in that group or leaves it for another, so nothing of the commands' is
// in this one's. A helper is os/exec's to signal and to wait for: reaping it would take
// its exit status from os/exec (its Wait fails with ECHILD), stopping it would fail the
// check.
func ownHelper(st procStat, self, pgrp int) bool { return st.ppid == self && st.pgrp == pgrp }

// descendants returns every live (not yet exited) descendant of this process but its
// helpers and theirs, from one pass over /proc. A process forked during the pass may be
// missed: callers scan again until nothing is left.
func descendants() []procStat {
	all := scan()
	kids := make(map[int][]int)
	for pid, st := range all {
		kids[st.ppid] = append(kids[st.ppid], pid)
	}
	self, pgrp := os.Getpid(), unix.Getpgrp()
	var out []procStat
	var walk func(pid, depth int)
	walk = func(pid, depth int) {
		if depth > 4096 { // a pid reused mid-pass cannot loop the walk
			return
		}
		for _, k := range kids[pid] {
			st := all[k]
			if ownHelper(st, self, pgrp) {
				continue
			}
			if !st.zombie {
				out = append(out, st)
			}
			walk(k, depth+1)
		}
	}
	walk(self, 0)
	return out
}

// orphanZombies returns the exited children of this process that are neither commands
// (live) nor helpers: the command's processes re-parented to it (PID 1, child subreaper).
func orphanZombies(live map[int]*Child, pgrp int) []int {
	self := os.Getpid()
	var out []int
	for pid, st := range scan() {
		if st.zombie && st.ppid == self && live[pid] == nil && !ownHelper(st, self, pgrp) {
			out = append(out, pid)
		}
	}
	return out
}

// outside returns the descendants that belong to none of the kept commands: not a kept
// command, not below one, not in a kept command's process group.
func outside(keep []*Child) []procStat {
	all := descendants()
	if len(keep) == 0 {
		return all
	}
	byPid := make(map[int]procStat, len(all))
	for _, st := range all {
		byPid[st.pid] = st
	}
	kept := func(st procStat) bool {
		for range 4096 {
			for _, k := range keep {
				if st.pid == k.pid || st.pgrp == k.pid {
					return true
				}
			}
			parent, ok := byPid[st.ppid]
			if !ok {
				return false
			}
			st = parent
		}
		return false
	}
	var out []procStat
	for _, st := range all {
		if !kept(st) {
			out = append(out, st)
		}
	}
	return out
}
