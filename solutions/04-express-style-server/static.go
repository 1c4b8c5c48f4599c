package server

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
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
	return &staticHandler{fsys: fsys}
}

type staticHandler struct {
	fsys fs.FS
}

func (s *staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "")
		return
	}
	urlPath := r.URL.Path
	if !strings.HasPrefix(urlPath, "/") {
		urlPath = "/" + urlPath // as http.StripPrefix can leave it
	}
	name, ok := staticName(urlPath)
	if !ok {
		writeError(w, http.StatusNotFound, "")
		return
	}

	f, info, err := s.open(name)
	if err != nil {
		writeError(w, http.StatusNotFound, "")
		return
	}
	if info.IsDir() {
		_ = f.Close()
		if !strings.HasSuffix(urlPath, "/") {
			s.redirectToDir(w, r, name)
			return
		}
		f, info, err = s.open(path.Join(name, "index.html"))
		if err != nil {
			writeError(w, http.StatusNotFound, "") // no index.html: and no listing either
			return
		}
		if info.IsDir() {
			_ = f.Close()
			writeError(w, http.StatusNotFound, "")
			return
		}
	}
	defer f.Close()

	content, err := seekable(f, info)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "")
		return
	}
	if ct := contentType(info.Name()); ct != "" {
		w.Header().Set("Content-Type", ct) // ServeContent keeps a type that is set
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, info.Name(), info.ModTime(), content)
}

// staticName turns a URL path into a name for fsys: cleaned, relative, "."
// for the root. ok is false for names that must not be served: a part that
// starts with a dot, a backslash (a separator on Windows), a NUL.
func staticName(urlPath string) (name string, ok bool) {
	// Cleaning a rooted path removes every "..": there is nothing above
	// "/" to climb to. r.URL.Path is already decoded, so %2e%2e and %2f
	// have become ".." and "/" by now and are cleaned away as well.
	name = strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		return ".", true
	}
	if strings.ContainsAny(name, "\\\x00") || !fs.ValidPath(name) {
		return "", false
	}
	for part := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	return name, true
}

// open opens name in fsys and stats it.
func (s *staticHandler) open(name string) (fs.File, fs.FileInfo, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// redirectToDir sends a browser from "/docs" to "/docs/". The Location is
// relative ("docs/"), so it stays right when Static is mounted under a
// prefix with http.StripPrefix.
func (s *staticHandler) redirectToDir(w http.ResponseWriter, r *http.Request, name string) {
	f, info, err := s.open(path.Join(name, "index.html"))
	if err != nil {
		writeError(w, http.StatusNotFound, "")
		return
	}
	_ = f.Close()
	if info.IsDir() {
		writeError(w, http.StatusNotFound, "")
		return
	}
	loc := path.Base(name) + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, loc, http.StatusMovedPermanently)
}

// seekable returns f as the io.ReadSeeker ServeContent needs. The files of
// embed.FS, os.DirFS and fstest.MapFS can seek; another fs.FS's file is read
// into memory.
func seekable(f fs.File, info fs.FileInfo) (io.ReadSeeker, error) {
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("static: not a regular file")
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// webTypes are the Content-Types of the files a web page is made of. They
// are fixed here because mime.TypeByExtension also reads the system's
// tables (/etc/mime.types and the like), which differ from machine to
// machine.
var webTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".htm":   "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".txt":   "text/plain; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".ico":   "image/vnd.microsoft.icon",
	".wasm":  "application/wasm",
	".woff2": "font/woff2",
}

// contentType is the Content-Type for a file name, "" when the extension is
// unknown (ServeContent then sniffs the first 512 bytes).
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := webTypes[ext]; ok {
		return ct
	}
	return mime.TypeByExtension(ext)
}
