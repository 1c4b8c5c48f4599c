package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ClientOptions configures Dial.
type ClientOptions struct {
	Namespace string            // default "/"
	Auth      any               // sent in CONNECT
	Header    http.Header       // handshake headers (Origin, ...)
	Dialer    *websocket.Dialer // gorilla; nil = default
}

// Client disconnect reasons, as socket.io-client names them (the others —
// "transport close", "transport error", "ping timeout" — are the Reason
// constants).
const (
	reasonIOClientDisconnect = "io client disconnect"
	reasonIOServerDisconnect = "io server disconnect"
)

// clientQueue is the Client's send queue, in packets.
const clientQueue = 1024

// clientCloseWait bounds how long Close waits for DISCONNECT to go out
// before it closes the transport anyway.
const clientCloseWait = time.Second

// A Client is the Go counterpart of socket.io-client: one Engine.IO session
// over WebSocket with one socket in one namespace. Its handlers run one at a
// time on a goroutine of its own, as on the server; Emit may be called from
// any goroutine.
type Client struct {
	endpoint
	id        string
	heartbeat time.Duration // pingInterval + pingTimeout of the open packet
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Dial opens the Engine.IO connection (url like http://127.0.0.1:8000, the
// path /socket.io/ is added), waits for the open packet, sends CONNECT and
// waits for CONNECT or CONNECT_ERROR (returned as *ConnectError). ctx bounds it.
//
// As with socket.io-client, a path in url names the namespace
// ("http://host/admin") unless opts.Namespace does.
func Dial(ctx context.Context, rawURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("events: dial: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("events: dial %s: scheme must be http, https, ws or wss", rawURL)
	}
	nsp := opts.Namespace
	if nsp == "" && u.Path != "" && u.Path != "/" {
		nsp = u.Path
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	u.Path = "/socket.io/"
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	u.RawQuery = q.Encode()

	var auth json.RawMessage
	if opts.Auth != nil {
		if auth, err = json.Marshal(opts.Auth); err != nil {
			return nil, fmt.Errorf("events: dial: auth: %w", err)
		}
		if jsonKind(auth) != '{' {
			return nil, errors.New("events: dial: auth must encode as a JSON object")
		}
	}

	d := opts.Dialer
	if d == nil {
		d = websocket.DefaultDialer
	}
	conn, resp, err := d.DialContext(ctx, u.String(), opts.Header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("events: dial %s: %s: %w", u, resp.Status, err)
		}
		return nil, fmt.Errorf("events: dial %s: %w", u, err)
	}
	t := &gorillaTransport{c: conn}
	c, err := handshake(ctx, t, nsp, auth)
	if err != nil {
		_ = t.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("events: dial %s: %w", u, ctx.Err())
		}
		return nil, err
	}
	c.start()
	return c, nil
}

// handshake reads the open packet, sends CONNECT and reads the answer,
// before any goroutine of the Client runs.
func handshake(ctx context.Context, t *gorillaTransport, nsp string, auth json.RawMessage) (*Client, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = t.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = t.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	frame, binary, err := t.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("events: waiting for the open packet: %w", err)
	}
	ep, err := DecodeEIO(frame, binary)
	if err != nil || ep.Type != EIOOpen {
		return nil, fmt.Errorf("events: expected the Engine.IO open packet, got %q", frame)
	}
	var open struct {
		Sid          string `json:"sid"`
		PingInterval int64  `json:"pingInterval"`
		PingTimeout  int64  `json:"pingTimeout"`
		MaxPayload   int64  `json:"maxPayload"`
	}
	if err := json.Unmarshal(ep.Data, &open); err != nil || open.Sid == "" {
		return nil, fmt.Errorf("events: bad open packet %q", frame)
	}
	if open.MaxPayload > 0 {
		t.SetReadLimit(open.MaxPayload)
	}
	connect, _ := EncodeEIO(EIOPacket{Type: EIOMessage, Data: EncodePacket(Packet{Type: PacketConnect, Namespace: nsp, ID: -1, Data: auth})})
	if err := t.WriteMessage(connect, false); err != nil {
		return nil, fmt.Errorf("events: sending CONNECT: %w", err)
	}
	for {
		frame, binary, err := t.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("events: waiting for CONNECT: %w", err)
		}
		ep, err := DecodeEIO(frame, binary)
		if err != nil {
			return nil, err
		}
		switch {
		case ep.Type == EIOPing:
			if err := t.WriteMessage(append([]byte{byte(EIOPong)}, ep.Data...), false); err != nil {
				return nil, err
			}
			continue
		case ep.Type == EIOClose:
			return nil, errors.New("events: the server closed the session")
		case ep.Type != EIOMessage || ep.Binary:
			continue
		}
		p, _, err := DecodePacket(ep.Data)
		if err != nil {
			return nil, err
		}
		if p.Namespace != nsp {
			continue
		}
		switch p.Type {
		case PacketConnect:
			var answer struct {
				Sid string `json:"sid"`
			}
			if json.Unmarshal(p.Data, &answer) != nil || answer.Sid == "" {
				return nil, fmt.Errorf("events: CONNECT answer without sid: %q", frame)
			}
			if !stop() && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c := &Client{id: answer.Sid, heartbeat: time.Duration(open.PingInterval+open.PingTimeout) * time.Millisecond}
			c.init(nsp, newWire(t, clientQueue), nil)
			return c, nil
		case PacketConnectError:
			return nil, parseConnectError(p.Data)
		}
	}
}

