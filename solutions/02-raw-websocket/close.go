package rawws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
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
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true // defined by RFC 6455 and the IANA registry
	case code >= 3000 && code <= 4999:
		return true // 3000–3999 registered by libraries, 4000–4999 private use
	}
	return false
}

// How long failing the connection may spend on its close frame: a peer
// that broke the protocol does not get the full close timeout.
const failWriteWait = time.Second

// How often Close looks again for a chance to read the peer's close frame
// itself, while another goroutine holds the read lock.
const closePollInterval = 10 * time.Millisecond

// How long Close leaves a message for an application reader that has made
// no read call, before it concludes that nobody reads and drops messages.
const closeHandoffWait = 100 * time.Millisecond

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
//
// A reader goroutine that is between two calls when Close runs, or that has
// not made its first call yet, loses nothing: while the application keeps
// making read calls, Close leaves data messages for it, and only drops them
// once it has made none for closeHandoffWait (100ms).
//
// code CloseNoStatus sends a close frame with no payload at all. Another
// code that may not go on the wire, a reason over 123 bytes or one that is
// not UTF-8 is an error, and nothing is sent.
func (c *Conn) Close(code int, reason string) error {
	if code != CloseNoStatus && !ValidCloseCode(code) {
		return fmt.Errorf("rawws: Close with code %d, which may not be sent (§7.4)", code)
	}
	if len(reason) > 123 || (code == CloseNoStatus && reason != "") {
		return errors.New("rawws: close reason too long: at most 123 bytes, and none without a code (§5.5)")
	}
	if !utf8.ValidString(reason) {
		return errors.New("rawws: close reason is not UTF-8 (§5.5.1)")
	}
	if c.isTCPClosed() {
		return nil
	}
	err := c.sendClose(code, reason, c.closeTimeout)
	switch {
	case c.closeRecv.Load():
		// The peer closed first and the reader is answering: perhaps this
		// is the close handler, on the reader's own goroutine. The reader
		// finishes the handshake; do not wait for it.
		return nil
	case err == errCloseSent:
		// Another Close is under way (or the connection failed); wait for
		// it, so that every Close returns once the connection is closed.
		c.awaitClosed()
		return nil
	case err != nil:
		c.closeTCP()
		if c.closeRecv.Load() {
			return nil
		}
		return err
	}
	c.awaitPeerClose()
	return nil
}

// CloseNow closes the TCP connection without a closing handshake. Readers
// and writers blocked on the connection return errors.
func (c *Conn) CloseNow() error {
	var err error
	c.tcpOnce.Do(func() {
		err = c.nc.Close()
		close(c.tcpClosed)
	})
	return err
}

// closeTCP closes the TCP connection once.
func (c *Conn) closeTCP() { _ = c.CloseNow() }

func (c *Conn) isTCPClosed() bool {
	select {
	case <-c.tcpClosed:
		return true
	default:
		return false
	}
}

// sendClose writes this side's close frame, unless one went out already
// (then it returns errCloseSent). The write deadline bounds how long it may
// take, even behind a writer stuck on a peer that does not read: that
// writer's frame times out first, and the connection is closing anyway.
func (c *Conn) sendClose(code int, reason string, wait time.Duration) error {
	if c.closeSent.Load() {
		return errCloseSent
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(wait))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := c.ctrlOut[:0]
	if code != CloseNoStatus {
		p = binary.BigEndian.AppendUint16(p, uint16(code))
		p = append(p, reason...)
	}
	return c.writeFrame(true, OpClose, p)
}

// fail fails the WebSocket connection (§7.1.7) after the reader found
// something the protocol forbids: it sends a close frame with code (best
// effort, quickly), closes the TCP connection, and makes every later read
// return the same *CloseError. c.readMu must be held.
func (c *Conn) fail(code int, reason string) error {
	ce := &CloseError{Code: code, Reason: reason}
	// The close frame first: setReadErr wakes a Close waiting for this
	// reader, and that Close closes the TCP connection.
	_ = c.sendClose(code, reason, failWriteWait)
	c.setReadErr(ce)
	c.closeTCP()
	return ce
}

// finishClose ends the TCP connection once both close frames have been
// exchanged (§7.1.1): the server closes it at once, so that the TIME_WAIT
// state stays on its side; the client gives the server the close timeout to
// do so, reading (and dropping) anything until the end of the stream, then
// closes its end. c.readMu must be held.
func (c *Conn) finishClose() {
	if !c.isServer {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.closeTimeout))
		for {
			if _, err := c.br.Read(c.ctrlIn[:]); err != nil {
				break
			}
		}
	}
	c.closeTCP()
}

// awaitPeerClose waits, after this side's close frame went out, for the
// peer's, at most the close timeout; then the TCP connection is closed.
//
// Someone has to read the peer's close frame. If the application has a
// reader blocked in NextReader, that reader gets it, finishes the handshake
// and closes readDone. If nobody reads, Close reads itself. In between is
// an application reader that is busy with the last message it got, or a
// reader goroutine that was started but has not made its first call yet:
// Close may take the read lock before or between its calls, and must not
// throw away messages that reader is about to ask for. So when Close,
// reading, meets a data message, it leaves the message for the application
// (NextReader returns it) and lets go of the lock; only if the application
// makes no read call for closeHandoffWait does Close conclude that nobody is
// reading, and drop messages from then on.
func (c *Conn) awaitPeerClose() {
	deadline := time.Now().Add(c.closeTimeout)
	timer := time.NewTimer(c.closeTimeout)
	defer timer.Stop()
	var poll <-chan time.Time
	handoff := true // leave data messages to the application's reader
	var calls uint64
	var idleSince time.Time
	for {
		if c.readMu.TryLock() {
			if handoff {
				switch {
				case idleSince.IsZero() || c.readCalls != calls:
					calls, idleSince = c.readCalls, time.Now()
				case time.Since(idleSince) >= closeHandoffWait:
					handoff = false // the application stopped reading
				}
			}
			done := c.readUntilClose(deadline, handoff)
			c.readMu.Unlock()
			if done {
				return
			}
		}
		if poll == nil {
			t := time.NewTicker(closePollInterval)
			defer t.Stop()
			poll = t.C
		}
		select {
		case <-c.readDone:
			c.closeTCP()
			return
		case <-timer.C:
			c.closeTCP()
			return
		case <-poll:
		}
	}
}

// readUntilClose reads until the peer's close frame (which readClose
// handles) or an error, and then closes the TCP connection and returns
// true. Data messages are dropped, unless handoff is set: then, at the
// first one the application has not finished reading, it returns false and
// leaves the message where the application's next read finds it. c.readMu
// must be held.
func (c *Conn) readUntilClose(deadline time.Time, handoff bool) bool {
	if c.readErr == nil {
		_ = c.nc.SetReadDeadline(deadline)
	}
	for c.readErr == nil {
		if c.rd.active || c.rd.pending {
			if handoff {
				return false
			}
			c.rd.pending, c.rd.active = false, true
			if c.discardMessage() != nil {
				break
			}
			continue
		}
		if c.nextDataFrame() != nil {
			break
		}
		c.rd.pending = true // a message NextReader has not returned yet
	}
	c.closeTCP()
	return true
}

// awaitClosed waits, at most the close timeout, for the TCP connection to
// be closed by whoever is finishing the handshake.
func (c *Conn) awaitClosed() {
	timer := time.NewTimer(c.closeTimeout)
	defer timer.Stop()
	select {
	case <-c.tcpClosed:
	case <-timer.C:
		c.closeTCP()
	}
}
