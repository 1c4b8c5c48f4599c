package events

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.6: Acknowledgements.
//
// socket.io-protocol v5, "Acknowledgement": an EVENT may carry an ack id
// (`4212["name",...]`); the receiver answers with ACK and the same id
// (`4312[...]`), whose data is the array of the callback's arguments. Each
// side numbers its own requests.

// A ttAckResult is what one EmitWithAck returned.
type ttAckResult struct {
	args []json.RawMessage
	err  error
}

// ttEmitWithAck runs s.EmitWithAck in a goroutine, since it blocks until the
// answer comes.
func ttEmitWithAck(t *testing.T, ctx context.Context, s *Socket, event string, args ...any) <-chan ttAckResult {
	out := make(chan ttAckResult, 1)
	ttGo(t, func() {
		a, err := s.EmitWithAck(ctx, event, args...)
		out <- ttAckResult{a, err}
	})
	return out
}

func TestServerEmitWithAckGetsTheClientsAnswer(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	seen := map[int64]bool{}
	for i := range 3 {
		res := ttEmitWithAck(t, ttCtx(t), s, "question", "how many?", i)
		p, args := c.nextEvent("question")
		require.GreaterOrEqual(t, p.ID, int64(0), "EmitWithAck sends an EVENT with an ack id, `42<id>[...]`, got %q", p.Raw)
		require.False(t, seen[p.ID], "each EmitWithAck has its own ack id; %d was used before", p.ID)
		seen[p.ID] = true
		require.Len(t, args, 2)
		assert.JSONEq(t, fmt.Sprint(i), string(args[1]))

		c.send(fmt.Sprintf(`43%d[%d,"answer"]`, p.ID, 40+i)) // ACK with the same id
		r := ttWait(t, res, "EmitWithAck to return")
		require.NoError(t, r.err)
		require.Len(t, r.args, 2, "EmitWithAck returns the ACK's arguments")
		assert.JSONEq(t, fmt.Sprint(40+i), string(r.args[0]))
		assert.JSONEq(t, `"answer"`, string(r.args[1]))
	}
}

func TestServerAcksAnsweredOutOfOrder(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	first := ttEmitWithAck(t, ttCtx(t), s, "q", "first")
	p1, _ := c.nextEvent("q")
	second := ttEmitWithAck(t, ttCtx(t), s, "q", "second")
	p2, _ := c.nextEvent("q")
	c.send(fmt.Sprintf(`43%d["for second"]`, p2.ID))
	c.send(fmt.Sprintf(`43%d["for first"]`, p1.ID))
	r := ttWait(t, second, "the second EmitWithAck")
	require.NoError(t, r.err)
	assert.Equal(t, `"for second"`, string(r.args[0]), "an ACK goes to the EmitWithAck with its id")
	r = ttWait(t, first, "the first EmitWithAck")
	require.NoError(t, r.err)
	assert.Equal(t, `"for first"`, string(r.args[0]))
}

func TestServerEmitWithAckBinaryAnswer(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	res := ttEmitWithAck(t, ttCtx(t), s, "file?")
	p, _ := c.nextEvent("file?")
	// BINARY_ACK: `61-<id>[placeholder]`, then the attachment.
	c.send(fmt.Sprintf(`461-%d[%s]`, p.ID, ttPlaceholder(0)))
	c.sendBinary([]byte{9, 8, 7})
	r := ttWait(t, res, "EmitWithAck answered with BINARY_ACK")
	require.NoError(t, r.err)
	require.Len(t, r.args, 1, "the placeholder stays in the raw argument")
	_, ok := ttIsPlaceholder(r.args[0])
	assert.True(t, ok, "an answer with binary arrives as its placeholder, got %s", r.args[0])
}

func TestServerEmitWithAckTimesOutWithTheContext(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, ttEcho)
	c := dialTTRaw(t, srv, "a client that never answers", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := ttEmitWithAck(t, ctx, s, "question")
	p, _ := c.nextEvent("question")
	r := ttWait(t, res, "EmitWithAck to give up")
	assert.ErrorIs(t, r.err, context.DeadlineExceeded, "EmitWithAck returns ctx.Err() when ctx ends first")
	assert.Less(t, time.Since(start), ttTimeout/2, "EmitWithAck must return when ctx ends")

	// A cancelled context, likewise.
	ctx2, cancel2 := context.WithCancel(context.Background())
	res = ttEmitWithAck(t, ctx2, s, "question")
	c.nextEvent("question")
	cancel2()
	assert.ErrorIs(t, ttWait(t, res, "EmitWithAck after cancel").err, context.Canceled)

	// An answer that comes too late is dropped, and the socket goes on.
	c.send(fmt.Sprintf(`43%d["too late"]`, p.ID))
	c.stillServed("after a late ACK")
}

