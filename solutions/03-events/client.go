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

	// Recover, when its PID is set, asks the server for the session of an
	// earlier Client: pass that Client's RecoveryPoint after it lost its
	// connection. The CONNECT's auth then carries "pid" and "offset"
	// beside Auth's fields (see RecoveryOptions), and Recovered reports
	// whether the server gave the session back.
	Recover RecoveryPoint
}

// A RecoveryPoint is what a client needs to get its session back after
// its connection dropped: the private session ID the server gave in its
// CONNECT answer, and the offset of the last event it received (the last
// argument of every event the server sends with recovery on, if it is a
// string, as socket.io-client takes it). PID is empty when the server does
// not offer recovery; Offset, until an event has come.
type RecoveryPoint struct {
	PID    string
	Offset string
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
	point       RecoveryPoint // the pid of the CONNECT answer, the last offset (endpoint.mu)
	asked       RecoveryPoint // ClientOptions.Recover
	recovered   bool          // the answer gave the asked pid back (endpoint.mu)
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
	if opts.Recover.PID != "" {
		if auth, err = withRecovery(auth, opts.Recover); err != nil {
			return nil, fmt.Errorf("events: client: auth: %w", err)
		}
	}
	d := opts.Dialer
	if d == nil {
		d = websocket.DefaultDialer
	}
	c := &Client{url: u.String(), auth: auth, dialer: d, header: opts.Header, asked: opts.Recover}
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
	h, err := handshake(ctx, t, c.nsp, c.auth)
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
	c.id, c.heartbeat, c.w = h.id, h.heartbeat, newWire(t, clientQueue)
	c.point = RecoveryPoint{PID: h.pid}
	if h.pid != "" && h.pid == c.asked.PID {
		c.recovered = true
		c.point.Offset = c.asked.Offset // until a newer one comes
	}
	c.connected.Store(true)
	c.mu.Unlock()
	c.start(h)
	return nil
}

// errNotConnected is what Emit and EmitWithAck return before Connect.
var errNotConnected = errors.New("events: the Client is not connected: call Connect first")

// handshake reads the open packet, sends CONNECT and reads the answer,
// before any goroutine of the Client runs.
func handshake(ctx context.Context, t *gorillaTransport, nsp string, auth json.RawMessage) (*handshaken, error) {
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
	h := &handshaken{heartbeat: time.Duration(open.PingInterval+open.PingTimeout) * time.Millisecond}
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
		case ep.Type != EIOMessage:
			continue
		}
		p, err := h.asm.packet(ep)
		if err != nil {
			return nil, err
		}
		if p == nil || p.Namespace != nsp {
			continue
		}
		switch p.Type {
		case PacketConnect:
			var answer struct {
				Sid string `json:"sid"`
				Pid string `json:"pid"`
			}
			if json.Unmarshal(p.Data, &answer) != nil || answer.Sid == "" {
				return nil, fmt.Errorf("events: CONNECT answer without sid: %q", frame)
			}
			if !stop() && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			h.id, h.pid = answer.Sid, answer.Pid
			return h, nil
		case PacketConnectError:
			return nil, parseConnectError(p.Data)
		case PacketEvent, PacketBinaryEvent:
			// A recovered session's missed events come before the answer
			// (socket.io sends them first); they are handled after it, as
			// socket.io-client buffers them.
			if len(h.early) == clientQueue {
				return nil, errors.New("events: too many events before the CONNECT answer")
			}
			h.early = append(h.early, p)
		}
	}
}

// handshaken is what handshake learnt.
type handshaken struct {
	id, pid   string
	heartbeat time.Duration // the open packet's pingInterval + pingTimeout
	early     []*Packet     // events that came before the CONNECT answer
	asm       assembler     // for the reader: its state after the answer
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
func (c *Client) start(h *handshaken) {
	if c.heartbeat > 0 {
		c.w.extendRead(c.heartbeat)
	} else {
		_ = c.w.t.SetReadDeadline(time.Time{})
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.readLoop(h)
	}()
}

// readLoop is the Client's reader goroutine. It first hands the events
// that came before the CONNECT answer to the handlers.
func (c *Client) readLoop(h *handshaken) {
	asm := h.asm
	var reason string
	for _, p := range h.early {
		if err := c.dispatchEvent(p); err != nil {
			reason = c.w.readFailed(err)
			c.w.finish()
			c.end(reason, nil)
			return
		}
	}
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
			return c.dispatchEvent(p)
		case PacketAck, PacketBinaryAck:
			c.handleAck(p)
		case PacketDisconnect:
			c.w.shutdown(reasonIOServerDisconnect)
			return errSessionClosed
		}
	}
	return nil
}

// dispatchEvent is dispatch, keeping the event's offset on the way: the
// last argument, when the server offers recovery and the argument is a
// string (socket.io-client's rule). An event with an ack id is not logged
// by the server, so its arguments are left alone.
func (c *Client) dispatchEvent(p *Packet) error {
	ev, err := c.event(p)
	if err != nil {
		return err
	}
	if n := len(ev.Args); n > 0 && ev.ackID < 0 && jsonKind(ev.Args[n-1]) == '"' {
		var offset string
		if json.Unmarshal(ev.Args[n-1], &offset) == nil {
			c.mu.Lock()
			if c.point.PID != "" {
				c.point.Offset = offset
			}
			c.mu.Unlock()
		}
	}
	c.post(func() { c.handle(ev) })
	return nil
}

// withRecovery adds pid and offset to auth (a JSON object, or nil), as
// socket.io-client does: a field of auth's own of the same name wins.
func withRecovery(auth json.RawMessage, rp RecoveryPoint) (json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	if auth != nil {
		if err := json.Unmarshal(auth, &fields); err != nil {
			return nil, err
		}
	}
	set := func(name, v string) {
		if _, own := fields[name]; !own && v != "" {
			fields[name], _ = json.Marshal(v)
		}
	}
	set("pid", rp.PID)
	set("offset", rp.Offset)
	return json.Marshal(fields)
}

// RecoveryPoint returns what a new Client needs to recover this one's
// session (ClientOptions.Recover): take it after the connection dropped.
// Its PID is empty when the server does not offer recovery.
func (c *Client) RecoveryPoint() RecoveryPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.point
}

// Recovered reports whether Connect got back the session that
// ClientOptions.Recover asked for: the same ID, and the events missed
// meanwhile are the first to reach the handlers.
func (c *Client) Recovered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recovered
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
