package server

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

// ttBrowserTimeout bounds the whole browser test: starting Chromium, two
// pages, two messages.
const ttBrowserTimeout = 25 * time.Second

// The chat, as a person uses it: headless Chromium opens the page the
// server serves in two tabs; ana types her name and a message in one, bob
// in the other, and each tab shows the other's message. The page's
// chat.js speaks Engine.IO and Socket.IO over the browser's own WebSocket,
// so this is also the proof that a real browser's WebSocket, not only the
// npm client, gets through the origin check and the Engine.
func TestChromiumChat(t *testing.T) {
	exercise.Start(t, "4.8")
	peer.Chromium(t) // skip (or, in CI, fail) before starting anything
	_, hs := ttStartServer(t, Config{})

	ana := browser.Start(t, ttBrowserTimeout)  // the first tab starts the browser
	bob, cancelBob := chromedp.NewContext(ana) // a second tab in the same browser
	defer cancelBob()

	// describe tells what a tab shows, for failure messages.
	describe := func(tab context.Context) string {
		c, cancel := context.WithTimeout(tab, 2*time.Second)
		defer cancel()
		shown, err := chromedp.Run(c, chromedp.Evaluate[string](
			`"status: " + document.querySelector("#status").textContent + "; error: " + document.querySelector("#error").textContent + "; messages: " + document.querySelector("#messages").innerText`))
		if err != nil {
			return "(could not read the page: " + err.Error() + ")"
		}
		return strings.Join(strings.Fields(shown), " ")
	}
	do := func(tab context.Context, who, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s's tab: %s: %v (the page shows %s)", who, what, err, describe(tab))
		}
	}
	text := func(tab context.Context, who, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s's tab: reading %s: %v (the page shows %s)", who, sel, err, describe(tab))
		}
		return s
	}

	connected := chromedp.WaitVisible(chromedp.CSS(`body[data-connection="connected"]`))
	do(ana, "ana", "opening the chat page and connecting", chromedp.Navigate(hs.URL+"/"), connected)
	do(bob, "bob", "opening the chat page and connecting", chromedp.Navigate(hs.URL+"/"), connected)

	say := func(tab context.Context, who, text string) {
		t.Helper()
		do(tab, who, "typing a name and a message and pressing Send",
			chromedp.SendKeys(chromedp.CSS(`#name`), who),
			chromedp.SendKeys(chromedp.CSS(`#text`), text),
			chromedp.Click(chromedp.CSS(`#send`)),
		)
	}
	say(ana, "ana", "hello from ana")
	do(ana, "ana", "waiting for her own message, saved and broadcast back",
		chromedp.WaitVisible(chromedp.CSS(`li[data-author="ana"]`)))
	say(bob, "bob", "hi ana, bob here")

	do(ana, "ana", "waiting for bob's message", chromedp.WaitVisible(chromedp.CSS(`li[data-author="bob"]`)))
	do(bob, "bob", "waiting for ana's message", chromedp.WaitVisible(chromedp.CSS(`li[data-author="ana"]`)))
	require.Equal(t, "hi ana, bob here", text(ana, "ana", `li[data-author="bob"] .text`), "ana's tab shows bob's message")
	require.Equal(t, "hello from ana", text(bob, "bob", `li[data-author="ana"] .text`), "bob's tab shows ana's message")

	// Each tab shows both messages, in the order the server saved them.
	items, err := chromedp.Run(bob, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li .text")].map(e => e.textContent)`))
	require.NoError(t, err, "reading bob's list")
	require.Equal(t, []string{"hello from ana", "hi ana, bob here"}, items, "bob's tab lists both messages, oldest first")

	// Close the browser before the server, so the pages do not retry.
	require.NoError(t, chromedp.Cancel(ana), "closing Chromium")
}
