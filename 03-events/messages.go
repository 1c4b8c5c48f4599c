package events

import (
	"net/http"
	"net/url"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Engine.IO without Socket.IO.
//
// Engine.IO is a layer of its own: a session over a WebSocket (or, in
// lesson 04, over long-polling and then a WebSocket) that carries
// messages, text or binary, with a heartbeat and a clean close. Socket.IO
// is the layer above it that the Server runs by default: its packets are
// the messages "4…". A program that wants the messages themselves, as the
// Engine.IO test suite's echo server does, sets Options.Messages:
//
//	srv := events.NewServer(events.Options{Messages: echo{}})
//
//	type echo struct{}
//
//	func (echo) OpenSession(s *events.EngineSession)  {}
//	func (echo) CloseSession(s *events.EngineSession, reason string) {}
//	func (echo) Message(s *events.EngineSession, p []byte, binary bool) error {
//		return s.Send(p, binary)
//	}
//
// The session is the same either way (the open packet, the heartbeat, the
// bounded send queue, the close); only what is done with a message differs.

// A MessageHandler is the layer above Engine.IO when it is not Socket.IO
// (Options.Messages). Its methods are called on the session's reader
// goroutine, one at a time and in this order: OpenSession once, Message
// once per message in the order they arrived, CloseSession once. A slow
// method delays the session's next read, as a slow Socket.IO handler never
// does; hand long work to another goroutine.
type MessageHandler interface {
	// OpenSession is called once the open packet is queued, before the
	// session's first message.
	OpenSession(s *EngineSession)
	// Message is called with the data of one message packet: after the
	// type "4" of a text packet, or a binary frame's bytes. p is the
	// handler's to keep. An error ends the session, as a malformed packet
	// does (ReasonTransportError).
	Message(s *EngineSession, p []byte, binary bool) error
	// CloseSession is called once when the session is over, with why (a
	// Reason constant).
	CloseSession(s *EngineSession, reason string)
}

// An EngineSession is one Engine.IO session, as a MessageHandler sees it.
// Its methods may be called from any goroutine.
type EngineSession struct {
	// Exercise 3.3 adds what it needs: the session it stands for.
}

// ID is the session's sid, as in its open packet.
func (e *EngineSession) ID() string {
	_ = exercise.TODO("3.3")
	return ""
}

// Header is the header of the request that opened the session.
func (e *EngineSession) Header() http.Header {
	_ = exercise.TODO("3.3")
	return nil
}

// Query is the query of the request that opened the session.
func (e *EngineSession) Query() url.Values {
	_ = exercise.TODO("3.3")
	return nil
}

// Send queues one message for the client: text as the packet "4" + p, or
// binary as one binary frame. It does not wait for the write. When the
// session's send queue (Options.SendQueue) is full the session is closed
// with ReasonSendQueueFull; after the end it returns ErrDisconnected.
func (e *EngineSession) Send(p []byte, binary bool) error {
	return exercise.TODO("3.3")
}

// Close ends the session with ReasonServerDisconnect, once what was sent
// before it is written.
func (e *EngineSession) Close() { _ = exercise.TODO("3.3") }
