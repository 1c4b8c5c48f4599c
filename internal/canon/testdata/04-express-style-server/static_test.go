package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 4.2: JSON bodies and static files (lessons/04-express-style-server.md).
// The tests of Static. They serve files from an fstest.MapFS, a file system
// in memory, and call the handler directly, so that the paths reach Static
// exactly as written here (a real client or ServeMux would clean some of
// them up first).

// staticTestPNG is the start of a PNG file: its signature and the IHDR chunk's header.
const staticTestPNG = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

// staticTestFiles is a small web root.
func staticTestFiles() fstest.MapFS {
	return fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><title>chat</title>")},
		"chat.js":           {Data: []byte("const socket = new WebSocket(url);")},
		"chat.css":          {Data: []byte("body { margin: 0 }")},
		"config.json":       {Data: []byte(`{"pingInterval":25000}`)},
		"icon.svg":          {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"img/logo.png":      {Data: []byte(staticTestPNG)},
		"docs/index.html":   {Data: []byte("<h1>docs</h1>")},
		"private/notes.txt": {Data: []byte("nothing to see")},
		".env":              {Data: []byte("SESSION_SECRET=hunter2")},
	}
}

// staticTestMediaType is the media type of a Content-Type, without parameters.
func staticTestMediaType(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt
}

func TestStaticServesFilesWithTheirContentTypes(t *testing.T) {
	exercise.Start(t, "4.2")
	// express.static's job: "/" is index.html, "/chat.js" is chat.js, and
	// the Content-Type comes from the extension, so that the browser runs
	// the script and applies the style sheet.
	files := staticTestFiles()
	h := Static(files)
	for _, c := range []struct {
		target string
		file   string   // its content is the body
		types  []string // acceptable media types
	}{
		{"/", "index.html", []string{"text/html"}},
		{"/index.html", "index.html", []string{"text/html"}},
		{"/chat.js", "chat.js", []string{"text/javascript", "application/javascript"}},
		{"/chat.css", "chat.css", []string{"text/css"}},
		{"/config.json", "config.json", []string{"application/json"}},
		{"/icon.svg", "icon.svg", []string{"image/svg+xml"}},
		{"/img/logo.png", "img/logo.png", []string{"image/png"}},
		{"/docs/", "docs/index.html", []string{"text/html"}},
		{"/chat.js?v=3", "chat.js", []string{"text/javascript", "application/javascript"}},
	} {
		w := appTestDo(h, "GET", c.target)
		require.Equal(t, http.StatusOK, w.Code, "GET %s: the status (body %q)", c.target, w.Body.String())
		assert.Equal(t, string(files[c.file].Data), w.Body.String(), "GET %s should serve %s", c.target, c.file)
		assert.Contains(t, c.types, staticTestMediaType(w.Header().Get("Content-Type")), "GET %s: the Content-Type", c.target)
		assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"), "GET %s: the browser is told to trust the Content-Type", c.target)
	}

	// A directory asked for without its slash is redirected to it, so that
	// relative links in its index.html resolve inside it.
	w := appTestDo(h, "GET", "/docs")
	assert.Equal(t, http.StatusMovedPermanently, w.Code, "GET /docs (a directory with an index.html): the status")
	assert.True(t, strings.HasSuffix(w.Header().Get("Location"), "docs/"), "GET /docs: Location should lead to docs/, got %q", w.Header().Get("Location"))

	w = appTestDo(h, "GET", "/missing.js")
	assert.Equal(t, http.StatusNotFound, w.Code, "GET /missing.js: a file that does not exist")
	appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), "not found", "GET /missing.js")
}

func TestStaticNeverListsADirectory(t *testing.T) {
	exercise.Start(t, "4.2")
	// A directory with no index.html is 404: the names of the files in it
	// are nobody's business. The files themselves are still served.
	h := Static(staticTestFiles())
	for _, c := range []struct{ target, hidden string }{
		{"/private/", "notes.txt"},
		{"/private", "notes.txt"},
		{"/img/", "logo.png"},
	} {
		w := appTestDo(h, "GET", c.target)
		assert.NotEqual(t, http.StatusOK, w.Code, "GET %s: a directory without index.html is not served", c.target)
		assert.NotContains(t, w.Body.String(), c.hidden, "GET %s: the answer must not list the directory", c.target)
	}
	w := appTestDo(h, "GET", "/private/")
	assert.Equal(t, http.StatusNotFound, w.Code, "GET /private/: the status")

	w = appTestDo(h, "GET", "/private/notes.txt")
	assert.Equal(t, http.StatusOK, w.Code, "GET /private/notes.txt: a file in such a directory is served")
	assert.Equal(t, "nothing to see", w.Body.String(), "GET /private/notes.txt")
}

// staticTestRecordingFS serves the directory dir of root the way a careless
// file system would: it joins the name it is given onto dir without
// checking it, so "../secret.txt" escapes. It records every name Static asks
// for.
type staticTestRecordingFS struct {
	root fs.FS
	dir  string

	mu    sync.Mutex
	names []string
}

