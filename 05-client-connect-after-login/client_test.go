package login

// Exercise 5.6: a client that connects after login.
//
// The course's client makes its socket with autoConnect: false and calls
// socket.connect() once the user has logged in. These tests hold the Go
// Client to the same: nothing dialled before Login and Connect; then a
// connection that carries the token, whose handlers survive reconnections,
// that comes back by itself after a server restart — waiting longer before
// each attempt — and that stops for good when the server refuses the token,
// when the server ends the session, or when the program disconnects or
// logs out.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/netcut"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The reasons the Client reports, socket.io-client's words.
const (
	clTransportClose   = "transport close"
	clClientDisconnect = "io client disconnect"
	clServerDisconnect = "io server disconnect"
)

// TestClientConnectsOnlyAfterLogin: NewClient and Login dial no socket;
// Connect before Login is ErrNotLoggedIn; Connect after Login opens one
// session, whose events flow both ways.
func TestClientConnectsOnlyAfterLogin(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)

	// const socket = io(BASE_URL, { autoConnect: false });
	c := NewClient(srv.URL, ClientOptions{})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	messages := clMessages(t, c)

	err := c.Connect(clCtx(t))
	require.ErrorIs(t, err, ErrNotLoggedIn, "Connect before Login: there is no token to connect with (lessons/05, \"A client that connects after login\")")

	require.NoError(t, c.Login(clCtx(t), clName, ltPassword), "Login with the right password")
	u, ok := c.User()
	require.True(t, ok, "User() after Login")
	require.Equal(t, clName, u.Name, "User() after Login")

	clNone(t, statuses, "Login must not connect while AutoConnect is false")
	require.Zero(t, srv.Opens(), "the server saw a Socket.IO session before Connect: NewClient and Login must dial nothing")
	require.False(t, c.Connected(), "Connected() before Connect")

	// socket.connect();
	require.NoError(t, c.Connect(clCtx(t)), "Connect after Login")
	require.Equal(t, 1, srv.Opens(), "Socket.IO sessions after one Connect")
	require.True(t, c.Connected(), "Connected() after Connect")
	st := clNext(t, statuses)
	require.Equal(t, StateConnected, st.State, "the first status after Connect: %s", st)

	clSend(t, c, "hello")
	m := clAwaitMessage(t, messages, "hello")
	require.Equal(t, clName, m.Message.Author, "message-saved: the author is the user the token names")

	require.NoError(t, c.Connect(clCtx(t)), "Connect on a connected Client")
	require.Equal(t, 1, srv.Opens(), "Connect on a connected Client must not dial again")

	require.NoError(t, c.Disconnect())
	st = clNext(t, statuses)
	require.Equal(t, StateDisconnected, st.State, "status after Disconnect: %s", st)
	require.Equal(t, clClientDisconnect, st.Reason, "status after Disconnect: %s", st)
	require.False(t, c.Connected(), "Connected() after Disconnect")
}

// TestClientLoginWithWrongPassword: a refused login is an error that
// errors.Is matches with ErrBadCredentials, keeps no token and dials
// nothing, even with AutoConnect; a good one with AutoConnect connects.
func TestClientLoginWithWrongPassword(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)

	c := NewClient(srv.URL, ClientOptions{AutoConnect: true})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)

	for _, name := range []string{clName, "nobody"} {
		err := c.Login(clCtx(t), name, "not the password")
		require.ErrorIs(t, err, ErrBadCredentials, "Login(%q, wrong password): the server answers 401", name)
		ae, ok := errors.AsType[*APIError](err)
		require.True(t, ok, "Login(%q, wrong password): want an *APIError, got %T: %v", name, err, err)
		require.Equal(t, http.StatusUnauthorized, ae.Status, "Login(%q, wrong password): APIError.Status", name)
	}
	_, ok := c.User()
	require.False(t, ok, "User() after failed logins")
	require.ErrorIs(t, c.Connect(clCtx(t)), ErrNotLoggedIn, "Connect after failed logins")
	clNone(t, statuses, "a failed login must not connect")
	require.Zero(t, srv.Opens(), "the server saw a Socket.IO session after failed logins")

	require.NoError(t, c.Login(clCtx(t), clName, ltPassword), "Login with the right password, AutoConnect on")
	require.True(t, c.Connected(), "with AutoConnect, Login connects once it has the token")
	require.Equal(t, 1, srv.Opens(), "Socket.IO sessions after Login with AutoConnect")
	require.Equal(t, StateConnected, clNext(t, statuses).State)
}

