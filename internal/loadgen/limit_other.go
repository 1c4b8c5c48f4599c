//go:build !unix

package loadgen

import (
	"math"
	"time"
)

// RaiseFileLimit does nothing where there is no RLIMIT_NOFILE, and reports
// no limit.
func RaiseFileLimit() (uint64, error) { return math.MaxUint64, nil }

// ProcessCPU returns 0: the CPU time is not known here.
func ProcessCPU() time.Duration { return 0 }
