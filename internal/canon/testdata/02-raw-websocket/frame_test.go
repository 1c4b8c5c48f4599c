package rawws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// rfcKey is the masking key of the masked examples of RFC 6455 §5.7.
var rfcKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// payload256 and payload64K are the payloads of the two binary examples of
// §5.7; the RFC gives only their lengths, so any bytes do.
var (
	payload256 = testBytes(256, 256)
	payload64K = testBytes(65536, 65536)
)

// An rfcFrame is one frame of the examples of RFC 6455 §5.7, exactly as the
// RFC prints it.
type rfcFrame struct {
	name    string
	wire    []byte // the whole frame, header and (masked) payload
	header  Header // what the header says
	payload []byte // the payload, unmasked
}

// headerLen is the length of the frame's header.
func (f rfcFrame) headerLen() int { return len(f.wire) - len(f.payload) }

var rfcFrames = []rfcFrame{
	{
		name:    "a single-frame unmasked text message",
		wire:    []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		header:  Header{Fin: true, Opcode: OpText, Length: 5},
		payload: []byte("Hello"),
	},
	{
		name:    "a single-frame masked text message",
		wire:    []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		header:  Header{Fin: true, Opcode: OpText, Masked: true, Key: rfcKey, Length: 5},
		payload: []byte("Hello"),
	},
	{
		name:    "the first frame of a fragmented unmasked text message",
		wire:    []byte{0x01, 0x03, 0x48, 0x65, 0x6c},
		header:  Header{Fin: false, Opcode: OpText, Length: 3},
		payload: []byte("Hel"),
	},
	{
		name:    "the second frame of a fragmented unmasked text message",
		wire:    []byte{0x80, 0x02, 0x6c, 0x6f},
		header:  Header{Fin: true, Opcode: OpContinuation, Length: 2},
		payload: []byte("lo"),
	},
	{
		name:    "an unmasked ping",
		wire:    []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		header:  Header{Fin: true, Opcode: OpPing, Length: 5},
		payload: []byte("Hello"),
	},
	{
		name:    "a masked pong",
		wire:    []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		header:  Header{Fin: true, Opcode: OpPong, Masked: true, Key: rfcKey, Length: 5},
		payload: []byte("Hello"),
	},
	{
		name:    "256 bytes of binary in a single unmasked frame",
		wire:    append([]byte{0x82, 0x7E, 0x01, 0x00}, payload256...),
		header:  Header{Fin: true, Opcode: OpBinary, Length: 256},
		payload: payload256,
	},
	{
		name:    "64 KiB of binary in a single unmasked frame",
		wire:    append([]byte{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}, payload64K...),
		header:  Header{Fin: true, Opcode: OpBinary, Length: 65536},
		payload: payload64K,
	},
}

// AppendHeader writes the headers of the RFC 6455 §5.7 examples byte for byte.
func TestAppendHeaderEncodesRFC6455Section57Examples(t *testing.T) {
	exercise.Start(t, "2.2")
	for _, ex := range rfcFrames {
		want := ex.wire[:ex.headerLen()]
		got := AppendHeader(nil, ex.header)
		assert.Equal(t, want, got, "AppendHeader for %s (RFC 6455 §5.7): expected % x, got % x", ex.name, want, got)
	}
}

// ReadHeader decodes the headers of the RFC 6455 §5.7 examples, and reads
// nothing of the payload that follows.
func TestReadHeaderDecodesRFC6455Section57Examples(t *testing.T) {
	exercise.Start(t, "2.2")
	for _, ex := range rfcFrames {
		br := bufio.NewReader(bytes.NewReader(ex.wire))
		h, err := ReadHeader(br)
		require.NoError(t, err, "ReadHeader of %s (RFC 6455 §5.7)", ex.name)
		assert.Equal(t, ex.header, h, "ReadHeader of %s (RFC 6455 §5.7)", ex.name)
		rest, _ := io.ReadAll(br)
		assert.Equal(t, len(ex.payload), len(rest), "ReadHeader of %s must read the header and nothing more", ex.name)
	}
}

