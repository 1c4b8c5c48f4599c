package rawws

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 2.10: Writing a batch (lessons/02-raw-websocket.md).

// batchOf is a batch of text and binary messages at the edges of the three
// length encodings (RFC 6455 §5.2), around the 512 bytes below which the
// solution copies a payload next to its header, and one of 1 MiB.
func batchOf(seed int) []Message {
	var msgs []Message
	for i, n := range append(edgeSizes, 511, 512, 513, 1<<20) {
		msgs = append(msgs, Message{OpText, testText(n, seed+i)}, Message{OpBinary, testBytes(n, seed+i)})
	}
	return msgs
}

// A batch goes out as one final frame per message, in order, each with its
// opcode and payload: from a server unmasked, from a client masked with a
// key of its own (RFC 6455 §5.1, §5.3), exactly as the same WriteMessage
// calls would send them.
func TestWriteMessagesSendsOneFramePerMessageInOrder(t *testing.T) {
	exercise.Start(t, "2.10")
	noLeaks(t)
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			var c *Conn
			var p *rawPeer
			if side == "server" {
				c, p = serverConnWithRawClient(t)
			} else {
				c, p = clientConnWithRawServer(t)
			}
			t.Cleanup(func() { c.CloseNow() })
			msgs := batchOf(0)
			wrote := make(chan error, 1)
			go func() { wrote <- c.WriteMessages(msgs) }()
			keys := map[[4]byte]bool{}
			for i, m := range msgs {
				f := p.next(fmt.Sprintf("frame %d of the batch, a %v message of %d bytes", i+1, m.Op, len(m.Data)))
				require.True(t, f.Fin, "message %d of the batch: one message is one final frame", i+1)
				require.Equal(t, byte(m.Op), f.Op, "message %d of the batch: its opcode", i+1)
				requireSameBytes(t, m.Data, f.Payload, fmt.Sprintf("message %d of the batch", i+1))
				keys[f.Key] = true
			}
			require.NoError(t, waitFor(t, wrote, "WriteMessages to return"))
			if side == "client" {
				assert.Greater(t, len(keys), len(msgs)/2, "a client masks every frame with a fresh key (RFC 6455 §5.3); %d frames used %d keys", len(msgs), len(keys))
			}
		})
	}
}

// A batch is an independent peer's messages too: gorilla/websocket reads
// each message of a server's batch, in order.
func TestWriteMessagesReachGorilla(t *testing.T) {
	exercise.Start(t, "2.10")
	noLeaks(t)
	msgs := batchOf(7)
	g, wrote := rawwsServerWriting(t, func(c *Conn) error { return c.WriteMessages(msgs) })
	for i, m := range msgs {
		require.NoError(t, g.SetReadDeadline(deadlineFor(len(m.Data))))
		op, p, err := g.ReadMessage()
		require.NoError(t, err, "gorilla/websocket reading message %d of the batch", i+1)
		require.Equal(t, int(m.Op), op, "the opcode of message %d", i+1)
		requireSameBytes(t, m.Data, p, fmt.Sprintf("message %d of the batch", i+1))
	}
	require.NoError(t, waitFor(t, wrote, "WriteMessages to return"))
}

// A batch with a control opcode (or any other than text and binary) is
// refused whole: WriteMessages returns an error and sends nothing, not even
// the good messages before the bad one. An empty batch sends nothing and is
// no error.
func TestWriteMessagesRefusesABadOpcodeAndSendsNothing(t *testing.T) {
	exercise.Start(t, "2.10")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	t.Cleanup(func() { c.CloseNow() })
	for _, op := range []Opcode{OpPing, OpPong, OpClose, OpContinuation, Opcode(0x3)} {
		err := c.WriteMessages([]Message{{OpText, []byte("before")}, {op, []byte("bad")}, {OpText, []byte("after")}})
		assert.Error(t, err, "WriteMessages with a message of opcode %v: only OpText and OpBinary are data messages (RFC 6455 §5.6)", op)
	}
	require.NoError(t, c.WriteMessages(nil), "an empty batch")
	require.NoError(t, c.WriteMessage(OpText, []byte("the only message")))
	f := p.next("the frame after the refused batches")
	assert.Equal(t, wireFrame{Fin: true, Op: wireText, Payload: []byte("the only message")}, f,
		"a refused batch must send nothing, not even its good messages")
}

// Batches written from many goroutines at once, with single messages and
// pings between them, each arrive whole: no other frame lands between the
// messages of one batch.
func TestConcurrentBatchesAreNeverInterleaved(t *testing.T) {
	exercise.Start(t, "2.10")
	noLeaks(t)
	const writers, batches, size = 8, 60, 5
	// The server's connection lets other goroutines run before every write
	// (yieldingConn), so that others are always waiting for their turn when
	// one finishes a write: if a batch gave up its turn between two
	// messages, one of them would take it.
	cl, sv := tcpPair(t)
	c, p := NewConn(yieldingConn{sv}, nil, true), newRawPeer(t, cl, nil, true)
	t.Cleanup(func() { c.CloseNow() })
	// Round by round, every writer starts its batch at the same moment, so
	// that batches really are written at the same time.
	errs := make(chan error, writers*batches)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range batches {
			start := make(chan struct{})
			var round sync.WaitGroup
			for g := range writers {
				round.Go(func() {
					<-start
					var msgs []Message
					for k := range size {
						msgs = append(msgs, Message{OpText, fmt.Appendf(nil, "writer %d batch %d message %d|%s", g, b, k, testText(300*k, g*1000+b))})
					}
					err := c.WriteMessages(msgs)
					if err == nil {
						err = c.WriteMessage(OpBinary, fmt.Appendf(nil, "writer %d alone after batch %d", g, b))
					}
					if err == nil && b%4 == 0 {
						err = c.Ping([]byte("between batches"))
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d, batch %d: %w", g, b, err)
					}
				})
			}
			close(start)
			round.Wait()
		}
	}()

	deadline := time.Now().Add(4 * ioTimeout)
	frames := writers * batches * (size + 1)
	for read := 0; read < frames; {
		require.True(t, time.Now().Before(deadline), "only %d of %d data frames came within %v", read, frames, 4*ioTimeout)
		f := p.next("the next frame")
		if f.Op == wirePing {
			continue
		}
		read++
		if f.Op != wireText {
			continue // a single binary message, between batches
		}
		var g, b, k int
		_, err := fmt.Sscanf(string(f.Payload), "writer %d batch %d message %d|", &g, &b, &k)
		require.NoError(t, err, "a text frame that is no message of a batch: %.40q", f.Payload)
		require.Zero(t, k, "writer %d's batch %d began with message %d: another frame came between the messages of a batch", g, b, k)
		for k := 1; k < size; k++ {
			next := p.next(fmt.Sprintf("message %d of writer %d's batch %d", k, g, b))
			want := fmt.Sprintf("writer %d batch %d message %d|", g, b, k)
			require.True(t, next.Op == wireText && len(next.Payload) >= len(want) && string(next.Payload[:len(want)]) == want,
				"after message %d of writer %d's batch %d came %.40q (opcode %#x): the messages of a batch go out together, with no other frame between them", k-1, g, b, next.Payload, next.Op)
			read++
		}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	waitFor(t, (<-chan struct{})(done), "the writers to finish")
}

// A yieldingConn gives the other goroutines a turn before each write, as a
// busy machine might at any moment.
type yieldingConn struct{ net.Conn }

func (c yieldingConn) Write(p []byte) (int, error) {
	runtime.Gosched()
	return c.Conn.Write(p)
}