func (f *staticTestRecordingFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	f.names = append(f.names, name)
	f.mu.Unlock()
	return f.root.Open(path.Join(f.dir, name))
}

func TestStaticStaysInsideItsFS(t *testing.T) {
	exercise.Start(t, "4.2")
	// However a path is spelled, Static reads only inside fsys. It must not
	// rely on fsys to refuse "..": it cleans the path and asks only for
	// names that fs.ValidPath accepts, with no backslash (a separator on
	// Windows). Names with a part that starts with a dot (.env, .git) are
	// 404, as with express.static.
	root := fstest.MapFS{
		"public/index.html": {Data: []byte("<h1>chat</h1>")},
		"public/.env":       {Data: []byte("SESSION_SECRET=hunter2")},
		"secret.txt":        {Data: []byte("TOP SECRET")},
		"go.mod":            {Data: []byte("module TOP SECRET")},
	}
	fsys := &staticTestRecordingFS{root: root, dir: "public"}
	h := Static(fsys)

	w := appTestDo(h, "GET", "/index.html")
	require.Equal(t, http.StatusOK, w.Code, "GET /index.html: a file inside fsys is served")
	require.Equal(t, "<h1>chat</h1>", w.Body.String(), "GET /index.html")

	for _, target := range []string{
		"/../secret.txt",
		"/../go.mod",
		"/../../../secret.txt",
		"/%2e%2e/secret.txt",
		"/..%2fsecret.txt",
		"/%2e%2e%2fgo.mod",
		"/.%2e/secret.txt",
		"/public/../../secret.txt",
		"/./../secret.txt",
		"/..\\secret.txt",
		"/%5c..%5csecret.txt",
		"/.env",
		"/%2eenv",
	} {
		w := appTestDo(h, "GET", target)
		assert.NotContains(t, w.Body.String(), "TOP SECRET", "GET %s: Static served a file outside fsys", target)
		assert.NotContains(t, w.Body.String(), "hunter2", "GET %s: Static served a dot-file", target)
		assert.Equal(t, http.StatusNotFound, w.Code, "GET %s: the status", target)
	}

	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	for _, name := range fsys.names {
		assert.True(t, fs.ValidPath(name), "Static asked fsys for %q, which fs.ValidPath refuses", name)
		assert.NotContains(t, name, `\`, "Static asked fsys for %q, with a backslash in it", name)
	}
}

func TestStaticAnswersHEADAndRefusesOtherMethods(t *testing.T) {
	exercise.Start(t, "4.2")
	// HEAD is GET without the body; anything else is 405 with
	// Allow: GET, HEAD.
	files := staticTestFiles()
	h := Static(files)
	index := files["index.html"].Data

	w := appTestDo(h, "HEAD", "/")
	assert.Equal(t, http.StatusOK, w.Code, "HEAD /: the status")
	assert.Empty(t, w.Body.String(), "HEAD /: no body")
	assert.Equal(t, "text/html", staticTestMediaType(w.Header().Get("Content-Type")), "HEAD /: the Content-Type GET would have")
	assert.Equal(t, strconv.Itoa(len(index)), w.Header().Get("Content-Length"), "HEAD /: the Content-Length GET would have")

	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		for _, target := range []string{"/", "/chat.js"} {
			what := method + " " + target
			w := appTestDo(h, method, target)
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code, "%s: the status", what)
			assert.ElementsMatch(t, []string{"GET", "HEAD"}, appTestList(w.Header().Get("Allow")), "%s: the Allow header", what)
			appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), "method not allowed", what)
		}
	}
}

func TestStaticMountedUnderTheAPI(t *testing.T) {
	exercise.Start(t, "4.2")
	// The chat's layout: the API's routes, and the page's files at "/" for
	// every path no route claims.
	logger, _ := appTestNewLog()
	app := NewApp(logger)
	app.Handle("GET /api/messages", appTestSay("the history"))
	app.Mount("/", Static(staticTestFiles()))

	for _, c := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/api/messages", http.StatusOK, "the history"},
		{"GET", "/", http.StatusOK, "<!doctype html><title>chat</title>"},
		{"GET", "/chat.css", http.StatusOK, "body { margin: 0 }"},
		{"GET", "/nope.js", http.StatusNotFound, ""},
		{"POST", "/", http.StatusMethodNotAllowed, ""},
	} {
		w := appTestDo(app, c.method, c.target)
		assert.Equal(t, c.status, w.Code, "%s %s: the status", c.method, c.target)
		if c.status == http.StatusOK {
			assert.Equal(t, c.body, w.Body.String(), "%s %s: the body", c.method, c.target)
		} else {
			assert.Equal(t, "application/json", staticTestMediaType(w.Header().Get("Content-Type")), "%s %s: errors are JSON", c.method, c.target)
		}
	}
}
