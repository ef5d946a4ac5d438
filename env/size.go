package env

import (
	"fmt"
	"sort"
	"strings"
)

// MaxArgStrlen is Linux's limit on one argument or environment string, "NAME=VALUE" and its
// terminating NUL included (MAX_ARG_STRLEN, 32 pages).
const MaxArgStrlen = 32 * 4096

// ExecLimit is the limit Linux puts on argv and envp together for a process whose stack
// rlimit is stack (RLIM_INFINITY as ^uint64(0)): a quarter of it, at most 6 MiB, at least
// 128 KiB (fs/exec.c).
func ExecLimit(stack uint64) uint64 {
	limit := uint64(6 << 20)
	if q := stack / 4; q < limit {
		limit = q
	}
	if limit < 128<<10 {
		limit = 128 << 10
	}
	return limit
}

// SizeError is an environment the kernel would refuse with E2BIG. It names variables, never
// values.
type SizeError struct {
	Name  string // the variable over MaxArgStrlen, or "" when the total is over
	Size  uint64
	Limit uint64
	Top   []string // the largest variables, for the total case
}

func (e *SizeError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("variable %s is %d bytes, over the kernel's %d-byte limit for one variable", e.Name, e.Size, e.Limit)
	}
	return fmt.Sprintf("the command's arguments and environment take %d bytes, over the exec limit of %d bytes (largest: %s)", e.Size, e.Limit, strings.Join(e.Top, ", "))
}

// NULError is a variable whose value holds a NUL byte: execve takes each string up to its
// first NUL, so no environment variable can carry one. It names the variable, never the
// value.
type NULError struct{ Name string }

func (e *NULError) Error() string {
	return fmt.Sprintf("variable %s holds a NUL byte, which no environment variable can carry", e.Name)
}

// CheckExec reports, before exec, an environment execve cannot pass as it is: a value
// holding a NUL byte (a *NULError; the kernel would cut it short or refuse it), or what
// execve would refuse with E2BIG (a *SizeError): one string over MaxArgStrlen, or argv and
// environ together over limit (strings, their NULs and pointers).
func CheckExec(argv, environ []string, limit uint64) error {
	const ptr = 8
	total := uint64(ptr) // the NULL after envp
	for _, kv := range environ {
		if strings.IndexByte(kv, 0) >= 0 {
			k, _, _ := strings.Cut(kv, "=")
			return &NULError{Name: k}
		}
		n := uint64(len(kv)) + 1
		if n > MaxArgStrlen {
			k, _, _ := strings.Cut(kv, "=")
			return &SizeError{Name: k, Size: n, Limit: MaxArgStrlen}
		}
		total += n + ptr
	}
	for _, a := range argv {
		n := uint64(len(a)) + 1
		if n > MaxArgStrlen {
			return &SizeError{Name: "(an argument)", Size: n, Limit: MaxArgStrlen}
		}
		total += n + ptr
	}
	if total > limit {
		// Only now, on the way to an error: the largest variables, to name them.
		type sized struct {
			name string
			n    uint64
		}
		all := make([]sized, len(environ))
		for i, kv := range environ {
			k, _, _ := strings.Cut(kv, "=")
			all[i] = sized{k, uint64(len(kv)) + 1}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
		var top []string
		for i := 0; i < len(all) && i < 3; i++ {
			top = append(top, fmt.Sprintf("%s %d bytes", all[i].name, all[i].n))
		}
		return &SizeError{Size: total, Limit: limit, Top: top}
	}
	return nil
}