// TestClientReconnectsAfterServerRestart: when the server restarts, the
// Client dials again by itself, waiting min(MaxBackoff, MinBackoff·2ⁿ)
// (here the whole ceiling: Jitter returns it) before attempt n, and is
// let in with its token; the handlers registered once still get events.
func TestClientReconnectsAfterServerRestart(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)

	const minB, maxB = 40 * time.Millisecond, 160 * time.Millisecond
	var mu sync.Mutex
	var ceilings []time.Duration
	c := NewClient(srv.URL, ClientOptions{
		MinBackoff: minB,
		MaxBackoff: maxB,
		Jitter: func(ceiling time.Duration) time.Duration {
			mu.Lock()
			ceilings = append(ceilings, ceiling)
			mu.Unlock()
			return ceiling
		},
	})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	messages := clMessages(t, c)
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))
	require.NoError(t, c.Connect(clCtx(t)))
	clAwait(t, statuses, StateConnected)
	clSend(t, c, "before the restart")
	clAwaitMessage(t, messages, "before the restart")

	srv.stop()
	want := func(n int) time.Duration { // the ceiling before attempt n, from 1
		return min(maxB, minB<<(n-1))
	}
	var tries []clStatus
	for len(tries) < 5 {
		st := clNext(t, statuses)
		require.Equal(t, StateReconnecting, st.State, "status while the server is down: %s", st)
		tries = append(tries, st)
	}
	srv.start(srv.addr)
	deadline := time.Now().Add(ltTimeout)
	for {
		st := clNext(t, statuses)
		if st.State == StateConnected {
			break
		}
		require.True(t, time.Now().Before(deadline), "the server has been back for %v, and the Client is still reconnecting: %s", ltTimeout, st)
		require.Equal(t, StateReconnecting, st.State, "status once the server is back: %s", st)
		tries = append(tries, st)
	}

	require.Equal(t, clTransportClose, tries[0].Reason, "the reason the connection ended when the server shut down")
	for i, st := range tries {
		n := i + 1
		require.Equal(t, n, st.Attempt, "attempts are numbered from 1: %s", st)
		require.Equal(t, want(n), st.Delay, "the wait before attempt %d is min(MaxBackoff, MinBackoff·2^%d) (Jitter returned the ceiling)", n, n-1)
		if i > 0 {
			require.Error(t, st.Err, "status of attempt %d: the failure of attempt %d", n, n-1)
		}
		if i+1 < len(tries) {
			gap := tries[i+1].At.Sub(st.At)
			require.GreaterOrEqual(t, gap, st.Delay, "attempt %d came %v after the status that announced a wait of %v", n+1, gap, st.Delay)
			require.Less(t, gap, st.Delay+2*time.Second, "attempt %d came %v after the status that announced a wait of %v", n+1, gap, st.Delay)
		}
	}
	mu.Lock()
	got := append([]time.Duration(nil), ceilings...)
	mu.Unlock()
	require.GreaterOrEqual(t, len(got), len(tries), "Jitter is asked once per attempt")
	for i := range tries {
		require.Equal(t, want(i+1), got[i], "the ceiling given to Jitter before attempt %d", i+1)
	}

	require.True(t, c.Connected(), "Connected() after reconnecting")
	require.Equal(t, 2, srv.Opens(), "Socket.IO sessions: the first and the one after the restart (attempts while it was down find no server)")
	clSend(t, c, "after the restart")
	m := clAwaitMessage(t, messages, "after the restart")
	require.Equal(t, clName, m.Message.Author, "the handler given to On before the restart gets the events after it, and the token still names the user")
}

