//go:build !unix

package events

import (
	"net"
	"syscall"
)

// rawConnOf is nil here: tryWrite is built for Unix systems only, and
// every write goes through a wire's own writer goroutine.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (o *frameOut) writeOnce(uintptr) bool { return true }
