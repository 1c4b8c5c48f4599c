// Package events is lesson 03 of the WebSocket Workbook: the event model of
// socket.io — io.on("connection"), socket.on("send-message"),
// io.emit("message-saved"), disconnect — built in Go and speaking the real
// wire protocol, so that the npm socket.io-client connects to it unchanged.
//
// The lesson text is lessons/03-events.md. Each stub below names its
// exercise; `go run ./cmd/workbook` from the module root says which is next.
//
// # Three layers
//
// A socket.io connection is three protocols inside each other:
//
//	WebSocket  (RFC 6455, lesson 02)      messages: text or binary
//	Engine.IO  (engine.io-protocol v4)    packets: open, ping, pong, message, close
//	Socket.IO  (socket.io-protocol v5)    packets: connect, event, ack, disconnect
//
// The client connects to /socket.io/?EIO=4&transport=websocket. Every
// WebSocket message is one Engine.IO packet, whose first character is its
// type (EncodeEIO, DecodeEIO: exercise 3.1). Engine.IO MESSAGE packets carry
// Socket.IO packets (EncodePacket, DecodePacket, EncodeArgs, DecodeArgs:
// exercise 3.2). A session as it goes over the wire, "→" from the client:
//
//	← 0{"sid":"x1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//	→ 40{"token":"t"}                     CONNECT to "/" with auth
//	← 40{"sid":"fT3…"}                    connected; the socket's ID
//	→ 42["send-message",{"text":"hi"}]    socket.emit("send-message", …)
//	← 42["message-saved",{"success":true}]
//	← 2                                   ping, every pingInterval
//	→ 3                                   pong
//	→ 41                                  DISCONNECT
//
// # The session
//
// Server.ServeHTTP (exercise 3.3) upgrades the request with an Upgrader —
// gorilla/websocket by default; lesson 02's Conn plugs in through the same
// Transport interface — sends the open packet, and from then on runs two
// goroutines per connection: a reader that decodes packets and dispatches
// them, and a writer that drains a bounded queue. The server pings every
// PingInterval and drops a client that has not answered within PingTimeout
// (engine.io-protocol v4, "Heartbeat"); in v4 it is the server that pings.
//
// # Sockets, events and rooms
//
// A CONNECT packet makes a Socket in a Namespace, after the namespace's
// middleware (Use) said yes; OnConnection handlers then register event
// handlers with On (exercise 3.4):
//
//	srv := events.NewServer(events.Options{})
//	srv.OnConnection(func(s *events.Socket) {
//		events.Handle(s, "send-message", func(m Message, e *events.Event) {
//			srv.Emit("message-saved", Saved{Success: true, Message: m})
//		})
//		s.OnDisconnect(func(reason string) { log.Println(s.ID(), reason) })
//	})
//	http.Handle("/socket.io/", srv)
//
// A socket's handlers run in order on one goroutine. Emit never blocks: it
// queues the packet, and a client that reads too slowly to keep its queue
// from filling is disconnected (ReasonSendQueueFull) rather than allowed to
// slow the server or grow its memory.
//
// Rooms are named sets of sockets; broadcasts go to rooms, to whole
// namespaces, or to everyone but the sender, and encode their packet once
// (exercise 3.5). Acknowledgements are callbacks across the wire: an EVENT
// with an ack id is answered by an ACK with the same id (exercise 3.6).
// Namespaces split one connection into channels with their own middleware,
// which can refuse a connection with a *ConnectError (exercise 3.7). Client
// is the same machinery seen from the other end (exercise 3.8).
//
// With Options.Recovery set, a client whose connection drops gets its
// socket back when it reconnects, with its ID, rooms and the packets it
// missed (connection state recovery, exercise 3.9; see RecoveryOptions).
//
// # Bad input
//
// A packet that breaks the protocol — not a known type, bad JSON, a
// reserved event name, an unknown namespace, a message over MaxPayload — is
// answered the way socket.io answers it (CONNECT_ERROR for a namespace that
// does not exist; closing the session, ReasonTransportError, for a malformed
// packet) and never panics or disturbs other connections.
//
// # Specs
//
// https://github.com/socketio/engine.io-protocol (v4) and
// https://github.com/socketio/socket.io-protocol (v5).
package events
