//go:build unix

package loadgen

import (
	"syscall"
	"time"
)

// RaiseFileLimit raises the soft RLIMIT_NOFILE of this process to its hard
// limit and returns the new soft limit. An unprivileged process cannot go
// beyond the hard limit, so a swarm of n clients needs a hard limit above n
// (plus the server's n, in a process that also runs the server).
func RaiseFileLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, err
		}
	}
	return uint64(r.Cur), nil
}

// ProcessCPU returns the user and system CPU time this process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
