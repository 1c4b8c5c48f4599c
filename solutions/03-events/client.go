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
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// ClientOptions configures NewClient.
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
	url    string            // the WebSocket URL, with /socket.io/ and the query
	auth   json.RawMessage   // CONNECT's payload; nil for none
	dialer *websocket.Dialer // never nil
	header http.Header

	dialed      bool          // Connect was called (endpoint.mu)
	closedEarly bool          // Close came before Connect had connected (endpoint.mu)
	connected   atomic.Bool   // Connect succeeded: w is set and the goroutines run
	id          string        // set by Connect (endpoint.mu)
	heartbeat   time.Duration // pingInterval + pingTimeout of the open packet
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// NewClient makes a Client for the server at rawURL (like
// http://127.0.0.1:8000; the path /socket.io/ is added) without connecting
// it: the npm client's io(url, { autoConnect: false }). Register handlers
// with On and OnDisconnect, then call Connect. That order is the point: an
// event the server emits as soon as the socket connects (a welcome, the
// history) reaches a handler registered before Connect, whereas a client
// that connected first could receive it before anyone listened, and drop
// it, as socket.io-client drops an event nobody listens to.
//
// As with socket.io-client, a path in rawURL names the namespace
// ("http://host/admin") unless opts.Namespace does. NewClient checks the URL
// and encodes opts.Auth; it makes no connection.
func NewClient(rawURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("events: client: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("events: client for %s: scheme must be http, https, ws or wss", rawURL)
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
			return nil, fmt.Errorf("events: client: auth: %w", err)
		}
		if jsonKind(auth) != '{' {
			return nil, errors.New("events: client: auth must encode as a JSON object")
		}
	}
	d := opts.Dialer
	if d == nil {
		d = websocket.DefaultDialer
	}
	c := &Client{url: u.String(), auth: auth, dialer: d, header: opts.Header}
	c.init(nsp, nil, nil)
	return c, nil
}

// Connect opens the Engine.IO connection, waits for the open packet, sends
// CONNECT and waits for CONNECT or CONNECT_ERROR (returned as
// *ConnectError); ctx bounds all of it. From then on the handlers run. A
// Client connects once: a second Connect, or a Connect after Close, is an
// error (make a new Client to connect again).
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.dialed || c.closedEarly {
		c.mu.Unlock()
		return errors.New("events: Connect on a Client that has connected or closed; a Client connects once")
	}
	c.dialed = true
	c.mu.Unlock()

	conn, resp, err := c.dialer.DialContext(ctx, c.url, c.header)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("events: dial %s: %s: %w", c.url, resp.Status, err)
		}
		return fmt.Errorf("events: dial %s: %w", c.url, err)
	}
	t := &gorillaTransport{c: conn}
	id, heartbeat, err := handshake(ctx, t, c.nsp, c.auth)
	if err != nil {
		_ = t.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("events: dial %s: %w", c.url, ctx.Err())
		}
		return err
	}
	c.mu.Lock()
	if c.closedEarly {
		c.mu.Unlock()
		_ = t.Close()
		return errors.New("events: the Client was closed while it connected")
	}
	c.id, c.heartbeat, c.w = id, heartbeat, newWire(t, clientQueue)
	c.connected.Store(true)
	c.mu.Unlock()
	c.start()
	return nil
}

// errNotConnected is what Emit and EmitWithAck return before Connect.
var errNotConnected = errors.New("events: the Client is not connected: call Connect first")

