package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/websocket-workbook/workbook/internal/loadgen"
)

// The floor: the least a server must do for this workload, to measure the
// event server against. It speaks just enough of RFC 6455, Engine.IO and
// Socket.IO for the swarm's clients (the handshake, the open packet, the
// CONNECT answer, the join's ack, pongs are not even needed: it sends no
// pings), and for every "msg" it reads it builds the one server frame of
// the broadcast and writes those same bytes to every member of the room,
// one write per recipient, from the reading goroutine. No queues, no
// goroutine per connection besides the reader, no JSON decoding: what
// is left is the system calls, which no server can avoid.
type floor struct {
	l     net.Listener
	mu    sync.Mutex
	rooms map[string][]*floorConn
	wg    sync.WaitGroup
}

type floorConn struct {
	c  net.Conn
	mu sync.Mutex // one writer at a time
}

func startFloor() (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &floor{l: l, rooms: map[string][]*floorConn{}}
	f.wg.Add(1)
	go f.accept()
	return &server{
		url: "http://" + l.Addr().String(),
		cpu: loadgen.ProcessCPU,
		close: func() {
			_ = l.Close()
			f.mu.Lock()
			for _, conns := range f.rooms {
				for _, c := range conns {
					_ = c.c.Close()
				}
			}
			f.mu.Unlock()
			f.wg.Wait()
		},
	}, nil
}

func (f *floor) accept() {
	defer f.wg.Done()
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			_ = f.serve(c)
		}()
	}
}

// serve is one connection: the opening handshake (RFC 6455 §4.2), then
// frames until it ends.
func (f *floor) serve(c net.Conn) error {
	r := bufio.NewReaderSize(c, 4096)
	req, err := http.ReadRequest(r)
	if err != nil {
		return err
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
	fc := &floorConn{c: c}
	if _, err := io.WriteString(c, resp); err != nil {
		return err
	}
	// Engine.IO's open packet, with a ping interval long enough never to ping.
	if err := fc.write(frame(`0{"sid":"floor","upgrades":[],"pingInterval":3600000,"pingTimeout":3600000,"maxPayload":1000000}`)); err != nil {
		return err
	}
	for {
		p, err := readClientFrame(r)
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(p, []byte("40")):
			if err := fc.write(frame(`40{"sid":"floor"}`)); err != nil {
				return err
			}
		case bytes.HasPrefix(p, []byte(`421["join","`)):
			room := strings.TrimSuffix(string(p[len(`421["join","`):]), `"]`)
			f.mu.Lock()
			f.rooms[room] = append(f.rooms[room], fc)
			f.mu.Unlock()
			if err := fc.write(frame("431[]")); err != nil {
				return err
			}
		case bytes.HasPrefix(p, []byte(`42["msg",{"r":"`)):
			rest := p[len(`42["msg",{"r":"`):]
			end := bytes.IndexByte(rest, '"')
			if end < 0 {
				continue
			}
			out := frame(string(p)) // the same packet, as a server frame, built once
			f.mu.Lock()
			members := f.rooms[string(rest[:end])]
			f.mu.Unlock()
			for _, m := range members {
				_ = m.write(out)
			}
		}
	}
}

func (fc *floorConn) write(b []byte) error {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	_ = fc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := fc.c.Write(b)
	return err
}

// frame is an unmasked text frame (RFC 6455 §5.2) holding text.
func frame(text string) []byte {
	n := len(text)
	var b []byte
	switch {
	case n <= 125:
		b = append(make([]byte, 0, 2+n), 0x81, byte(n))
	case n <= 0xffff:
		b = append(make([]byte, 0, 4+n), 0x81, 126, byte(n>>8), byte(n))
	default:
		b = append(make([]byte, 0, 10+n), 0x81, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, text...)
}

// readClientFrame reads one masked client frame and returns its payload,
// unmasked. The swarm sends only whole, small text frames.
func readClientFrame(r *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0]&0x0f == 0x8 {
		return nil, io.EOF // close
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		return nil, errors.New("floor: a frame too large")
	}
	var k [4]byte
	if _, err := io.ReadFull(r, k[:]); err != nil {
		return nil, err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	for i := range p {
		p[i] ^= k[i&3]
	}
	return p, nil
}
