package rawws

import (
	"fmt"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Close status codes (RFC 6455 §7.4.1 and the IANA registry).
const (
	CloseNormal            = 1000
	CloseGoingAway         = 1001
	CloseProtocolError     = 1002
	CloseUnsupportedData   = 1003
	CloseNoStatus          = 1005 // never on the wire: the close frame had no code
	CloseAbnormal          = 1006 // never on the wire: no close frame at all
	CloseInvalidPayload    = 1007
	ClosePolicyViolation   = 1008
	CloseMessageTooBig     = 1009
	CloseMandatoryExt      = 1010
	CloseInternalError     = 1011
	CloseServiceRestart    = 1012
	CloseTryAgainLater     = 1013
	CloseBadGateway        = 1014
	CloseTLSHandshakeError = 1015 // never on the wire
)

// A CloseError is what reads return once the connection is closed: the code
// and reason of the peer's close frame (CloseNoStatus when it had none), or
// of the close this side sent when it failed the connection, or
// CloseAbnormal when the TCP connection ended without a close frame.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket closed: %d", e.Code)
	}
	return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason)
}

// ValidCloseCode reports whether code may appear in a close frame on the
// wire (§7.4): 1000–1003, 1007–1014 and 3000–4999. 1004–1006 and 1015 are
// reserved, 1016–2999 unassigned, and the rest out of range; a close frame
// carrying one fails the connection with 1002.
func ValidCloseCode(code int) bool {
	_ = exercise.TODO("2.7")
	return false
}

// Close starts (or completes) the closing handshake (§5.5.1, §7.1.2): it
// sends a close frame with code and reason (reason at most 123 bytes of
// UTF-8), then waits until the peer's close frame arrives, then closes the
// TCP connection. A client waits a little longer for the server to close the
// TCP connection first, as §7.1.1 asks. If the peer stays silent for the
// close timeout, the TCP connection is closed anyway.
//
// Close may be called while another goroutine is blocked reading: that
// reader then receives the peer's close frame and returns a *CloseError. When
// no goroutine is reading, Close reads (and discards) until the close frame
// comes. Calling Close again, or after the peer closed, is harmless and
// returns nil.
func (c *Conn) Close(code int, reason string) error {
	return exercise.TODO("2.9")
}

// CloseNow closes the TCP connection without a closing handshake. Readers
// and writers blocked on the connection return errors.
func (c *Conn) CloseNow() error { return c.nc.Close() }