// TestClientRecoversItsSession: with connection state recovery on (lesson
// 03's exercise 3.9), the Client whose connection drops asks for its
// session on every reconnection; it comes back with the same socket ID,
// Status.Recovered, and the message saved while it was away, once.
func TestClientRecoversItsSession(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour, func(cfg *Config) {
		cfg.Events.Recovery = &events.RecoveryOptions{}
	})
	ltRegister(t, srv.URL, clName)
	ltRegister(t, srv.URL, clOther)
	var link netcut.Link
	const wait = 300 * time.Millisecond // before the first reconnection: time for bob to write
	c := NewClient(srv.URL, ClientOptions{
		Dialer: link.Dialer(ltTimeout), MinBackoff: wait, MaxBackoff: wait,
		Jitter: func(ceiling time.Duration) time.Duration { return ceiling },
	})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	messages := clMessages(t, c)
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))
	require.NoError(t, c.Connect(clCtx(t)))
	require.False(t, clAwait(t, statuses, StateConnected).Recovered, "the first connection recovers nothing")
	clSend(t, c, "before the drop")
	clAwaitMessage(t, messages, "before the drop")

	bob := NewClient(srv.URL, ClientOptions{})
	t.Cleanup(func() { _ = bob.Disconnect() })
	require.NoError(t, bob.Login(clCtx(t), clOther, ltPassword))
	require.NoError(t, bob.Connect(clCtx(t)))

	link.Cut()
	require.Equal(t, StateReconnecting, clNext(t, statuses).State)
	clSend(t, bob, "while ana was away")
	st := clAwait(t, statuses, StateConnected)
	require.True(t, st.Recovered, "Status.Recovered after the reconnection: %s", st)
	require.Contains(t, st.String(), "session recovered")
	clAwaitMessage(t, messages, "while ana was away")
	clSend(t, bob, "after")
	require.Equal(t, "after", ltDecodeResult(t, "message-saved", clNextRaw(t, messages)).Message.Text,
		"the missed message came once: the next one is the one sent after")
}

// clNextRaw is the next value of ch, within ltTimeout.
func clNextRaw(t *testing.T, ch <-chan json.RawMessage) json.RawMessage {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ltTimeout):
		t.Fatalf("nothing within %v", ltTimeout)
		return nil
	}
}

