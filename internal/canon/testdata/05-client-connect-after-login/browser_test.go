package login

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/browser"
	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/peer"
)

// brTimeout bounds the whole browser test: starting Chromium, two logins,
// two messages, two logouts.
const brTimeout = 30 * time.Second

// The page the server serves, as a person uses it, in headless Chromium.
// It opens at the login form and dials nothing. Ana registers and is
// logged in: only then does the page connect its socket, with her token,
// and show the chat under her name. She and bob (on the Go client) see each
// other's messages with the right names. She logs out: the page
// disconnects, her token is revoked, and the login form is back. She logs
// in again, and this time her login is ended from elsewhere (her token is
// revoked over HTTP): the server's session-ended brings the page back to
// the login form, with a notice that says why.
func TestChromiumLoginChatLogout(t *testing.T) {
	exercise.Start(t, "5.5")
	peer.Chromium(t) // skip (or, in CI, fail) before starting anything
	_, hs, handshakes := ltStartCounting(t, Config{})
	bobLogin := ltSignUp(t, hs.URL, "bob")
	bob := ltMustDialGo(t, hs.URL, "bob", bobLogin.Token)

	tab := browser.Start(t, brTimeout)
	// The first action on tab starts the browser, which lives as long as
	// tab: later steps run on contexts derived from it, with deadlines of
	// their own.
	require.NoError(t, chromedp.Do(tab), "starting Chromium")

	// describe tells what the page shows, for failure messages.
	describe := func() string {
		c, cancel := context.WithTimeout(tab, 2*time.Second)
		defer cancel()
		shown, err := chromedp.Run(c, chromedp.Evaluate[string](`"view: " + document.body.dataset.view +
			"; connection: " + document.body.dataset.connection +
			"; status: " + document.querySelector("#status").textContent +
			"; notice: " + document.querySelector("#notice").textContent +
			"; login error: " + document.querySelector("#login-error").textContent +
			"; error: " + document.querySelector("#error").textContent +
			"; messages: " + document.querySelector("#messages").innerText`))
		if err != nil {
			return "(could not read the page: " + err.Error() + ")"
		}
		return strings.Join(strings.Fields(shown), " ")
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		step, cancel := context.WithTimeout(tab, ltTimeout)
		defer cancel()
		if err := chromedp.Do(step, actions...); err != nil {
			t.Fatalf("%s: %v (the page shows %s)", what, err, describe())
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v (the page shows %s)", sel, err, describe())
		}
		return s
	}
	token := func() string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.parse(sessionStorage.getItem("chat.session") || "{}").token || ""`))
		require.NoError(t, err, "reading the token the page keeps in sessionStorage")
		require.NotEmpty(t, s, "the page keeps its token in sessionStorage under \"chat.session\"")
		return s
	}
	chatting := chromedp.WaitVisible(chromedp.CSS(`body[data-view="chat"][data-connection="connected"] #chat-view`))
	loginForm := chromedp.WaitVisible(chromedp.CSS(`body[data-view="login"][data-connection="disconnected"] #login-form`))

	do("opening the page: the login form", chromedp.Navigate(hs.URL+"/"), loginForm)
	handshakes.RequireNoMore(t, 1, "the page must not open a socket before the user has logged in; only bob's Go client may have connected")

	do("registering ana on the page, which logs her in and connects",
		chromedp.SendKeys(chromedp.CSS(`#login-name`), "ana"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), ltPassword),
		chromedp.Click(chromedp.CSS(`#register`)),
		chatting,
	)
	require.Equal(t, "ana", text(`#user`), "the page shows who is logged in")

	res := bob.Send(t, map[string]any{"text": "hello ana"})
	require.True(t, res.Success, "bob's message: %s", res.Raw)
	bob.NextSaved(t)
	do("waiting for bob's message", chromedp.WaitVisible(chromedp.CSS(`li[data-author="bob"]`)))
	require.Equal(t, "hello ana", text(`li[data-author="bob"] .text`), "the page shows bob's message under his name")

	do("typing a message and pressing Send",
		chromedp.SendKeys(chromedp.CSS(`#text`), "hi bob"),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`li[data-author="ana"]`)),
	)
	require.Equal(t, "hi bob", text(`li[data-author="ana"] .text`), "the page shows ana's message under her name")
	got := bob.NextSaved(t)
	require.Equal(t, "ana", got.Message.Author, "bob sees the page's message as ana's")
	require.Equal(t, "hi bob", got.Message.Text)

	first := token()
	do("logging out: back to the login form, disconnected", chromedp.Click(chromedp.CSS(`#logout`)), loginForm)
	ltRefusedGo(t, hs.URL, map[string]any{"token": first}, MsgRevoked, "the token of the page that logged out (the page must POST /api/logout)")

	_, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#login-name").value = ""`))
	require.NoError(t, err, "clearing the name field")
	do("logging in again",
		chromedp.SendKeys(chromedp.CSS(`#login-name`), "ana"),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), ltPassword),
		chromedp.Click(chromedp.CSS(`#login`)),
		chatting,
	)
	second := token()
	require.NotEqual(t, first, second, "a new login, a new token")
	do("the history after logging in again", chromedp.WaitVisible(chromedp.CSS(`li[data-author="ana"]`)))

	// Her token is revoked elsewhere: the server ends the page's socket.
	ltLogOut(t, hs.URL, second)
	do("session-ended: back to the login form with a notice",
		loginForm, chromedp.WaitVisible(chromedp.CSS(`#notice`)))
	require.Contains(t, text(`#notice`), "logged out", "the notice says why the session ended")

	// Close the browser before the server.
	require.NoError(t, chromedp.Cancel(tab), "closing Chromium")
}