func TestServerEmitWithAckEndsWhenTheSocketLeaves(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	s := srv.nextSocket(t, "client")

	res := ttEmitWithAck(t, ttCtx(t), s, "question")
	c.nextEvent("question")
	c.send("41")
	r := ttWait(t, res, "EmitWithAck when the socket leaves")
	assert.ErrorIs(t, r.err, ErrDisconnected, "EmitWithAck returns ErrDisconnected when the socket goes away")
	srv.reasonFor(t, sid, "the client leaving")

	_, err := s.EmitWithAck(ttCtx(t), "question")
	assert.ErrorIs(t, err, ErrDisconnected, "EmitWithAck on a socket that has left")
}

func TestHandlerAnswersTheClientsAck(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	type result struct {
		hasAck       bool
		first, again error
	}
	results := make(chan result, 4)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("add", func(e *Event) {
			var a, b int
			_ = e.Decode(0, &a)
			_ = e.Decode(1, &b)
			r := result{hasAck: e.HasAck()}
			if r.hasAck {
				r.first = e.Ack(a+b, "sum")
				r.again = e.Ack(0)
			} else {
				r.first = e.Ack(0)
			}
			results <- r
		})
		s.On("later", func(e *Event) {
			// Ack may also be called after the handler returned.
			go func() { _ = e.Ack("answered later") }()
		})
	})
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	s := srv.nextSocket(t, "client")
	require.Equal(t, sid, s.ID())

	c.send(`4217["add",2,3]`) // EVENT with ack id 17
	p := c.nextPacket("the ACK of event 17")
	assert.Equal(t, 3, p.Type, "the answer is an ACK, `43<id>[...]`, got %q", p.Raw)
	assert.Equal(t, int64(17), p.ID, "the ACK carries the event's ack id")
	assert.JSONEq(t, `[5,"sum"]`, string(p.Data), "the ACK's data is the array of Ack's arguments")
	r := ttWait(t, results, "the handler")
	assert.True(t, r.hasAck, "HasAck: the event carried an ack id")
	assert.NoError(t, r.first, "the first Ack")
	assert.Error(t, r.again, "a second Ack of the same event is an error")

	// Only one ACK went out: the next packet is the sentinel.
	require.NoError(t, s.Emit("sentinel"))
	assert.Empty(t, c.eventsUntil("sentinel"), "exactly one ACK per event")

	c.send(`42["add",1,1]`) // no ack id
	r = ttWait(t, results, "the handler")
	assert.False(t, r.hasAck, "HasAck: no ack id, no ack")
	assert.Error(t, r.first, "Ack of an event that asked for none is an error")

	c.send(`420["later"]`)
	p = c.nextPacket("the ACK sent after the handler returned")
	assert.Equal(t, `30["answered later"]`, p.Raw)
}

func TestAckWithBinaryIsABinaryAck(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("thumbnail", func(e *Event) { _ = e.Ack([]byte{1, 2, 3, 4}) })
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	c.send(`425["thumbnail","cat.png"]`)
	p := c.nextPacket("the BINARY_ACK")
	assert.Equal(t, 6, p.Type, "an ACK with a []byte is BINARY_ACK, `461-5[...]`, got %q", p.Raw)
	assert.Equal(t, int64(5), p.ID)
	require.Len(t, p.Attachments, 1)
	assert.Equal(t, []byte{1, 2, 3, 4}, p.Attachments[0])
	assert.JSONEq(t, `[`+ttPlaceholder(0)+`]`, string(p.Data))
}

func TestHandleAnswersABadPayloadThroughTheAck(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		Handle(s, "send-message", func(m chatMessage, e *Event) {
			_ = e.Ack(map[string]any{"success": true, "text": m.Text})
		})
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")

	c.send(`423["send-message",{"text":"hi"}]`)
	p := c.nextPacket("the ACK of a good message")
	assert.Equal(t, int64(3), p.ID)
	assert.JSONEq(t, `[{"success":true,"text":"hi"}]`, string(p.Data))

	// The client asked for an ack: the error goes there, as {"error": ...}.
	c.send(`424["send-message","not an object"]`)
	p = c.nextPacket("the ACK of a bad message")
	assert.Equal(t, 3, p.Type, "a payload that does not decode is answered through the ack, got %q", p.Raw)
	assert.Equal(t, int64(4), p.ID)
	var answer []struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(p.Data, &answer), `expected [{"error":"..."}], got %s`, p.Data)
	require.Len(t, answer, 1)
	assert.NotEmpty(t, answer[0].Error)

	c.send(`425["send-message",{"text":"still fine"}]`)
	p = c.nextPacket("the ACK after the bad one")
	assert.Equal(t, int64(5), p.ID)
}