// §5.2: "the minimal number of bytes MUST be used to encode the length":
// 0–125 in the 7-bit field, 126–65535 as 126 and 16 bits, above that as 127
// and 64 bits, in network byte order.
func TestAppendHeaderUsesMinimalLengthEncoding(t *testing.T) {
	exercise.Start(t, "2.2")
	for _, tc := range []struct {
		length int64
		want   []byte
	}{
		{0, []byte{0x82, 0x00}},
		{1, []byte{0x82, 0x01}},
		{125, []byte{0x82, 0x7D}},
		{126, []byte{0x82, 0x7E, 0x00, 0x7E}},
		{127, []byte{0x82, 0x7E, 0x00, 0x7F}},
		{65535, []byte{0x82, 0x7E, 0xFF, 0xFF}},
		{65536, []byte{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}},
		{1<<32 + 5, []byte{0x82, 0x7F, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05}},
		{1<<63 - 1, []byte{0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
	} {
		h := Header{Fin: true, Opcode: OpBinary, Length: tc.length}
		assert.Equal(t, tc.want, AppendHeader(nil, h), "header of a %d-byte unmasked binary frame (RFC 6455 §5.2)", tc.length)

		// Masked, the key follows the length.
		h.Masked, h.Key = true, [4]byte{1, 2, 3, 4}
		want := append(bytes.Clone(tc.want), 1, 2, 3, 4)
		want[1] |= 0x80
		assert.Equal(t, want, AppendHeader(nil, h), "header of a %d-byte masked binary frame (RFC 6455 §5.2)", tc.length)
	}
}

// AppendHeader appends: what was in the slice stays, and with room for
// MaxHeaderLen more bytes it does not allocate.
func TestAppendHeaderAppendsWithoutAllocating(t *testing.T) {
	exercise.Start(t, "2.2")
	h := Header{Fin: true, Opcode: OpBinary, Masked: true, Key: rfcKey, Length: 65536}
	want := []byte{0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0x37, 0xfa, 0x21, 0x3d}
	require.Equal(t, append([]byte("prefix"), want...), AppendHeader([]byte("prefix"), h),
		"AppendHeader must append to the slice it is given")

	buf := make([]byte, 0, MaxHeaderLen)
	var out []byte
	allocs := testing.AllocsPerRun(100, func() { out = AppendHeader(buf[:0], h) })
	require.Equal(t, want, out)
	assert.Zero(t, allocs, "AppendHeader allocated with room for MaxHeaderLen bytes")
}

// ReadHeader decodes every field of §5.2: FIN, the three reserved bits, the
// opcode (reserved ones too: it is the Conn that refuses them), MASK and the
// key, and the length in each of its encodings.
func TestReadHeaderDecodesEveryField(t *testing.T) {
	exercise.Start(t, "2.2")
	for _, tc := range []struct {
		wire []byte
		want Header
	}{
		{[]byte{0x00, 0x00}, Header{}},
		{[]byte{0xF0, 0x00}, Header{Fin: true, Rsv: 7}},
		{[]byte{0x40, 0x00}, Header{Rsv: 4}},
		{[]byte{0x20, 0x00}, Header{Rsv: 2}},
		{[]byte{0x10, 0x00}, Header{Rsv: 1}},
		{[]byte{0x83, 0x00}, Header{Fin: true, Opcode: 3}},
		{[]byte{0x8F, 0x7D}, Header{Fin: true, Opcode: 0xF, Length: 125}},
		{[]byte{0x88, 0x82, 0xde, 0xad, 0xbe, 0xef}, Header{Fin: true, Opcode: OpClose, Masked: true, Key: [4]byte{0xde, 0xad, 0xbe, 0xef}, Length: 2}},
		{[]byte{0x02, 0xFE, 0x01, 0x00, 9, 8, 7, 6}, Header{Opcode: OpBinary, Masked: true, Key: [4]byte{9, 8, 7, 6}, Length: 256}},
		// The edges of each encoding: 125 is the last 7-bit length, 126 and
		// 65535 the first and last in 16 bits, 65536 the first in 64 bits.
		{[]byte{0x82, 0x7D}, Header{Fin: true, Opcode: OpBinary, Length: 125}},
		{[]byte{0x82, 0x7E, 0x00, 0x7E}, Header{Fin: true, Opcode: OpBinary, Length: 126}},
		{[]byte{0x82, 0x7E, 0xFF, 0xFF}, Header{Fin: true, Opcode: OpBinary, Length: 65535}},
		{[]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, Header{Fin: true, Opcode: OpBinary, Length: 65536}},
		{[]byte{0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, Header{Fin: true, Opcode: OpBinary, Length: 1<<63 - 1}},
	} {
		h, err := ReadHeader(bufio.NewReader(bytes.NewReader(tc.wire)))
		require.NoError(t, err, "ReadHeader(% x)", tc.wire)
		assert.Equal(t, tc.want, h, "ReadHeader(% x) (RFC 6455 §5.2)", tc.wire)
	}
}

// A length must use the fewest bytes that hold it, and a 64-bit length must
// have its most significant bit clear (§5.2). ReadHeader refuses anything
// else with an error wrapping ErrBadHeader.
func TestReadHeaderRejectsMalformedLengths(t *testing.T) {
	exercise.Start(t, "2.2")
	for _, tc := range []struct {
		name string
		wire []byte
	}{
		{"0 in 16 bits", []byte{0x82, 0x7E, 0x00, 0x00}},
		{"125 in 16 bits", []byte{0x82, 0x7E, 0x00, 0x7D}},
		{"0 in 64 bits", []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"125 in 64 bits", []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x7D}},
		{"65535 in 64 bits", []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}},
		{"65535 in 64 bits, masked", []byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4}},
		{"a 64-bit length with its most significant bit set", []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"a 64-bit length of all ones", []byte{0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
	} {
		_, err := ReadHeader(bufio.NewReader(bytes.NewReader(tc.wire)))
		assert.ErrorIs(t, err, ErrBadHeader, "ReadHeader of %s (% x) must fail with ErrBadHeader (RFC 6455 §5.2)", tc.name, tc.wire)
	}
}

// At the clean end of a stream there is no header: io.EOF. A stream that
// stops inside a header is truncated: io.ErrUnexpectedEOF. A well-formed
// header just before the end is read without error.
func TestReadHeaderReportsEOFAndTruncation(t *testing.T) {
	exercise.Start(t, "2.2")
	_, err := ReadHeader(bufio.NewReader(bytes.NewReader(nil)))
	require.ErrorIs(t, err, io.EOF, "ReadHeader at the end of the stream")

	for _, wire := range [][]byte{
		{0x81},
		{0x82, 0x7E},
		{0x82, 0x7E, 0x01},
		{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0},
		{0x81, 0x85},
		{0x81, 0x85, 0x37, 0xfa, 0x21},
		{0x82, 0xFE, 0x01, 0x00, 0x37},
	} {
		_, err := ReadHeader(bufio.NewReader(bytes.NewReader(wire)))
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "ReadHeader of the truncated header % x", wire)
	}

	h, err := ReadHeader(bufio.NewReader(bytes.NewReader([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d})))
	require.NoError(t, err, "a complete header with no payload yet")
	assert.Equal(t, Header{Fin: true, Opcode: OpText, Masked: true, Key: rfcKey, Length: 5}, h)
}

// ReadHeader reads one header and leaves the next bytes where they are, so
// the Conn can read the payload and then the next header.
func TestReadHeaderReadsConsecutiveHeaders(t *testing.T) {
	exercise.Start(t, "2.2")
	var stream []byte
	for _, ex := range rfcFrames {
		stream = append(stream, ex.wire...)
	}
	br := bufio.NewReaderSize(bytes.NewReader(stream), 16)
	for _, ex := range rfcFrames {
		h, err := ReadHeader(br)
		require.NoError(t, err, "ReadHeader of %s in a stream of frames", ex.name)
		require.Equal(t, ex.header, h, "ReadHeader of %s in a stream of frames", ex.name)
		_, err = io.CopyN(io.Discard, br, h.Length)
		require.NoError(t, err)
	}
	_, err := ReadHeader(br)
	require.ErrorIs(t, err, io.EOF, "after the last frame")
}

// anyHeader generates headers for testing/quick, with lengths spread over
// all three encodings and their boundaries.
type anyHeader struct{ Header }

func (anyHeader) Generate(r *rand.Rand, _ int) reflect.Value {
	h := Header{
		Fin:    r.Intn(2) == 0,
		Rsv:    byte(r.Intn(8)),
		Opcode: Opcode(r.Intn(16)),
		Masked: r.Intn(2) == 0,
	}
	if h.Masked {
		binary.BigEndian.PutUint32(h.Key[:], r.Uint32())
	}
	switch r.Intn(5) {
	case 0:
		h.Length = r.Int63n(126)
	case 1:
		h.Length = 126 + r.Int63n(65536-126)
	case 2:
		h.Length = 65536 + r.Int63n(1<<40)
	case 3:
		h.Length = r.Int63()
	default:
		edges := []int64{0, 125, 126, 65535, 65536, 1<<63 - 1}
		h.Length = edges[r.Intn(len(edges))]
	}
	return reflect.ValueOf(anyHeader{h})
}

// Whatever AppendHeader writes, ReadHeader reads back unchanged, and the
// header is exactly as long as §5.2 says: 2 bytes, plus 2 or 8 of extended
// length, plus 4 of key.
func TestHeaderRoundTrips(t *testing.T) {
	exercise.Start(t, "2.2")
	roundTrip := func(g anyHeader) bool {
		h := g.Header
		b := AppendHeader(nil, h)
		want := 2
		switch {
		case h.Length > 65535:
			want += 8
		case h.Length > 125:
			want += 2
		}
		if h.Masked {
			want += 4
		}
		if len(b) != want {
			t.Logf("AppendHeader(%+v) wrote %d bytes (% x), expected %d", h, len(b), b, want)
			return false
		}
		got, err := ReadHeader(bufio.NewReader(bytes.NewReader(b)))
		if err != nil || got != h {
			t.Logf("AppendHeader(%+v) = % x, read back as %+v, %v", h, b, got, err)
			return false
		}
		return true
	}
	require.NoError(t, quick.Check(roundTrip, &quick.Config{MaxCount: 2000, Rand: rand.New(rand.NewSource(6455))}))
}

// refHeader decodes a header straight from RFC 6455 §5.2, for FuzzReadHeader
// to compare with. n is the header's length; bad reports a length that breaks
// §5.2; short reports data that ends before the header does.
func refHeader(data []byte) (h Header, n int, bad, short bool) {
	if len(data) < 2 {
		return h, 0, false, true
	}
	h.Fin = data[0]&0x80 != 0
	h.Rsv = data[0] >> 4 & 0x7
	h.Opcode = Opcode(data[0] & 0x0F)
	h.Masked = data[1]&0x80 != 0
	n = 2
	switch l := data[1] & 0x7F; l {
	case 126:
		if len(data) < 4 {
			return h, 0, false, true
		}
		h.Length = int64(binary.BigEndian.Uint16(data[2:]))
		bad = h.Length < 126
		n = 4
	case 127:
		if len(data) < 10 {
			return h, 0, false, true
		}
		u := binary.BigEndian.Uint64(data[2:])
		h.Length = int64(u)
		bad = u>>63 != 0 || u <= 0xFFFF
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(data) < n+4 {
			return h, 0, bad, true
		}
		copy(h.Key[:], data[n:])
		n += 4
	}
	return h, n, bad, false
}

// ReadHeader never panics, whatever the bytes; it agrees with a decoder
// written straight from §5.2; and a header it accepts re-encodes to the very
// bytes it came from (only minimal encodings are accepted).
func FuzzReadHeader(f *testing.F) {
	exercise.Start(f, "2.2")
	for _, ex := range rfcFrames {
		f.Add(ex.wire)
	}
	for _, seed := range [][]byte{
		{}, {0x81}, {0x82, 0x7E, 0x00}, {0x82, 0x7E, 0x00, 0x7D}, {0x82, 0x7E, 0xFF, 0xFF},
		{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF},
		{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1},
		{0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4},
		{0x70, 0x80, 1, 2, 3, 4}, {0x88, 0x82, 1, 2, 3, 4, 0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, n, bad, short := refHeader(data)
		br := bufio.NewReader(bytes.NewReader(data))
		h, err := ReadHeader(br)
		switch {
		case len(data) == 0:
			require.ErrorIs(t, err, io.EOF, "ReadHeader of nothing")
		case bad && short:
			// A bad length in a header that is also cut short: either
			// error is right, depending on when the length is checked.
			if !assertIsEither(err, ErrBadHeader, io.ErrUnexpectedEOF) {
				t.Fatalf("ReadHeader(% x) = %v; expected ErrBadHeader or io.ErrUnexpectedEOF", data, err)
			}
		case bad:
			require.ErrorIs(t, err, ErrBadHeader, "ReadHeader(% x): the length is not minimal or has its MSB set (RFC 6455 §5.2)", data)
		case short:
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "ReadHeader(% x): the header is cut short", data)
		default:
			require.NoError(t, err, "ReadHeader(% x)", data)
			require.Equal(t, want, h, "ReadHeader(% x) (RFC 6455 §5.2)", data)
			require.Equal(t, data[:n], AppendHeader(nil, h), "AppendHeader of the header ReadHeader decoded from % x", data)
			rest, _ := io.ReadAll(br)
			require.Equal(t, len(data)-n, len(rest), "ReadHeader(% x) must consume exactly the %d header bytes", data, n)
		}
	})
}

func assertIsEither(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
