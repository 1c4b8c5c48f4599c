//go:build !unix

package main

import "time"

// processCPU is not available here: getrusage(2) is a Unix call. The CPU
// column stays empty.
func processCPU() (time.Duration, bool) { return 0, false }
