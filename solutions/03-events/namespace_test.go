package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.7: Namespaces and middleware.
//
// socket.io-protocol v5, "Connection to a namespace": one Engine.IO
// connection carries sockets of several namespaces; every packet names its
// namespace ("/admin,") unless it is "/". A CONNECT to a namespace the server
// does not have, or one its middleware refuses, is answered with
// CONNECT_ERROR, `44{"message":"..."}`, and the connection stays open.

// ttRefusal is a CONNECT_ERROR's data.
type ttRefusal struct {
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// expectConnectError sends CONNECT for nsp with auth and expects CONNECT_ERROR.
func (c *ttRawClient) expectConnectError(nsp, auth string) ttRefusal {
	c.t.Helper()
	c.send("4" + ttPrefix(0, nsp) + auth)
	p := c.nextPacket("the answer to CONNECT " + nsp)
	require.Equal(c.t, 4, p.Type, "%s: expected CONNECT_ERROR `44%s{\"message\":...}`, got %q", c.name, ttNspPart(nsp), p.Raw)
	require.Equal(c.t, nsp, p.Nsp, "CONNECT_ERROR names the namespace")
	var r ttRefusal
	require.NoError(c.t, json.Unmarshal(p.Data, &r), "CONNECT_ERROR's data is {\"message\":...,\"data\":...}, got %q", p.Raw)
	return r
}

func TestNamespacesHaveTheirOwnSocketsAndHandlers(t *testing.T) {
	exercise.Start(t, "3.7")
	ttNoLeaks(t)
	rootGot := make(chan ttGot, 4)
	adminGot := make(chan ttGot, 4)
	var admin *ttWatcher
	srv := startTTServer(t, Options{}, func(s *Socket) { s.On("report", ttRecorder(rootGot)) }, func(s *Server) {
		ns := s.Of("/admin")
		require.NotNil(t, ns, "Server.Of")
		assert.Equal(t, "/admin", ns.Name())
		assert.Same(t, ns, s.Of("/admin"), "Of returns the same namespace every time")
		admin = ttWatch(ns.OnConnection, func(s *Socket) {
			s.On("report", ttRecorder(adminGot))
			s.On("ask", func(e *Event) { _ = e.Ack("admin answers") })
		})
	})

	c := dialTTRaw(t, srv, "client", nil)
	rootID := c.connect("/", "")
	adminID := c.connect("/admin", "") // the same connection, a second namespace
	root := srv.nextSocket(t, "the socket in /")
	adm := admin.nextSocket(t, "the socket in /admin")
	assert.Equal(t, rootID, root.ID())
	assert.Equal(t, adminID, adm.ID())
	assert.NotEqual(t, rootID, adminID, "each namespace has its own socket, with its own ID")
	assert.Equal(t, "/admin", adm.Namespace().Name())
	assert.Len(t, adm.Namespace().Sockets(), 1)

	c.send(`42/admin,["report","to admin"]`)
	e := ttWait(t, adminGot, "the /admin handler")
	assert.Equal(t, []string{`"to admin"`}, e.Args)
	assert.Same(t, adm, e.Socket)
	c.send(`42["report","to root"]`)
	e = ttWait(t, rootGot, "the / handler")
	assert.Equal(t, []string{`"to root"`}, e.Args)
	assert.Empty(t, adminGot, "an event for / must not reach /admin's handlers")
	assert.Empty(t, rootGot)

	// Emits and acks carry the namespace.
	require.NoError(t, adm.Emit("notice", 1))
	p, _ := c.nextEventIn("/admin", "notice")
	assert.Equal(t, `2/admin,["notice",1]`, p.Raw, "an EVENT of /admin, `42/admin,[...]`")
	c.send(`42/admin,9["ask"]`)
	p = c.nextPacket("the ACK in /admin")
	assert.Equal(t, `3/admin,9["admin answers"]`, p.Raw, "an ACK of /admin, `43/admin,9[...]`")

	// Namespace.Emit reaches the namespace's sockets only.
	require.NoError(t, srv.Of("/admin").Emit("admins-only"))
	c.nextEventIn("/admin", "admins-only")
	require.NoError(t, root.Emit("sentinel"))
	assert.Empty(t, c.eventsUntil("sentinel"), "Of(/admin).Emit sent nothing to /")

	// Leaving /admin leaves / connected.
	c.send("41/admin,")
	assert.Equal(t, ReasonClientDisconnect, admin.reasonFor(t, adminID, "DISCONNECT from /admin"))
	assert.True(t, root.Connected(), "the socket in / is still connected")
	c.send(`42["report","still here"]`)
	ttWait(t, rootGot, "the / handler after leaving /admin")
}

func TestUnknownNamespaceIsRefused(t *testing.T) {
	exercise.Start(t, "3.7")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, ttEcho)
	c := dialTTRaw(t, srv, "client", nil)
	r := c.expectConnectError("/nope", "")
	assert.Equal(t, "Invalid namespace", r.Message, `socket.io's answer to an unknown namespace is CONNECT_ERROR {"message":"Invalid namespace"}`)

	// The connection stays, and serves the namespaces that exist.
	c.connect("/", "")
	c.stillServed("after the refusal")
}

