package login

import (
	"context"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// Exercise 5.4: Authenticate, the middleware that checks a socket's token
// when it connects, and UserOf, which tells a handler whose socket it is.
// These tests use a rig (ltNewRig): an events.Server with
// io.Use(Authenticate(tokens)) behind lesson 04's Engine, and no Chat.

// amJoin is what the server's connection handler saw: UserOf of the socket.
type amJoin struct {
	user Claims
	ok   bool
}

// amNextJoin waits for the next socket the server accepted.
func amNextJoin(t *testing.T, joined <-chan amJoin, who string) amJoin {
	t.Helper()
	select {
	case j := <-joined:
		return j
	case <-time.After(ltTimeout):
		t.Fatalf("%s: the client says it is connected, but the server's OnConnection never ran", who)
		return amJoin{}
	}
}

// amRequireUser requires the socket to carry the claims of the token it
// connected with.
func amRequireUser(t *testing.T, j amJoin, want Claims, who string) {
	t.Helper()
	require.True(t, j.ok, "%s: UserOf(socket) must find the claims Authenticate stored in Handshake.Data", who)
	require.Equal(t, want.Name, j.user.Name, "%s: UserOf(socket).Name", who)
	require.Equal(t, want.UserID, j.user.UserID, "%s: UserOf(socket).UserID", who)
	require.Equal(t, want.ID, j.user.ID, "%s: UserOf(socket).ID, the token's jti", who)
	require.True(t, want.Expires.Equal(j.user.Expires), "%s: UserOf(socket).Expires is %v, the token's is %v", who, j.user.Expires, want.Expires)
}

// The course's client is created with autoConnect: false and connects only
// once the user has logged in. Ana's and bob's socket.io-clients are both
// created with their tokens; only bob calls connect(). Until ana does too,
// the server sees nothing from her: no Engine.IO handshake, no socket. Then
// she connects, and each socket carries its own user, which the connection
// handler reads with UserOf. Bob comes over long-polling (upgraded to a
// WebSocket), ana over a WebSocket from the start: the token travels in the
// CONNECT packet either way.
func TestAuthenticateConnectsAfterLogin(t *testing.T) {
	exercise.Start(t, "5.4")
	rig := ltNewRig(t, time.Hour, false)
	joined := make(chan amJoin, 8)
	rig.IO.OnConnection(func(s *events.Socket) {
		u, ok := UserOf(s)
		joined <- amJoin{u, ok}
	})
	anaToken, anaClaims := rig.Token(t, "ana")
	bobToken, bobClaims := rig.Token(t, "bob")

	ana := ltSIO(t, rig.URL, anaToken, map[string]any{"transports": []string{"websocket"}})
	bob := ltSIO(t, rig.URL, bobToken, nil)
	ltConnected(t, bob, "bob")
	amRequireUser(t, amNextJoin(t, joined, "bob"), bobClaims, "bob")
	rig.Handshakes.RequireNoMore(t, 1,
		"ana's client was created with autoConnect: false and has not called connect(), so only bob's may have reached the server")
	require.Len(t, rig.IO.Of("/").Sockets(), 1, "only bob is connected")

	ltConnected(t, ana, "ana")
	amRequireUser(t, amNextJoin(t, joined, "ana"), anaClaims, "ana")
	require.Len(t, rig.IO.Of("/").Sockets(), 2, "ana and bob are connected")

	// The Go client of lesson 03 sends its auth the same way.
	ltMustDialGo(t, rig.URL, "ana (Go)", anaToken)
	amRequireUser(t, amNextJoin(t, joined, "ana (Go)"), anaClaims, "ana's second socket, with the same token")

	// A socket that did not come through Authenticate has no user.
	open := rig.IO.Of("/open")
	open.OnConnection(func(s *events.Socket) {
		u, ok := UserOf(s)
		joined <- amJoin{u, ok}
	})
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	c, err := ltConnectGo(ctx, rig.URL, events.ClientOptions{Namespace: "/open"})
	require.NoError(t, err, "a namespace without middleware lets anyone in")
	t.Cleanup(func() { _ = c.Close() })
	j := amNextJoin(t, joined, "anonymous")
	require.False(t, j.ok, "UserOf of a socket that no Authenticate let in reports ok == false, got %+v", j.user)
}

// amForge returns token with its signature changed in one character: the
// payload and header are still the server's, but the signature no longer
// matches them.
func amForge(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT is three parts separated by dots: %q", token)
	sig := []byte(parts[2])
	i := len(sig) / 2
	if sig[i] == 'A' {
		sig[i] = 'B'
	} else {
		sig[i] = 'A'
	}
	return parts[0] + "." + parts[1] + "." + string(sig)
}

// amUnsigned returns token with its header changed to {"alg":"none"} and
// its signature dropped: an "unsecured JWT" (RFC 7519, section 6) claiming
// to be the same user.
func amUnsigned(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT is three parts separated by dots: %q", token)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + parts[1] + "."
}

// Every way a CONNECT can be without a good token is refused, with the
// CONNECT_ERROR message that says which: MsgNoToken, MsgBadToken,
// MsgExpired, MsgRevoked. socket.io-client shows it as err.message in its
// connect_error listener; lesson 03's Go client returns it as an
// *events.ConnectError. The server makes no socket for any of them.
func TestAuthenticateRefusesBadTokens(t *testing.T) {
	exercise.Start(t, "5.4")
	ltNoLeaks(t)
	rig := ltNewRig(t, time.Hour, false)
	var sockets atomic.Int32
	rig.IO.OnConnection(func(*events.Socket) { sockets.Add(1) })

	good, _ := rig.Token(t, "ana")
	revoked, revokedClaims := rig.Token(t, "ana")
	require.NoError(t, rig.Tokens.Revoke(context.Background(), revokedClaims), "Tokens.Revoke")
	other, err := NewTokens(rig.DB, []byte("another key, 32 bytes or longer!!"), time.Hour)
	require.NoError(t, err, "NewTokens with another key")
	u, err := rig.Users.Authenticate(context.Background(), "ana", ltPassword)
	require.NoError(t, err)
	foreign, _, err := other.Issue(u)
	require.NoError(t, err, "Issue with another key")

	// socket.io-client, created first, connected when its turn comes.
	nodeCases := []struct {
		name, token, want string
	}{
		{"no token", "", MsgNoToken},
		{"a forged signature", amForge(t, good), MsgBadToken},
		{"a revoked token", revoked, MsgRevoked},
		{"an expired token", good, MsgExpired},
	}
	clients := make(map[string]func() string)
	for _, c := range nodeCases {
		sio := ltSIO(t, rig.URL, c.token, nil)
		clients[c.name] = func() string {
			t.Helper()
			return ltRefused(t, sio, "socket.io-client with "+c.name).Message
		}
	}

	for _, c := range []struct {
		name string
		auth any
		want string
	}{
		{"no auth at all", nil, MsgNoToken},
		{"auth without a token", map[string]any{}, MsgNoToken},
		{"an empty token", map[string]any{"token": ""}, MsgNoToken},
		{"a token that is null", map[string]any{"token": nil}, MsgNoToken},
		{"a token that is not a string", map[string]any{"token": 42}, MsgBadToken},
		{"a token that is not a JWT", map[string]any{"token": "let me in"}, MsgBadToken},
		{"a token signed with another key", map[string]any{"token": foreign}, MsgBadToken},
		{"a token whose signature was changed", map[string]any{"token": amForge(t, good)}, MsgBadToken},
		{`a token with "alg": "none" and no signature`, map[string]any{"token": amUnsigned(t, good)}, MsgBadToken},
		{"a revoked token", map[string]any{"token": revoked}, MsgRevoked},
	} {
		ltRefusedGo(t, rig.URL, c.auth, c.want, c.name)
	}
	for _, c := range nodeCases[:3] {
		require.Equal(t, c.want, clients[c.name](), "socket.io-client with %s: connect_error's err.message", c.name)
	}

	// Time passes: the token that was good has expired.
	rig.Clock.Advance(time.Hour + time.Minute)
	ltRefusedGo(t, rig.URL, map[string]any{"token": good}, MsgExpired, "a token past its expiry")
	c := nodeCases[3]
	require.Equal(t, c.want, clients[c.name](), "socket.io-client with %s: connect_error's err.message", c.name)

	require.Empty(t, rig.IO.Of("/").Sockets(), "no refused client may have a socket")
	require.Zero(t, sockets.Load(), "the connection handler must not run for a refused client")
}

// TestAuthenticateRunsAgainWhenASessionRecovers: with connection state
// recovery on (lesson 03's exercise 3.9), a client whose connection drops
// comes back to its session, and the middleware checks its token again
// on the way: a token revoked, or expired, while the client was away gets
// connect_error, not the session.
func TestAuthenticateRunsAgainWhenASessionRecovers(t *testing.T) {
	exercise.Start(t, "5.4")
	ltNoLeaks(t)
	rig := ltNewRig(t, time.Hour, false, events.Options{Recovery: &events.RecoveryOptions{}})
	reconnecting := map[string]any{"transports": []string{"websocket"}, "reconnection": true, "reconnectionDelay": 500, "randomizationFactor": 0}

	// dropAndReturn connects a client with token, drops its connection,
	// runs away (what happens while it is gone) and returns what the
	// client reports when it tries to come back.
	dropAndReturn := func(token string, away func()) (first, back nodepeer.Report) {
		t.Helper()
		c := ltSIO(t, rig.URL, token, reconnecting)
		c.Connect()
		first = c.WaitFor("connect", "", ltTimeout)
		c.DropTransport()
		c.WaitFor("disconnect", "", ltTimeout)
		away()
		for {
			back = c.Next(ltTimeout)
			if back.Kind == "connect" || back.Kind == "connect_error" {
				return first, back
			}
		}
	}

	token, _ := rig.Token(t, "ana")
	first, back := dropAndReturn(token, func() {})
	require.Equal(t, "connect", back.Kind, "ana, token still valid: %s", back)
	require.True(t, back.Recovered, "ana: a valid token recovers the session")
	require.Equal(t, first.ID, back.ID, "ana: the same socket.id")

	token, claims := rig.Token(t, "bob")
	_, back = dropAndReturn(token, func() {
		require.NoError(t, rig.Tokens.Revoke(context.Background(), claims))
	})
	require.Equal(t, "connect_error", back.Kind, "bob's token was revoked while he was away: the recovery is refused, got %s", back)
	require.Equal(t, MsgRevoked, back.Message)

	token, _ = rig.Token(t, "cyd")
	_, back = dropAndReturn(token, func() { rig.Clock.Advance(2 * time.Hour) })
	require.Equal(t, "connect_error", back.Kind, "cyd's token expired while she was away: the recovery is refused, got %s", back)
	require.Equal(t, MsgExpired, back.Message)
}
