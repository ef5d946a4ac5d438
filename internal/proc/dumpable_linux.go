package proc

import "golang.org/x/sys/unix"

// NonDumpable makes this process non-dumpable (PR_SET_DUMPABLE 0): no core file, whatever
// GOTRACEBACK=crash or a core limit it inherited says, and no ptrace or /proc/PID/environ,
// mem or fd by other processes of its user (root with CAP_SYS_PTRACE still can). The
// supervisor of --init and --watch holds every value for the command's whole life. The
// command is not affected: execve makes a process dumpable again (unless its binary is not
// readable), so its own /proc/PID/environ stays readable by its user.
func NonDumpable() error { return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) }
