package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	polling "github.com/websocket-workbook/workbook/solutions/01-polling"
)

// The WebSocket strategy is what lessons 02 and 03 build towards: one
// connection per client, kept open, and the server pushes each message the
// moment it exists. Here it is done with gorilla/websocket and the same Log
// the polling strategies use, so only the delivery differs.
//
// The server side is a hub. One goroutine follows the Log with Log.Wait,
// exactly as a long-poll handler would, but instead of answering one request
// it hands every new message to every connected client's queue. Each client
// has a writer goroutine that empties its queue onto the connection, one
// JSON text frame per message (RFC 6455 §5.6), so a slow client delays
// nobody else; its queue is bounded, and a client that lets it fill up is
// disconnected rather than allowed to grow the server's memory.
//
// A client says where it starts, as a poller does: GET /ws?since=ID. What it
// missed before it joined comes from Log.Since, the rest from the hub, and
// the writer's cursor makes sure nothing is sent twice.

// wsPath is where the hub is served.
const wsPath = "/ws"

// wsWriteTimeout bounds one write to a client; a client that cannot take a
// frame in this long is gone.
const wsWriteTimeout = 5 * time.Second

// serveWebSocket is the server side of the WebSocket strategy.
func serveWebSocket(log *polling.Log, cfg Config, ready func(any)) (http.Handler, func()) {
	h := newHub(log, cfg.Queue, ready)
	mux := http.NewServeMux()
	mux.Handle(wsPath, h)
	return mux, h.stop
}

// A hub pushes the messages of one Log to every connected WebSocket client.
type hub struct {
	log      *polling.Log
	queueLen int
	ready    func(any)
	upgrader websocket.Upgrader
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the follower, and each client's reader and writer

	mu      sync.Mutex
	cursor  int64 // the last message handed to the clients' queues
	clients map[*wsClient]struct{}
	closed  bool
}

// A wsClient is one connected client, as the hub sees it.
type wsClient struct {
	conn  *websocket.Conn
	queue chan wsFrame // closed by the hub when the client leaves
	since int64        // the client's cursor when it connected
	start int64        // the hub's cursor when it joined: the queue has what comes after
}

func newHub(log *polling.Log, queueLen int, ready func(any)) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{
		log:      log,
		queueLen: queueLen,
		ready:    ready,
		upgrader: websocket.Upgrader{HandshakeTimeout: 5 * time.Second},
		ctx:      ctx,
		cancel:   cancel,
		clients:  make(map[*wsClient]struct{}),
	}
	h.wg.Go(h.follow)
	return h
}

// follow is the hub's one reader of the Log: it waits for news and fans it
// out. Each message is encoded once, as a gorilla PreparedMessage (the JSON
// and its frame), however many clients it goes to. A full queue is never
// waited on: that client is dropped instead.
func (h *hub) follow() {
	cursor := int64(0)
	for {
		msgs, err := h.log.Wait(h.ctx, cursor, polling.MaxBatch)
		if err != nil {
			return // the hub is stopping
		}
		frames := make([]wsFrame, 0, len(msgs))
		for _, m := range msgs {
			f, err := prepare(m)
			if err != nil {
				return
			}
			frames = append(frames, f)
		}
		h.mu.Lock()
		for _, f := range frames {
			for c := range h.clients {
				select {
				case c.queue <- f:
				default:
					h.removeLocked(c) // too slow: it would hold up everyone
				}
			}
		}
		cursor = msgs[len(msgs)-1].ID
		h.cursor = cursor
		h.mu.Unlock()
	}
}

// A wsFrame is one message, ready to send to any number of clients.
type wsFrame struct {
	id  int64
	msg *websocket.PreparedMessage
}

// prepare encodes m as the JSON text frame every client will receive.
func prepare(m polling.Message) (wsFrame, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return wsFrame{}, err
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	return wsFrame{id: m.ID, msg: pm}, err
}

