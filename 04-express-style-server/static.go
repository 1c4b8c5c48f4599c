package server

import (
	"io/fs"
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Static serves the files of fsys, Express's express.static(root). Mount it
// last, at "/", so that it gets every path no route claims:
//
//	//go:embed web
//	var webFiles embed.FS
//
//	sub, _ := fs.Sub(webFiles, "web")
//	app.Mount("/", server.Static(sub))
//
// The request path names a file of fsys: "/chat.js" is chat.js, "/img/a.png"
// is img/a.png. A path that names a directory serves the directory's
// index.html ("/" serves index.html), and a directory asked for without its
// trailing slash is redirected (301) to it, so that the page's relative links
// resolve inside it. A directory with no index.html is 404: the file names
// in a directory are never listed.
//
// Content-Type comes from the file's extension (text/html; charset=utf-8,
// text/css, text/javascript, image/png, ...), with X-Content-Type-Options:
// nosniff so that a browser believes it. Conditional and range requests
// work as http.ServeContent makes them work. Only GET and HEAD are served;
// any other method is 405 with Allow: GET, HEAD.
//
// Static never reads outside fsys, however the path is spelled: the path is
// cleaned (so "/../go.mod" and "/%2e%2e/go.mod" are go.mod inside fsys, not
// beside it) and fsys is asked only for names that fs.ValidPath accepts,
// with no backslash (a separator on Windows). As express.static does by
// default, it also refuses names with a part that starts with a dot
// (".env", ".git/config"): they are 404, as is anything that does not
// exist. Errors are JSON, {"error":"not found"}, like the
// App's.
func Static(fsys fs.FS) http.Handler {
	return exercise.TODOHandler("4.2")
}
