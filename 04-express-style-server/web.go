package server

import (
	"embed"
	"io/fs"
)

// This file is given: it is not an exercise.

// The chat page: index.html, chat.css and chat.js, compiled into the
// binary, so the server needs no files beside it. chat.js is the client:
// it speaks Engine.IO v4 and Socket.IO v5 over the browser's own WebSocket,
// the same packets lesson 03 taught, with no library in between.
//
//go:embed web
var webEmbed embed.FS

// webFiles returns the page's files with web/ as their root, for Static.
func webFiles() fs.FS {
	sub, err := fs.Sub(webEmbed, "web")
	if err != nil {
		panic(err) // only for an invalid name, which is a constant
	}
	return sub
}
