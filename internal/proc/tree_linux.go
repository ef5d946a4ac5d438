package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
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

// descendants returns every live (not yet exited) descendant of this process, from one
// pass over /proc. A process forked during the pass may be missed: callers scan again
// until nothing is left.
func descendants() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	all := make(map[int]procStat)
	kids := make(map[int][]int)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			all[pid] = st
			kids[st.ppid] = append(kids[st.ppid], pid)
		}
	}
	var out []procStat
	var walk func(pid, depth int)
	walk = func(pid, depth int) {
		if depth > 4096 { // a pid reused mid-pass cannot loop the walk
			return
		}
		for _, k := range kids[pid] {
			if st := all[k]; !st.zombie {
				out = append(out, st)
			}
			walk(k, depth+1)
		}
	}
	walk(os.Getpid(), 0)
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
