package events

import (
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// RecoveryOptions turns on connection state recovery, socket.io's
// connectionStateRecovery (socket.io 4.6 and later): a client whose
// connection drops and that comes back within MaxDisconnectionDuration gets
// its old socket back, with the same ID, the same rooms and the same
// Handshake.Data, and the packets it missed meanwhile. Socket.Recovered
// tells a connection handler which case it has.
//
// # On the wire
//
// With recovery on, the CONNECT answer carries a private session ID, pid,
// beside the socket's ID; the client keeps it and never shows it:
//
//	← 40{"sid":"fT3…","pid":"Qm9…"}
//
// Every EVENT the server sends without asking for an ack, whether to one
// socket or broadcast, gets one more argument, last: its offset, a string
// that orders it in the Server's log.
//
//	← 42["message-saved",{"success":true},"k3Vd9a.2s"]
//
// socket.io-client remembers the last string argument of every event as
// its offset (it leaves the argument in place: a handler that counts its
// arguments sees one more). When it reconnects, it puts both in its
// CONNECT's auth. The server sends what the client missed, oldest first,
// and then the answer, with the same pid when the session was recovered:
//
//	→ 40{"token":"t","pid":"Qm9…","offset":"k3Vd9a.2s"}
//	← 42["message-saved",{"success":true},"k3Vd9a.2t"]   missed while away
//	← 40{"sid":"fT3…","pid":"Qm9…"}
//
// That is socket.io's order: socket.io-client holds the events that come
// before the answer, and hands them to its listeners just before
// "connect"; so does Client. What is broadcast after that follows. A
// client that had received nothing yet sends only its pid, and gets
// everything since it first connected.
//
// # What is kept, and for how long
//
// A socket is kept when its connection was lost (ReasonTransportClose,
// ReasonTransportError, ReasonPingTimeout): not when either side ended it
// on purpose, not when it was cut off for reading too slowly (it would
// fall behind again), and not at Server.Close, after which nobody could
// reconnect to this Server. The log holds the packets sent in all
// namespaces, each with where it went (its rooms, except rooms and
// sender), so that a kept session's missed packets are picked out when its
// client comes back. Both are bounded (the defaults in brackets):
//
//   - a kept session expires MaxDisconnectionDuration after its connection
//     was lost [2 minutes], and so does a packet after it was sent;
//   - at most MaxSessions sessions are kept [10,000]; past that, the oldest
//     goes;
//   - the log holds at most BufferPackets packets [10,000] and
//     BufferBytes bytes [16 MiB], for all namespaces together; past that,
//     the oldest go;
//   - a session that missed more than MaxMissed packets [1,000] or
//     MaxMissedBytes bytes [1 MiB] is not recovered: the replay must fit
//     in the socket's send queue, and a client that far behind is better
//     served by a fresh start (lesson 04's chat reloads its history).
//
// A session that is unknown (a forged pid, another Server's, one already
// recovered), expired, or whose packets the log no longer has all of,
// gets a fresh socket: the client sees a plain connect with a new ID and
// Socket.Recovered false, never an error.
//
// # One process
//
// The store is in the Server's memory: the client must come back to the
// same process. With several servers behind a load balancer that takes
// sticky sessions, and a restart loses every kept session (the clients
// get fresh ones). Sharing the servers' broadcasts through Redis pub/sub,
// as @socket.io/redis-adapter does, does not change that: pub/sub keeps
// no message, so no other node could replay what a client missed. In
// socket.io, only adapters that store the packets (the Redis Streams and
// MongoDB adapters) recover across nodes.
//
// # Middleware
//
// Middleware runs on a recovering connection as on any other, unless
// SkipMiddlewares is set (socket.io's skipMiddlewares, which there is true
// by default): a token that was revoked while the client was away must
// not get the session back. A refused recovery loses the session.
type RecoveryOptions struct {
	MaxDisconnectionDuration time.Duration // default 2m
	SkipMiddlewares          bool          // recovered connections skip Use's middleware
	MaxMissed                int           // default 1,000; at most Options.SendQueue - 16
	MaxMissedBytes           int           // default 1 MiB
	BufferPackets            int           // default 10,000
	BufferBytes              int           // default 16 MiB
	MaxSessions              int           // default 10,000
}

// Defaults of RecoveryOptions.
const (
	DefaultMaxDisconnectionDuration = 2 * time.Minute
	DefaultMaxMissed                = 1000
	DefaultMaxMissedBytes           = 1 << 20
	DefaultBufferPackets            = 10_000
	DefaultBufferBytes              = 16 << 20
	DefaultMaxSessions              = 10_000
)

// RecoveryStats is what Server.RecoveryStats reports.
type RecoveryStats struct {
	Sessions  int    // disconnected sessions kept for their clients
	Packets   int    // packets in the log
	Bytes     int    // their size, frames and attachments
	Recovered uint64 // connections that recovered their session, since NewServer
	Fresh     uint64 // connections that asked to recover and got a fresh socket
}

// RecoveryStats reports the state of connection state recovery; all zero
// when Options.Recovery is nil.
func (s *Server) RecoveryStats() RecoveryStats {
	_ = exercise.TODO("3.9")
	return RecoveryStats{}
}

// Recovered reports whether the socket is a recovered session: the same ID,
// rooms and Handshake.Data as before its connection dropped, and the
// packets it missed are on their way (see RecoveryOptions).
func (s *Socket) Recovered() bool {
	_ = exercise.TODO("3.9")
	return false
}

// Exercise 3.9 adds the rest: the log of packets and the kept sessions
// (one store per Server, its own lock taken inside a namespace's), the pid
// in the CONNECT answer, the offset on every EVENT sent without an ack,
// keeping a socket whose connection was lost, and the recovery in
// CONNECT. Go client: ClientOptions.Recover, Client.RecoveryPoint and
// Client.Recovered in client.go.
