package login

import (
	"fmt"
	"strings"
	"time"
)

// State is where a Client's connection stands, as OnStatus reports it.
type State string

// The states OnStatus reports.
const (
	// StateConnected: Connect, or a reconnection, succeeded; events flow.
	StateConnected State = "connected"
	// StateReconnecting: the connection was lost and the Client is
	// waiting Status.Delay before attempt Status.Attempt.
	StateReconnecting State = "reconnecting"
	// StateDisconnected: the Client has stopped, and stays stopped until
	// Connect: after Disconnect or Logout, after the server's DISCONNECT,
	// or when a reconnection was refused (Status.Err).
	StateDisconnected State = "disconnected"
)

// Status is one change of a Client's connection, given to the functions of
// OnStatus.
type Status struct {
	State State
	// Reason says why the last connection ended, in socket.io-client's
	// words: "transport close" (the server went away), "ping timeout",
	// "io server disconnect" (the server ended the socket, for example at
	// logout or when its token expired), "io client disconnect"
	// (Disconnect, Logout). Empty for StateConnected.
	Reason string
	// Err is, for StateReconnecting, why the previous attempt failed (nil
	// before the first), and for StateDisconnected, why the Client gave
	// up: a *events.ConnectError when the server refused the token
	// (MsgExpired, MsgRevoked, MsgBadToken); nil otherwise.
	Err error
	// Attempt numbers the reconnection attempts from 1; StateReconnecting
	// only.
	Attempt int
	// Delay is the wait before that attempt; StateReconnecting only.
	Delay time.Duration
	// Recovered is, for StateConnected after a reconnection, whether the
	// server gave the old session back (connection state recovery, lesson
	// 03's exercise 3.9): the same socket ID and rooms, and the events
	// missed meanwhile, which reach the handlers first. A server that
	// restarted, or a session kept too long, gives a fresh one instead.
	Recovered bool
}

// String is a line for a log or a status bar.
func (s Status) String() string {
	var b strings.Builder
	b.WriteString(string(s.State))
	if s.State == StateReconnecting {
		fmt.Fprintf(&b, " (attempt %d in %v)", s.Attempt, s.Delay)
	}
	if s.Recovered {
		b.WriteString(" (session recovered)")
	}
	if s.Reason != "" {
		fmt.Fprintf(&b, ": %s", s.Reason)
	}
	if s.Err != nil {
		fmt.Fprintf(&b, ": %v", s.Err)
	}
	return b.String()
}
