// Command client is a small WebSocket client built on rawws: it connects to
// a URL, sends every line of its standard input as a text message, and
// prints every message that comes back. At the end of its input it closes
// the connection with 1000 (normal closure) and waits for the closing
// handshake to finish.
//
//	go run ./solutions/02-raw-websocket/cmd/echo &
//	echo hello | go run ./solutions/02-raw-websocket/cmd/client ws://127.0.0.1:9001/
//
// Flags:
//
//	-origin   the Origin header to send (a browser always sends one)
//	-timeout  how long the opening handshake may take (default 10s)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	rawws "github.com/websocket-workbook/workbook/solutions/02-raw-websocket"
)

func main() {
	origin := flag.String("origin", "", "Origin header to send")
	timeout := flag.Duration("timeout", 10*time.Second, "how long the opening handshake may take")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: client [flags] ws://host:port/path\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ce, err := run(ctx, flag.Arg(0), *origin, os.Stdin, os.Stdout)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	log.Printf("client: closed: %d %s", ce.Code, ce.Reason)
}

// run dials url (ctx bounds the opening handshake only), sends every line of
// in as a text message, writes every message that comes back to out, and at
// the end of in runs the closing handshake. It returns how the connection
// closed.
func run(ctx context.Context, url, origin string, in io.Reader, out io.Writer) (*rawws.CloseError, error) {
	var d rawws.Dialer
	if origin != "" {
		d.Header = http.Header{"Origin": {origin}}
	}
	c, resp, err := d.Dial(ctx, url)
	if err != nil {
		var he *rawws.HandshakeError
		if errors.As(err, &he) && resp != nil {
			body, _ := io.ReadAll(resp.Body) // Dial kept up to 1 KiB of it
			return nil, fmt.Errorf("%w\n%s", err, body)
		}
		return nil, err
	}

	// One goroutine reads and prints; this one writes. A Conn allows one
	// reader and any number of writers at a time.
	done := make(chan error, 1)
	go func() { done <- printMessages(c, out) }()

	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 16<<20)
	for lines.Scan() {
		if err := c.WriteMessage(rawws.OpText, lines.Bytes()); err != nil {
			log.Printf("client: write: %v", err)
			break
		}
	}
	// End of input: run the closing handshake. The reading goroutine gets
	// the echoes still on their way, then the server's close frame.
	if err := c.Close(rawws.CloseNormal, ""); err != nil {
		log.Printf("client: close: %v", err)
	}
	err = <-done
	var ce *rawws.CloseError
	if errors.As(err, &ce) {
		return ce, nil
	}
	return nil, err
}

// printMessages writes every message to out until the connection ends.
func printMessages(c *rawws.Conn, out io.Writer) error {
	w := bufio.NewWriter(out)
	for {
		op, p, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if op == rawws.OpText {
			fmt.Fprintf(w, "%s\n", p)
		} else {
			fmt.Fprintf(w, "[binary, %d bytes]\n", len(p))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}
