package server

import (
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
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

// serveUpgrade answers GET ?EIO=4&transport=websocket&sid=… : the upgrade of
// a long-polling session to a WebSocket. An unknown sid → 400 code 1; not a
// WebSocket handshake, or a session that is upgrading or has upgraded
// already → 400 code 3; a session that is over → 400 code 1. The WebSocket
// handshake is events.Options.Upgrader's (which checks the origin).
func (e *Engine) serveUpgrade(w http.ResponseWriter, r *http.Request, sid string) {
	exercise.TODOHandler("4.5").ServeHTTP(w, r)
}
