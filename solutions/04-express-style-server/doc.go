// Package server is lesson 04 of the WebSocket Workbook: the course notes'
// Express + Socket.IO chat server, in Go. One listener serves an HTTP app
// (routes, middleware, one error handler, JSON, static files), the
// Engine.IO endpoint with both of its transports, and the chat itself:
// every "send-message" is saved in SQLite, then announced to everyone as
// "message-saved".
//
// The lesson text is lessons/04-express-style-server.md. The learner's
// copy, 04-express-style-server, has this API with stubs that name their
// exercises; solutions/04-express-style-server is the reference solution,
// with the same tests. `go run ./cmd/workbook` from the module root says
// which exercise is next. The event layer underneath is the solution of
// lesson 03, package events.
//
// # One listener
//
// In the notes, app.listen starts an http.Server and new Server(httpServer)
// attaches socket.io to it. Here the attaching is a route, and New does all
// of this:
//
//	io := events.NewServer(events.Options{
//		Upgrader: events.GorillaUpgrader{CheckOrigin: origins.Allowed},
//	})
//	chat := NewChat(io, store, ChatOptions{Logger: logger})
//
//	app := NewApp(logger)
//	app.Use(origins.CORS())
//	app.Handle("GET /api/messages", chat.History)
//	app.Mount("/socket.io/", NewEngine(io, EngineOptions{AllowRequest: origins.Allowed}))
//	app.Mount("/", Static(webFiles()))
//	http.ListenAndServe("localhost:8000", app)
//
// App (exercise 4.1) is an http.ServeMux with Go 1.22 patterns ("GET
// /api/messages", "POST /api/rooms/{id}") behind middleware and one error
// handler. A HandlerFunc returns an error instead of answering it: an
// *HTTPError becomes its status and {"error":"<message>"}; any other error,
// and any panic, becomes 500 {"error":"internal server error"}, with the
// real cause in the log only. Unknown paths are 404 and wrong methods 405,
// in the same JSON. DecodeJSON and WriteJSON (4.2) read and write JSON
// bodies, strictly; Static serves the chat page.
//
// # Origins
//
// Origins (4.3) is the notes' cors.origin list. A browser applies CORS to
// fetch and to long-polling, so for HTTP the list is middleware: a listed
// origin gets Access-Control-Allow-Origin, any other gets 403. A browser
// applies nothing to a WebSocket: any page may open one to any server, with
// the user's cookies (cross-site WebSocket hijacking; RFC 6455, section
// 10.2). So the same list is the CheckOrigin of the WebSocket upgrader, and
// a handshake from an unlisted origin is refused before a session exists:
//
//	→ GET /socket.io/?EIO=4&transport=websocket   Origin: http://evil.example
//	← 403 {"error":"origin not allowed"}
//
// The server's own page, and clients that send no Origin, are let in.
//
// # Long-polling
//
// Engine (4.4) serves /socket.io/ with both Engine.IO transports
// (engine.io-protocol v4, "HTTP long-polling"). Long-polling is lesson 01's
// technique inside a real protocol: a GET waits until the session has
// packets for the client, a POST carries packets from it, and the sid in
// the query ties the requests together. A body is a payload: packets
// joined by the record separator 0x1e, a binary packet written as "b" and
// base64 (EncodePayload, DecodePayload). A session as it went over the
// wire, "→" from the client, \x1e for the separator:
//
//	→ GET  /socket.io/?EIO=4&transport=polling
//	← 200  0{"sid":"0okNY8bvNL5Lf-vqM8rJBg","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//	→ POST /socket.io/?EIO=4&transport=polling&sid=0okNY8bvNL5Lf-vqM8rJBg   40
//	← 200  ok
//	→ GET  /socket.io/?EIO=4&transport=polling&sid=0okNY8bvNL5Lf-vqM8rJBg
//	← 200  40{"sid":"WAxeI1D68gdAqkAF9twGlg"}
//	→ GET  …&sid=0okNY8bvNL5Lf-vqM8rJBg                       (held: nothing to send)
//	→ POST …&sid=0okNY8bvNL5Lf-vqM8rJBg   421["send-message",{"author":"ana","text":"hi"}]
//	← 200  ok
//	← 200  42["message-saved",{"success":true,"message":{"id":1,…}}]\x1e431[{"success":true,"message":{"id":1,…}}]
//
// The polling transport implements events.Transport, so lesson 03's
// session runs on it unchanged: heartbeat, acks, broadcasts, the bounded
// send queue. The ping "2" is what answers a GET that has waited
// pingInterval; the client's pong comes back in a POST. Refusals are
// engine.io's: 400 {"code":1,"message":"Session ID unknown"} and the like.
//
// # The upgrade
//
// A session that began on polling moves to a WebSocket (4.5;
// engine.io-protocol v4, "Upgrade"):
//
//	WebSocket  GET /socket.io/?EIO=4&transport=websocket&sid=0okN…   → 101
//	WebSocket  → 2probe
//	WebSocket  ← 3probe
//	GET        ← 6            noop: the waiting poll returns, the client pauses polling
//	WebSocket  → 5            upgrade: from now on, only the WebSocket
//
// Whatever polling still had queued goes out first on the WebSocket, in
// order. A probe that goes wrong, or no "5" within
// EngineOptions.UpgradeTimeout, closes the WebSocket and leaves the session
// on polling, untouched.
//
// # Save, then broadcast
//
// Chat (4.7) is the notes' send-message handler with the saving they leave
// out:
//
//	→ 421["send-message",{"author":"ana","text":"hi"}]
//	← 42["message-saved",{"success":true,"message":{"id":1,"author":"ana","text":"hi","time":"2026-11-27T01:41:03.062Z"}}]   to everyone
//	← 431[{"success":true,"message":{…}}]                                  the ack
//	→ 422["send-message",{"author":"ana","text":"  "}]
//	← 42["message-saved",{"success":false,"error":"text is empty"}]       to the sender only
//	← 432[{"success":false,"error":"text is empty"}]
//
// "message-saved" with success true goes out only once the row is
// committed, so every message a client saw confirmed is in the database,
// with the id and time it was broadcast with. SQLiteStore (4.6) uses
// modernc.org/sqlite, SQLite translated to Go: no cgo, no C compiler, one
// self-contained binary. Chat.History serves the stored messages a page at
// a time, GET /api/messages?before=ID&limit=N.
//
// # Shutdown
//
// Server.Shutdown (4.8) stops in the order that loses nothing: drain the
// chat, so that saves in flight finish and are confirmed while new messages
// are refused with success false; close every socket with the event
// server's own Close (http.Server.Shutdown does not know hijacked
// connections), which also answers a waiting long poll with the close
// packet "1"; only then shut the http.Server down, so that a polling client
// can still come back for what the first two steps queued for it; close
// the store last. A restart on the same database shows every message that
// was acknowledged.
//
// # Specs
//
// https://github.com/socketio/engine.io-protocol (v4),
// https://github.com/socketio/socket.io-protocol (v5), RFC 6455, and the
// Fetch standard's CORS protocol.
package server
