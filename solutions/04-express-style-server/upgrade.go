package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The upgrade from long-polling to WebSocket (engine.io-protocol v4,
// "Upgrade"). The client opens a WebSocket with the sid of its polling
// session while it goes on polling, and checks that the new path works
// before it moves:
//
//	WebSocket → 2probe         ping, "probe": is this WebSocket ours?
//	WebSocket ← 3probe         pong, "probe"
//	GET       ← 6              noop: the waiting poll returns, the client pauses polling
//	WebSocket → 5              upgrade: from now on, only this WebSocket
//
// Until "5" every packet still goes over polling; from "5" on, the
// WebSocket carries the session, beginning with whatever was still queued
// for the next poll, in order. A probe that goes wrong, or no "5" within
// EngineOptions.UpgradeTimeout, closes the WebSocket and the session stays
// on polling, untouched.

// errBadProbe ends an upgrade whose client sent something unexpected.
var errBadProbe = errors.New("upgrade: unexpected packet while probing")

// serveUpgrade answers GET ?EIO=4&transport=websocket&sid=… : the upgrade of
// a long-polling session to a WebSocket. An unknown sid, or a session that
// is over → 400 code 1; not a WebSocket handshake → 400 code 3. The
// WebSocket handshake is events.Options.Upgrader's (which checks the
// origin).
//
// A second WebSocket, for a session that is upgrading or has upgraded
// already, is accepted and closed at once, as engine.io does: the one
// already there keeps the session, and the newcomer learns from a close
// frame, not an HTTP error, that it is not wanted.
func (e *Engine) serveUpgrade(w http.ResponseWriter, r *http.Request, sid string) {
	t := e.lookup(sid)
	if t == nil {
		engineError(w, codeUnknownSID)
		return
	}
	if r.Method != http.MethodGet || !websocket.IsWebSocketUpgrade(r) {
		engineError(w, codeBadRequest)
		return
	}
	code, ok := t.beginUpgrade()
	if !ok && code == codeBadRequest {
		if ws, err := e.eopt.Upgrader.Upgrade(w, r); err == nil {
			_ = ws.Close()
		}
		return
	}
	if !ok {
		engineError(w, code)
		return
	}
	ws, err := e.eopt.Upgrader.Upgrade(w, r)
	if err != nil {
		t.endUpgrade() // the Upgrader has answered
		return
	}
	if rl, ok := ws.(interface{ SetReadLimit(int64) }); ok {
		rl.SetReadLimit(int64(e.eopt.MaxPayload))
	}
	// One deadline for the whole upgrade. It is set before the session's
	// Close can see the WebSocket, so that Close's earlier deadline wins.
	_ = ws.SetReadDeadline(time.Now().Add(e.opts.UpgradeTimeout))
	if err := t.probeAndSwitch(ws); err != nil {
		t.endUpgrade()
		_ = ws.Close()
	}
}

// beginUpgrade marks t as upgrading, unless it cannot be: then it returns
// why, as an Engine.IO error code. codeUnknownSID (the session is over) is
// answered with 400; codeBadRequest (another WebSocket has the upgrade
// already) makes serveUpgrade accept the newcomer and close it.
func (t *pollTransport) beginUpgrade() (code int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return codeUnknownSID, false
	case t.ws != nil, t.probing:
		return codeBadRequest, false
	}
	t.probing = true
	return 0, true
}

// upgradeCheck is how long a GET that arrives after the probe was answered
// waits for the upgrade to finish: engine.io sends a noop to such a poll
// every 100 ms until the upgrade is done.
const upgradeCheck = 100 * time.Millisecond

// awaitSwitchLocked holds a GET that arrives while the session is upgrading
// (t.mu held), for at most upgradeCheck, until the upgrade ends either way.
// A client that pauses polling, as it must once the probe is answered,
// sends no such GET; one that does has most likely sent its "5" just
// before, on the WebSocket, and the GET has overtaken it. Answered at once,
// it would get a noop with 200; held, it is refused with 400 like any poll
// after the upgrade (the official test suite sends exactly this).
func (t *pollTransport) awaitSwitchLocked(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, upgradeCheck)
	defer cancel()
	for t.upgrading && t.ws == nil && !t.closed && t.waitLocked(ctx) {
	}
}

// endUpgrade gives up an upgrade: the session stays on polling.
func (t *pollTransport) endUpgrade() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.probing, t.probe, t.upgrading = false, nil, false
	t.notifyLocked()
}

// probeAndSwitch runs the probe on ws and, once the client sends "5",
// makes ws the session's transport. An error means the session is still on
// polling and ws is the caller's to close.
func (t *pollTransport) probeAndSwitch(ws events.Transport) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return net.ErrClosed
	}
	t.probe = ws
	t.mu.Unlock()

	if err := expectFrame(ws, "2probe"); err != nil {
		return err
	}
	// Upgrading before "3probe" is out: a client may read it and poll
	// before this goroutine runs again, and that poll must find the
	// session upgrading (engine.io, on one thread, has no such gap).
	t.mu.Lock()
	t.upgrading = true // the waiting poll, and any new one, gets a noop
	t.notifyLocked()
	t.mu.Unlock()
	if err := ws.WriteMessage([]byte("3probe"), false); err != nil {
		return err
	}
	if err := expectFrame(ws, "5"); err != nil {
		return err
	}
	return t.switchTo(ws)
}

// expectFrame reads one frame from ws and checks that it is the text want.
func expectFrame(ws events.Transport, want string) error {
	p, binary, err := ws.ReadMessage()
	if err != nil {
		return err
	}
	if binary || string(p) != want {
		return errBadProbe
	}
	return nil
}

// switchTo moves the session onto ws: the reader reads from it (once the
// packets posted before are read), the writer writes to it, and what was
// queued for polling goes first. The write lock keeps the writer waiting
// until that is done, so the order is the order of the writes.
func (t *pollTransport) switchTo(ws events.Transport) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return net.ErrClosed
	}
	t.ws, t.probe, t.probing, t.upgrading = ws, nil, false, false
	queued := t.takeOutboxLocked()
	_ = ws.SetReadDeadline(t.deadline) // the session's heartbeat, not the upgrade's
	t.mu.Unlock()
	for _, f := range queued {
		if err := ws.WriteMessage(f.Data, f.Binary); err != nil {
			break // the connection is broken: the session's reader will see it
		}
	}
	return nil
}
