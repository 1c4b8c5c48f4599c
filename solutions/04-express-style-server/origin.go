package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultOrigin is the origin the course's client runs on in development:
// the Vite dev server, the one origin the notes' socket.io server lists.
const DefaultOrigin = "http://localhost:5173"

// Origins is an allowlist of browser origins, each "scheme://host[:port]" in
// lower case, as ParseOrigins makes them: the Go for the origin list the
// course's Express server gives both the cors package and socket.io,
//
//	app.use(cors({ origin: ["http://localhost:5173"], credentials: true }));
//	const io = new Server(httpServer, { cors: { origin: ["http://localhost:5173"] } });
//
// and, as there, it guards both doors of the server:
//
//	origins, err := server.ParseOrigins(*originFlag)
//	// HTTP: the API and Engine.IO long polling.
//	app.Use(origins.CORS())
//	// WebSocket: the handshake.
//	sio := events.NewServer(events.Options{
//		Upgrader: events.GorillaUpgrader{CheckOrigin: origins.Allowed},
//	})
//
// # Why a server checks the Origin
//
// A browser sends a site's cookies with requests to it from other sites'
// pages too, unless a cookie is marked SameSite. So a page on evil.example
// that calls fetch or opens a WebSocket to the chat server may do so as the
// user, logged in. The browser
// tells the server where the page came from, in the Origin header, and
// stops there: it is up to the server to refuse.
//
// For fetch, the browser does part of the work. It lets a page read an
// answer from another origin only when the answer says so
// (Access-Control-Allow-Origin), and before a request a simple HTML form
// could not make (a JSON body, a custom header, a PUT) it asks first with a
// preflight OPTIONS request. That is CORS, the Fetch standard's "CORS
// protocol". But a simple cross-site POST is sent without asking, and the
// server acts on it even though the page never sees the answer; CORS here
// therefore refuses such a request outright, with 403.
//
// A WebSocket handshake has no CORS at all: the browser sends the Origin
// and opens the connection to whatever server accepts it (RFC 6455, section
// 10.2, "Origin Considerations"). The server's only defence is to refuse
// the handshake, which is what gorilla/websocket's Upgrader does, with 403,
// when its CheckOrigin returns false.
//
// An allowlist, not a pattern: "*", "null" and wildcards are not origins
// ParseOrigins accepts. The page the server serves itself needs no entry:
// Allowed lets a request whose Origin is the server's own host through.
type Origins []string

// ParseOrigins reads a comma-separated list of origins, the value of a
// -origin flag: "http://localhost:5173, https://chat.example.com". Each is
// trimmed, checked and put in the form a browser sends in its Origin
// header: scheme, host and port in lower case, no default port
// ("https://chat.example.com:443" is "https://chat.example.com"). An origin
// is http or https, a host, and an optional port, with nothing after it: no
// path, not even a trailing "/", no query, no user. The first one that is
// not is an error that names it. An empty s is an empty list: only the
// server's own pages are allowed.
func ParseOrigins(s string) (Origins, error) {
	if strings.TrimSpace(s) == "" {
		return Origins{}, nil
	}
	var o Origins
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		origin, err := canonicalOrigin(item)
		if err != nil {
			return nil, fmt.Errorf("origin %q: %w", item, err)
		}
		if !slices.Contains(o, origin) {
			o = append(o, origin)
		}
	}
	return o, nil
}

