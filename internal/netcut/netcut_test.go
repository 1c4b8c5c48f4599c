package netcut

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// A cut connection fails the client's next read and ends the server's read
// loop without a close frame: what a dropped network looks like.
func TestCutDropsEveryConnectionDialledSoFar(t *testing.T) {
	serverDone := make(chan error, 4)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err = ws.ReadMessage()
		serverDone <- err
	}))
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	var link Link
	var conns []*websocket.Conn
	for range 2 {
		ws, _, err := link.Dialer(5*time.Second).Dial(url, nil)
		require.NoError(t, err)
		defer ws.Close()
		conns = append(conns, ws)
	}
	link.Cut()
	for _, ws := range conns {
		_, _, err := ws.ReadMessage()
		require.Error(t, err, "a read on a cut connection fails")
	}
	for range 2 {
		select {
		case err := <-serverDone:
			require.Error(t, err)
			require.False(t, websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway),
				"the server sees the connection end without a close frame, got %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not see the cut connection end")
		}
	}

	// A connection dialled after the Cut is kept for the next one.
	ws, _, err := link.Dialer(5*time.Second).Dial(url, nil)
	require.NoError(t, err)
	defer ws.Close()
	link.Cut()
	_, _, err = ws.ReadMessage()
	require.Error(t, err)
}