// handshake reads the open packet, sends CONNECT and reads the answer,
// before any goroutine of the Client runs. It returns the socket's ID and
// the open packet's pingInterval + pingTimeout.
func handshake(ctx context.Context, t *gorillaTransport, nsp string, auth json.RawMessage) (id string, heartbeat time.Duration, err error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = t.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = t.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	frame, binary, err := t.ReadMessage()
	if err != nil {
		return "", 0, fmt.Errorf("events: waiting for the open packet: %w", err)
	}
	ep, err := DecodeEIO(frame, binary)
	if err != nil || ep.Type != EIOOpen {
		return "", 0, fmt.Errorf("events: expected the Engine.IO open packet, got %q", frame)
	}
	var open struct {
		Sid          string `json:"sid"`
		PingInterval int64  `json:"pingInterval"`
		PingTimeout  int64  `json:"pingTimeout"`
		MaxPayload   int64  `json:"maxPayload"`
	}
	if err := json.Unmarshal(ep.Data, &open); err != nil || open.Sid == "" {
		return "", 0, fmt.Errorf("events: bad open packet %q", frame)
	}
	if open.MaxPayload > 0 {
		t.SetReadLimit(open.MaxPayload)
	}
	connect, _ := EncodeEIO(EIOPacket{Type: EIOMessage, Data: EncodePacket(Packet{Type: PacketConnect, Namespace: nsp, ID: -1, Data: auth})})
	if err := t.WriteMessage(connect, false); err != nil {
		return "", 0, fmt.Errorf("events: sending CONNECT: %w", err)
	}
	for {
		frame, binary, err := t.ReadMessage()
		if err != nil {
			return "", 0, fmt.Errorf("events: waiting for CONNECT: %w", err)
		}
		ep, err := DecodeEIO(frame, binary)
		if err != nil {
			return "", 0, err
		}
		switch {
		case ep.Type == EIOPing:
			if err := t.WriteMessage(append([]byte{byte(EIOPong)}, ep.Data...), false); err != nil {
				return "", 0, err
			}
			continue
		case ep.Type == EIOClose:
			return "", 0, errors.New("events: the server closed the session")
		case ep.Type != EIOMessage || ep.Binary:
			continue
		}
		p, _, err := DecodePacket(ep.Data)
		if err != nil {
			return "", 0, err
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
				return "", 0, fmt.Errorf("events: CONNECT answer without sid: %q", frame)
			}
			if !stop() && ctx.Err() != nil {
				return "", 0, ctx.Err()
			}
			return answer.Sid, time.Duration(open.PingInterval+open.PingTimeout) * time.Millisecond, nil
		case PacketConnectError:
			return "", 0, parseConnectError(p.Data)
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
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// On sets the handler of event. Event.Socket is nil on the client;
// Event.Ack answers the server's EmitWithAck.
func (c *Client) On(event string, h Handler) { c.on(event, h) }

// OnDisconnect adds fn to the functions run once when the client is
// disconnected: "io server disconnect" when the server sent DISCONNECT,
// "io client disconnect" after Close, "transport close", "ping timeout".
func (c *Client) OnDisconnect(fn func(reason string)) { c.addOnDisconnect(fn) }

// Emit sends an event to the server; before Connect it is an error.
func (c *Client) Emit(event string, args ...any) error {
	if !c.connected.Load() {
		return errNotConnected
	}
	return c.emit(event, args)
}

// EmitWithAck sends an event and waits for the server's ack; before
// Connect it is an error.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	if !c.connected.Load() {
		return nil, errNotConnected
	}
	return c.emitWithAck(ctx, event, args)
}

// Close sends DISCONNECT, closes the transport; OnDisconnect gets "io client
// disconnect". Before Connect it does nothing but make a later Connect
// fail. It waits for the Client's goroutines, except when called from one
// of its own handlers (then the handler goroutine finishes after it).
//
// The client answers server pings with pongs; it disconnects with "ping
// timeout" if no ping comes within PingInterval+PingTimeout of the open
// packet's values.
func (c *Client) Close() error {
	c.mu.Lock()
	if !c.connected.Load() {
		c.closedEarly = true // a Connect in progress gives up; a later one refuses
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() {
		disconnect := messageItem(Packet{Type: PacketDisconnect, Namespace: c.nsp, ID: -1})
		c.w.endAfter(reasonIOClientDisconnect, disconnect)
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