// parseConnectError turns CONNECT_ERROR's payload into a *ConnectError.
func parseConnectError(data json.RawMessage) *ConnectError {
	var body struct {
		Message string `json:"message"`
		Data    any    `json:"data"`
	}
	if jsonKind(data) == '"' {
		_ = json.Unmarshal(data, &body.Message)
	} else {
		_ = json.Unmarshal(data, &body)
	}
	return &ConnectError{Message: body.Message, Data: body.Data}
}

// start runs the reader goroutine (the writer and the handler goroutine
// start when there is work for them).
func (c *Client) start() {
	if c.heartbeat > 0 {
		c.w.extendRead(c.heartbeat)
	} else {
		_ = c.w.t.SetReadDeadline(time.Time{})
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.readLoop()
	}()
}

// readLoop is the Client's reader goroutine.
func (c *Client) readLoop() {
	var asm assembler
	var reason string
	for {
		frame, binary, err := c.w.t.ReadMessage()
		if err == nil {
			err = c.handleFrame(&asm, frame, binary)
		}
		if err != nil {
			reason = c.w.readFailed(err)
			break
		}
	}
	c.w.finish()
	c.end(reason, nil)
}

func (c *Client) handleFrame(asm *assembler, frame []byte, binary bool) error {
	ep, err := DecodeEIO(frame, binary)
	if err != nil {
		return err
	}
	var p *Packet
	switch ep.Type {
	case EIOPing:
		if c.heartbeat > 0 {
			c.w.extendRead(c.heartbeat)
		}
		return c.w.send(&outItem{text: append([]byte{byte(EIOPong)}, ep.Data...)})
	case EIOClose:
		c.w.shutdown(ReasonTransportClose)
		return errSessionClosed
	case EIOMessage:
		p, err = asm.packet(ep)
		if err != nil || p == nil || p.Namespace != c.nsp {
			return err
		}
		switch p.Type {
		case PacketEvent, PacketBinaryEvent:
			return c.dispatch(p)
		case PacketAck, PacketBinaryAck:
			c.handleAck(p)
		case PacketDisconnect:
			c.w.shutdown(reasonIOServerDisconnect)
			return errSessionClosed
		}
	}
	return nil
}

// ID is the socket id from the server's CONNECT answer.
func (c *Client) ID() string { return c.id }

// On sets the handler of event. Event.Socket is nil on the client;
// Event.Ack answers the server's EmitWithAck.
func (c *Client) On(event string, h Handler) { c.on(event, h) }

// OnDisconnect adds fn to the functions run once when the client is
// disconnected: "io server disconnect" when the server sent DISCONNECT,
// "io client disconnect" after Close, "transport close", "ping timeout".
func (c *Client) OnDisconnect(fn func(reason string)) { c.addOnDisconnect(fn) }

// Emit sends an event to the server.
func (c *Client) Emit(event string, args ...any) error { return c.emit(event, args) }

// EmitWithAck sends an event and waits for the server's ack.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return c.emitWithAck(ctx, event, args)
}

// Close sends DISCONNECT, closes the transport; OnDisconnect gets "io client
// disconnect". It waits for the Client's goroutines, except when called from
// one of its own handlers (then the handler goroutine finishes after it).
//
// The client answers server pings with pongs; it disconnects with "ping
// timeout" if no ping comes within PingInterval+PingTimeout of the open
// packet's values.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		disconnect := messageItem(Packet{Type: PacketDisconnect, Namespace: c.nsp, ID: -1})
		c.w.sendThenEnd(disconnect, reasonIOClientDisconnect)
		timer := time.NewTimer(clientCloseWait)
		defer timer.Stop()
		select {
		case <-c.w.done:
		case <-timer.C:
			c.w.shutdown(reasonIOClientDisconnect)
		}
	})
	c.wg.Wait()
	if !c.inHandler.Load() {
		<-c.loopDone
	}
	return nil
}