// TestClientStopsWhenTokenExpiredWhileReconnecting: a token that expires
// while the server is down is refused when it is back ("token expired");
// the Client reports it and stops, instead of trying again and again. The
// waits before the attempts stay within the backoff's ceilings.
func TestClientStopsWhenTokenExpiredWhileReconnecting(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	const ttl = 3 * time.Second // tokens expire at whole seconds: (2 s, 3 s] after login
	srv := clStartServer(t, ttl)
	ltRegister(t, srv.URL, clName)

	const minB, maxB = 20 * time.Millisecond, 100 * time.Millisecond
	c := NewClient(srv.URL, ClientOptions{MinBackoff: minB, MaxBackoff: maxB})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	loggedIn := time.Now()
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))
	require.NoError(t, c.Connect(clCtx(t)))
	clAwait(t, statuses, StateConnected)

	srv.stop()
	// The server is down until the token has expired.
	<-time.After(time.Until(loggedIn.Add(ttl + 100*time.Millisecond)))
	srv.start(srv.addr)

	var st clStatus
	deadline := time.Now().Add(ltTimeout)
	for {
		st = clNext(t, statuses)
		if st.State != StateReconnecting {
			break
		}
		require.True(t, time.Now().Before(deadline), "the server has been back for %v, refusing the expired token, and the Client is still reconnecting: %s", ltTimeout, st)
		ceiling := min(maxB, minB<<min(st.Attempt-1, 30))
		require.GreaterOrEqual(t, st.Delay, time.Duration(0), "full jitter: the wait is between 0 and the ceiling: %s", st)
		require.LessOrEqual(t, st.Delay, ceiling, "full jitter: the wait before attempt %d is at most min(MaxBackoff, MinBackoff·2^%d) = %v: %s", st.Attempt, st.Attempt-1, ceiling, st)
	}
	require.Equal(t, StateDisconnected, st.State, "after the refusal: %s", st)
	ce := clConnectError(t, st.Err)
	require.Equal(t, MsgExpired, ce.Message, "the refusal OnStatus reports")
	require.Equal(t, clTransportClose, st.Reason, "the reason of the connection's end stays that of the restart")

	opens := srv.Opens()
	clNone(t, statuses, "after a refused token the Client must stop reconnecting")
	require.Equal(t, opens, srv.Opens(), "the Client dialled again after the server refused its token")
	require.False(t, c.Connected(), "Connected() after the refusal")

	err := c.Connect(clCtx(t))
	ce = clConnectError(t, err)
	require.Equal(t, MsgExpired, ce.Message, "Connect with the expired token returns the refusal")
	require.Equal(t, opens+1, srv.Opens(), "Connect with the expired token: one attempt")
	clNone(t, statuses, "a refused Connect leaves nothing running")
	require.Equal(t, opens+1, srv.Opens(), "a refused Connect leaves nothing running")

	require.NoError(t, c.Login(clCtx(t), clName, ltPassword), "logging in again")
	require.NoError(t, c.Connect(clCtx(t)), "Connect with the new token")
	clAwait(t, statuses, StateConnected)
}

// TestClientDoesNotReconnectAfterSessionEnded: when the server ends the
// socket itself ("session-ended", then DISCONNECT: here, the token
// expired while connected), the Client passes the event on and does not
// reconnect, as socket.io-client does not after "io server disconnect".
func TestClientDoesNotReconnectAfterSessionEnded(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, 2*time.Second)
	ltRegister(t, srv.URL, clName)

	c := NewClient(srv.URL, ClientOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	ended := make(chan string, 1)
	c.On(SessionEnded, func(e *events.Event) {
		var body struct {
			Reason string `json:"reason"`
		}
		_ = e.Decode(0, &body)
		ended <- body.Reason
	})
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))
	require.NoError(t, c.Connect(clCtx(t)))
	clAwait(t, statuses, StateConnected)

	select {
	case reason := <-ended:
		require.Equal(t, ReasonTokenExpired, reason, "session-ended's reason")
	case <-time.After(ltTimeout):
		t.Fatalf("no %q event within %v of connecting with a token that lasts 2 s", SessionEnded, ltTimeout)
	}
	st := clNext(t, statuses)
	require.Equal(t, StateDisconnected, st.State, "status after the server ended the session: %s", st)
	require.Equal(t, clServerDisconnect, st.Reason, "status after the server ended the session: %s", st)
	clNone(t, statuses, "after the server's DISCONNECT the Client must not reconnect")
	require.Equal(t, 1, srv.Opens(), "the Client dialled again after the server ended its session")
}