func TestMiddlewareRefusesWithAConnectError(t *testing.T) {
	exercise.Start(t, "3.7")
	ttNoLeaks(t)
	connected := make(chan string, 4)
	srv := startTTServer(t, Options{}, func(s *Socket) { connected <- s.ID() }, func(s *Server) {
		s.Use(func(h *Handshake) error {
			var auth struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(h.Auth, &auth)
			switch auth.Token {
			case "":
				return &ConnectError{Message: "not authorized", Data: map[string]any{"content": "please log in"}}
			case "expired":
				return errors.New("token expired")
			}
			return nil
		})
	})
	c := dialTTRaw(t, srv, "client", nil)

	r := c.expectConnectError("/", "")
	assert.Equal(t, "not authorized", r.Message, "ConnectError.Message is the message")
	assert.JSONEq(t, `{"content":"please log in"}`, string(r.Data), "ConnectError.Data is the data")

	r = c.expectConnectError("/", `{"token":"expired"}`)
	assert.Equal(t, "token expired", r.Message, "any other error refuses with its text as the message")
	assert.Empty(t, r.Data, "and no data")
	assert.Empty(t, connected, "OnConnection must not run for a refused client")

	sid := c.connect("/", `{"token":"good"}`)
	assert.Equal(t, sid, ttWait(t, connected, "OnConnection after the middleware said yes"))
}

func TestMiddlewareSeesTheHandshake(t *testing.T) {
	exercise.Start(t, "3.7")
	ttNoLeaks(t)
	var mu sync.Mutex
	var order []string
	seen := make(chan Handshake, 1)
	srv := startTTServer(t, Options{}, nil, func(s *Server) {
		s.Use(func(h *Handshake) error {
			mu.Lock()
			order = append(order, "first")
			mu.Unlock()
			seen <- *h
			return nil
		})
		s.Use(func(h *Handshake) error {
			mu.Lock()
			order = append(order, "second")
			mu.Unlock()
			return nil
		})
	})
	c := dialTTRaw(t, srv, "client", http.Header{"X-Workbook": {"lesson-03"}})
	sid := c.connect("/", `{"token":"abc","user":"ann"}`)
	h := ttWait(t, seen, "the middleware")
	assert.JSONEq(t, `{"token":"abc","user":"ann"}`, string(h.Auth), "Handshake.Auth is the CONNECT packet's payload (socket.io-client's auth option)")
	assert.Equal(t, "lesson-03", h.Header.Get("X-Workbook"), "Handshake.Header is the WebSocket request's header")
	assert.Equal(t, "websocket", h.Query.Get("transport"), "Handshake.Query is the request's query")
	assert.NotEmpty(t, h.RemoteAddr)
	assert.False(t, h.Time.IsZero())

	s := srv.nextSocket(t, "the client")
	assert.Equal(t, sid, s.ID())
	require.NotNil(t, s.Handshake())
	assert.JSONEq(t, `{"token":"abc","user":"ann"}`, string(s.Handshake().Auth), "the socket keeps its handshake")
	mu.Lock()
	assert.Equal(t, []string{"first", "second"}, order, "middleware runs in the order of Use")
	mu.Unlock()
}

func TestMiddlewareBelongsToItsNamespace(t *testing.T) {
	exercise.Start(t, "3.7")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil, func(s *Server) {
		s.Of("/admin").OnConnection(func(*Socket) {})
		s.Of("/admin").Use(func(h *Handshake) error {
			return &ConnectError{Message: "admins only"}
		})
	})
	c := dialTTRaw(t, srv, "client", nil)
	r := c.expectConnectError("/admin", "")
	assert.Equal(t, "admins only", r.Message)
	c.connect("/", "") // "/" has no middleware
}
