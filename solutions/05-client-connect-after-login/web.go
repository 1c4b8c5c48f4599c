package login

import (
	"embed"
	"io/fs"
)

// This file is given: it is not an exercise.

// The page: index.html, style.css and app.js, compiled into the binary. It
// shows a login form first; only once the user has logged in does app.js
// create its socket (autoConnect off, as the course's client does) and
// connect it, with the token as its auth. app.js speaks Engine.IO v4 and
// Socket.IO v5 over the browser's own WebSocket, as lesson 04's chat.js
// does, with no library in between.
//
//go:embed web
var webEmbed embed.FS

// webFiles returns the page's files with web/ as their root, for
// server.Static.
func webFiles() fs.FS {
	sub, err := fs.Sub(webEmbed, "web")
	if err != nil {
		panic(err) // only for an invalid name, which is a constant
	}
	return sub
}