// TestClientLogout: Logout disconnects, revokes the token on the server
// (POST /api/logout) and forgets it; nothing reconnects.
func TestClientLogout(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)

	c := NewClient(srv.URL, ClientOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))
	require.NoError(t, c.Connect(clCtx(t)))
	clAwait(t, statuses, StateConnected)

	require.NoError(t, c.Logout(clCtx(t)), "Logout")
	st := clNext(t, statuses)
	require.Equal(t, StateDisconnected, st.State, "status after Logout: %s", st)
	require.Equal(t, clClientDisconnect, st.Reason, "status after Logout: %s", st)
	require.False(t, c.Connected(), "Connected() after Logout")
	clNone(t, statuses, "after Logout the Client must not reconnect")
	require.Equal(t, 1, srv.Opens(), "the Client dialled again after Logout")

	logouts := srv.Logouts()
	require.Len(t, logouts, 1, "Logout posts to /api/logout once")
	conn, err := ltConnectGo(clCtx(t), srv.URL, events.ClientOptions{Auth: map[string]string{"token": logouts[0]}})
	if err == nil {
		_ = conn.Close()
	}
	ce := clConnectError(t, err)
	require.Equal(t, MsgRevoked, ce.Message, "a socket with the token Logout sent (Authorization: Bearer) is refused")

	_, ok := c.User()
	require.False(t, ok, "User() after Logout")
	require.ErrorIs(t, c.Connect(clCtx(t)), ErrNotLoggedIn, "Connect after Logout")
	require.ErrorIs(t, c.Emit("send-message", map[string]string{"text": "x"}), ErrNotConnected, "Emit after Logout")
	require.NoError(t, c.Logout(clCtx(t)), "Logout again: nothing to do")
	require.Len(t, srv.Logouts(), 1, "Logout without a token posts nothing")
}

// TestClientDisconnectIsIdempotent: Disconnect before Connect, and twice,
// is no error and reports once; the token stays, so Connect connects
// again, with the handlers given to On before.
func TestClientDisconnectIsIdempotent(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)

	c := NewClient(srv.URL, ClientOptions{})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	messages := clMessages(t, c)
	require.NoError(t, c.Disconnect(), "Disconnect before anything")
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))
	require.NoError(t, c.Connect(clCtx(t)))
	clAwait(t, statuses, StateConnected)

	require.NoError(t, c.Disconnect(), "Disconnect")
	require.NoError(t, c.Disconnect(), "Disconnect again")
	st := clNext(t, statuses)
	require.Equal(t, StateDisconnected, st.State, "status after Disconnect: %s", st)
	clNone(t, statuses, "a second Disconnect reports nothing")
	require.ErrorIs(t, c.Emit("send-message", map[string]string{"text": "x"}), ErrNotConnected, "Emit after Disconnect")
	_, err := c.EmitWithAck(clCtx(t), "send-message", map[string]string{"text": "x"})
	require.ErrorIs(t, err, ErrNotConnected, "EmitWithAck after Disconnect")

	require.NoError(t, c.Connect(clCtx(t)), "Connect after Disconnect: the token stays")
	clAwait(t, statuses, StateConnected)
	require.Equal(t, 2, srv.Opens(), "Socket.IO sessions: two Connects")
	clSend(t, c, "again")
	clAwaitMessage(t, messages, "again")
}

