//go:build unix

package events

import (
	"net"
	"syscall"
)

// rawConnOf is nc's file descriptor, for tryWrite, or nil when it has
// none (a TLS connection, a net.Pipe).
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeOnce is what tryWrite runs on the descriptor: one write(2) of
// rawBuf. Go's sockets are non-blocking, so when the socket's buffer is
// full the call returns EAGAIN at once; that is not an error here, just
// nothing written. It returns true: RawConn.Write must not wait for the
// socket to become writable and call it again.
func (o *frameOut) writeOnce(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), o.rawBuf)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			n, err = 0, nil
		}
		o.rawN, o.rawErr = max(n, 0), err
		return true
	}
}