// ServeHTTP upgrades GET /ws?since=ID to a WebSocket and serves the client
// until it leaves. The handler's goroutine is the client's reader: a client
// sends nothing but control frames, but only reading processes them
// (gorilla answers a Ping or a Close while a read is in progress).
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if err != nil || since < 0 {
		http.Error(w, "since must be a non-negative integer", http.StatusBadRequest)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered with an HTTP error
	}

	c := &wsClient{conn: conn, queue: make(chan wsFrame, h.queueLen), since: since}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server stopping"),
			time.Now().Add(time.Second))
		conn.Close()
		return
	}
	c.start = h.cursor
	h.clients[c] = struct{}{}
	h.wg.Add(2) // under h.mu, so stop's Wait cannot have started yet
	h.mu.Unlock()
	h.ready(c)

	go func() {
		defer h.wg.Done()
		h.write(c)
	}()
	defer h.wg.Done()
	conn.SetReadLimit(512)
	for {
		if _, _, err := conn.NextReader(); err != nil {
			break
		}
	}
	h.remove(c)
	conn.Close()
}

// write is a client's writer: first what the client missed before it
// joined, from the Log, then whatever the hub queues for it.
func (h *hub) write(c *wsClient) {
	defer c.conn.Close()
	cursor := c.since
	for cursor < c.start {
		msgs, err := h.log.Since(cursor, polling.MaxBatch)
		if err != nil || len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if m.ID > c.start {
				break
			}
			f, err := prepare(m)
			if err != nil || writeFrame(c.conn, f) != nil {
				h.remove(c)
				return
			}
			cursor = m.ID
		}
	}
	for f := range c.queue {
		if f.id <= cursor {
			continue
		}
		if writeFrame(c.conn, f) != nil {
			h.remove(c)
			return
		}
		cursor = f.id
	}
	// The queue was closed: the client left, was too slow, or the hub is
	// stopping. Say goodbye; when the client is already gone this fails,
	// which is fine.
	c.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseGoingAway, ""),
		time.Now().Add(time.Second))
}

// writeFrame sends one message as one JSON text frame.
func writeFrame(conn *websocket.Conn, f wsFrame) error {
	conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	return conn.WritePreparedMessage(f.msg)
}

// remove takes a client out of the hub, once.
func (h *hub) remove(c *wsClient) {
	h.mu.Lock()
	h.removeLocked(c)
	h.mu.Unlock()
}

// removeLocked takes c out of the hub and closes its queue, which ends its
// writer; h.mu must be held, which is also what makes the close safe: the
// hub only sends on a queue under h.mu, while the client is in the map.
func (h *hub) removeLocked(c *wsClient) {
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.queue)
	}
}

// stop ends the hub: the follower stops, every client's queue is closed (so
// each writer sends a Close frame and closes its connection, which ends the
// reader too), and stop returns when all of the hub's goroutines have.
func (h *hub) stop() {
	h.cancel()
	h.mu.Lock()
	h.closed = true
	for c := range h.clients {
		h.removeLocked(c)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// followWebSocket is a WebSocket client: it dials /ws?since=0 with gorilla's
// Dialer and delivers every message the server pushes, until ctx is done;
// then it closes the connection properly (RFC 6455 §7.1.2: send a Close
// frame, wait for the server's, then close the TCP connection).
func followWebSocket(ctx context.Context, _ int, baseURL string, cfg Config, deliver func(polling.Message)) error {
	d := websocket.Dialer{
		NetDialContext:   (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		HandshakeTimeout: 5 * time.Second,
	}
	url := "ws" + strings.TrimPrefix(baseURL, "http") + wsPath + "?since=0"
	conn, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return quiet(ctx, err)
	}
	resp.Body.Close()

	readErr := make(chan error, 1)
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var m polling.Message
			if err := json.Unmarshal(data, &m); err != nil {
				readErr <- err
				return
			}
			deliver(m)
		}
	}()

	select {
	case err := <-readErr:
		// The connection ended before the scenario did: the server went
		// away or dropped this client. Whatever it cost is in the results.
		conn.Close()
		if ctx.Err() != nil {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	wait := time.NewTimer(time.Second)
	defer wait.Stop()
	select {
	case <-readErr: // the server's Close (or the end of the connection)
		conn.Close()
	case <-wait.C:
		conn.Close() // no answer: close anyway, which ends the reader
		<-readErr
	}
	return nil
}