// TestClientConcurrentUse: Emit, On, Connected, Connect and Disconnect from
// several goroutines at once (run with -race), and Disconnect from an
// event handler and from an OnStatus function, which must not deadlock.
func TestClientConcurrentUse(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)

	c := NewClient(srv.URL, ClientOptions{})
	t.Cleanup(func() { _ = c.Disconnect() })
	statuses := clWatch(c)
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				err := c.Emit("send-message", map[string]string{"text": fmt.Sprintf("g%d-%d", i, j)})
				if err != nil && !errors.Is(err, ErrNotConnected) && !errors.Is(err, events.ErrDisconnected) {
					t.Errorf("Emit: %v", err)
					return
				}
				c.On(fmt.Sprintf("event-%d", i), func(*events.Event) {})
				_ = c.Connected()
				<-time.After(time.Millisecond)
			}
		})
	}
	for range 3 {
		require.NoError(t, c.Connect(clCtx(t)))
		clAwait(t, statuses, StateConnected)
		require.NoError(t, c.Disconnect())
		clAwait(t, statuses, StateDisconnected)
	}
	close(stop)
	wg.Wait()

	// Disconnect from an event handler.
	handled := make(chan error, 1)
	c.On("message-saved", func(*events.Event) { handled <- c.Disconnect() })
	require.NoError(t, c.Connect(clCtx(t)))
	clAwait(t, statuses, StateConnected)
	require.NoError(t, c.Emit("send-message", map[string]string{"text": "bye"}))
	select {
	case err := <-handled:
		require.NoError(t, err, "Disconnect from an event handler")
	case <-time.After(ltTimeout):
		t.Fatalf("Disconnect from an event handler did not return within %v", ltTimeout)
	}
	st := clAwait(t, statuses, StateDisconnected)
	require.Equal(t, clClientDisconnect, st.Reason)
	c.On("message-saved", nil)

	// Disconnect from an OnStatus function.
	var once sync.Once
	fromStatus := make(chan error, 1)
	c.OnStatus(func(s Status) {
		if s.State == StateConnected {
			once.Do(func() { fromStatus <- c.Disconnect() })
		}
	})
	require.NoError(t, c.Connect(clCtx(t)))
	select {
	case err := <-fromStatus:
		require.NoError(t, err, "Disconnect from an OnStatus function")
	case <-time.After(ltTimeout):
		t.Fatalf("Disconnect from an OnStatus function did not return within %v", ltTimeout)
	}
	clAwait(t, statuses, StateDisconnected)
	require.False(t, c.Connected())
}

// TestClientWithSocketIOClient: the course's own client, the npm
// socket.io-client made with autoConnect: false and the token as auth,
// and the Go Client, side by side on the same server: neither dials before
// its connect, and then they chat, each seeing the other's messages under
// the name its token carries.
func TestClientWithSocketIOClient(t *testing.T) {
	exercise.Start(t, "5.6")
	ltNoLeaks(t)
	srv := clStartServer(t, time.Hour)
	ltRegister(t, srv.URL, clName)
	ltRegister(t, srv.URL, clOther)

	// bob logs in in the browser; the page then makes its socket:
	//   const socket = io(BASE_URL, { autoConnect: false, auth: { token } });
	token := ltLogIn(t, srv.URL, clOther).Token
	js := nodepeer.StartSIOClient(t, srv.URL, map[string]any{
		"autoConnect": false,
		"auth":        map[string]any{"token": token},
	})
	if js == nil {
		return // no Node: skipped
	}
	// ana logs in with the Go Client.
	c := NewClient(srv.URL, ClientOptions{})
	t.Cleanup(func() { _ = c.Disconnect() })
	messages := clMessages(t, c)
	require.NoError(t, c.Login(clCtx(t), clName, ltPassword))

	// Node needs a few hundred milliseconds to start; a client that
	// dialled at io() would have by then.
	<-time.After(time.Second)
	require.Zero(t, srv.Opens(), "a Socket.IO session was opened before either client's connect")

	js.Connect()
	r := js.Next(ltTimeout)
	require.Equal(t, "connect", r.Kind, "socket.io-client after socket.connect() with the token: %s", r)
	require.Equal(t, 1, srv.Opens(), "Socket.IO sessions after socket.connect()")
	require.NoError(t, c.Connect(clCtx(t)))
	require.Equal(t, 2, srv.Opens(), "Socket.IO sessions after both connected")

	js.Emit("send-message", map[string]any{"text": "hi from node"})
	m := clAwaitMessage(t, messages, "hi from node")
	require.Equal(t, clOther, m.Message.Author, "message-saved of socket.io-client's message, as the Go Client gets it")

	clSend(t, c, "hi from go")
	for {
		r := ltNextSaved(t, js, "bob (socket.io-client)")
		if r.Success && r.Message.Text == "hi from go" {
			require.Equal(t, clName, r.Message.Author, "message-saved of the Go Client's message, as socket.io-client gets it")
			break
		}
	}
	require.NoError(t, c.Disconnect())
	js.Disconnect()
	require.Equal(t, "disconnect", js.WaitFor("disconnect", "", ltTimeout).Kind)
}