// canonicalOrigin checks that s is an origin as browsers serialize it
// (scheme "://" host [":" port]) and returns it in lower case, without a
// default port.
func canonicalOrigin(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("empty (two commas in a row, or one at an end?)")
	case s == "*" || strings.Contains(s, "*"):
		return "", errors.New("wildcards are not allowed: list each origin")
	case strings.EqualFold(s, "null"):
		return "", errors.New(`"null" is the origin of sandboxed and file:// pages; any site can send it`)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", errors.New("want http:// or https:// followed by a host")
	case u.Opaque != "" || u.Host == "":
		return "", errors.New("no host: want scheme://host[:port]")
	case u.User != nil:
		return "", errors.New("an origin has no user name")
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#"):
		return "", errors.New("an origin ends after the host and port: no path (not even a /), query or fragment")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("no host: want scheme://host[:port]")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	port := u.Port()
	if port == "" && strings.HasSuffix(u.Host, ":") {
		return "", errors.New("a colon with no port after it")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %s is not a number from 1 to 65535", port)
		}
		port = strconv.Itoa(n)
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = "" // browsers leave the default port out of Origin
		}
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// Allowed reports whether a request may come from where it says it comes
// from. It has the signature of gorilla/websocket's CheckOrigin, and is
// what CORS asks. It is true when
//
//   - the request has no Origin header: it is not from a browser's page
//     (curl, a Go client, a server), and a page cannot make a browser leave
//     the header out of a request that matters;
//   - the Origin's host is the request's Host (compared without regard to
//     case): the page was served by this server, as a page at "/" of the
//     chat is. gorilla/websocket's default check is this one alone;
//   - the Origin, in lower case, is in the list.
//
// Anything else is false: other sites, "null" (sandboxed frames and local
// files, which any page can produce), an empty or malformed Origin, or
// more than one.
//
// The same-host rule trusts the Host header, which the browser sets from
// the URL it connects to. Behind a proxy that rewrites Host, list the
// public origin explicitly.
func (o Origins) Allowed(r *http.Request) bool {
	values, ok := r.Header["Origin"]
	if !ok {
		return true
	}
	if len(values) != 1 {
		return false // a browser sends one; two are someone's trick
	}
	origin := values[0]
	if origin == "" || strings.EqualFold(origin, "null") {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	canon, err := canonicalOrigin(origin)
	return err == nil && slices.Contains(o, canon)
}

// Methods and headers of a CORS preflight answer.
const (
	corsAllowMethods = "GET, POST, OPTIONS"
	corsMaxAge       = "600" // seconds a browser may cache a preflight answer
)

// CORS returns the middleware that applies the allowlist to HTTP requests,
// the API's and Engine.IO long polling's alike, as Express's
// cors({origin: [...], credentials: true}) does, and then some:
//
//   - Every answer gets Vary: Origin, because it depends on the Origin: a
//     cache must not hand one origin's answer to another.
//   - A request with no Origin (not from a browser's page) goes through.
//   - A request whose origin is allowed goes through, and its answer gets
//     Access-Control-Allow-Origin: <its origin> and
//     Access-Control-Allow-Credentials: true, which let the page read it,
//     cookies and all.
//   - A preflight from an allowed origin (OPTIONS with an
//     Access-Control-Request-Method header) is answered here, 204 No
//     Content, with Access-Control-Allow-Methods: GET, POST, OPTIONS,
//     Access-Control-Allow-Headers: the headers it asked for (or
//     Content-Type when it asked for none), and Access-Control-Max-Age: 600;
//     it goes no further.
//   - A request from any other origin, preflight or not, is refused: 403
//     {"error":"origin not allowed"}. For a preflight, the browser would
//     refuse anyway; for a simple request (a form-style POST), refusing is
//     what stops it from doing anything, because the browser sends it
//     without asking.
//
// A WebSocket handshake that passes through CORS is checked the same way,
// so that a refused origin gets the same 403 as from the events server's
// upgrader.
func (o Origins) CORS() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if preflight {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
			}
			origin := r.Header.Get("Origin")
			if _, sent := r.Header["Origin"]; !sent {
				next.ServeHTTP(w, r)
				return
			}
			if !o.Allowed(r) {
				writeError(w, http.StatusForbidden, "origin not allowed")
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			if !preflight {
				next.ServeHTTP(w, r)
				return
			}
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			if asked := r.Header.Values("Access-Control-Request-Headers"); len(asked) > 0 {
				h.Set("Access-Control-Allow-Headers", strings.Join(asked, ", "))
			} else {
				h.Set("Access-Control-Allow-Headers", "Content-Type")
			}
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
		})
	}
}
