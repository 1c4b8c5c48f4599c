package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	rawws "github.com/websocket-workbook/workbook/solutions/02-raw-websocket"
)

// TestPipedInputGetsEveryEchoBeforeTheClose is the case of
//
//	printf 'hello\nwebsocket\n' | client ws://127.0.0.1:9001/
//
// The input ends at once, so Close runs while the echoes are still on their
// way, and possibly before the printing goroutine has made its first read
// call. Every echo must still be printed, and the close must be 1000. The
// race it guards against is timing-dependent, so the scenario runs many
// times.
func TestPipedInputGetsEveryEchoBeforeTheClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	var up rawws.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, p); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	const input = "hello\nwebsocket\n"
	for i := range 30 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out bytes.Buffer
		ce, err := run(ctx, url, "", strings.NewReader(input), &out)
		cancel()
		require.NoError(t, err, "run %d", i)
		require.Equal(t, rawws.CloseNormal, ce.Code, "run %d: the close code", i)
		require.Equal(t, input, out.String(), "run %d: every line sent must be printed back before the close", i)
	}
}
