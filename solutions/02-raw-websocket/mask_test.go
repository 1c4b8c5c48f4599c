package rawws

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// maskRef is RFC 6455 §5.3 read literally: octet i of the payload is XORed
// with octet (pos + i) MOD 4 of the key.
func maskRef(key [4]byte, pos int, b []byte) {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
}

// The masked text example of RFC 6455 §5.7: "Hello" under the key
// 37 fa 21 3d is 7f 9f 4d 51 58.
func TestMaskProducesRFC6455Section57Bytes(t *testing.T) {
	exercise.Start(t, "2.3")
	b := []byte("Hello")
	next := Mask(rfcKey, 0, b)
	assert.Equal(t, []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}, b, `Mask(37 fa 21 3d, 0, "Hello") (RFC 6455 §5.7)`)
	assert.Equal(t, 1, next%4, "the position after 5 bytes is 5 mod 4")

	// And unmasking is the same operation (§5.3).
	Mask(rfcKey, 0, b)
	assert.Equal(t, "Hello", string(b), "masking the masked bytes again must give back the payload (RFC 6455 §5.3)")
}

// Mask agrees with the byte-at-a-time definition for every length (short
// ones, and long ones that a word-at-a-time loop handles in bulk), every
// starting position, and buffers that do not start on a word boundary.
func TestMaskMatchesByteAtATimeReference(t *testing.T) {
	exercise.Start(t, "2.3")
	key := [4]byte{0x9c, 0x41, 0xe7, 0x06}
	var lengths []int
	for n := range 70 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 125, 126, 127, 128, 255, 256, 257, 1000, 4095, 4096, 4097, 65539)
	for _, n := range lengths {
		for pos := range 4 {
			for offset := range 8 {
				backing := testBytes(n+offset+8, n*31+pos)
				want := bytes.Clone(backing)
				maskRef(key, pos, want[offset:offset+n])

				next := Mask(key, pos, backing[offset:offset+n])
				if !bytes.Equal(want, backing) {
					t.Fatalf("Mask(% x, pos %d) of %d bytes at offset %d differs from the byte-at-a-time XOR of RFC 6455 §5.3 (or wrote outside its buffer)", key, pos, n, offset)
				}
				if next%4 != (pos+n)%4 {
					t.Fatalf("Mask(key, pos %d) of %d bytes returned %d; the next buffer starts at position %d (mod 4)", pos, n, next, (pos+n)%4)
				}
			}
		}
	}
}

// A payload masked a piece at a time, passing the returned position on,
// comes out the same as the payload masked in one go, however it is split
// (the Conn masks and unmasks whatever its buffers hold).
func TestMaskContinuesAcrossBufferSplits(t *testing.T) {
	exercise.Start(t, "2.3")
	rng := rand.New(rand.NewPCG(6455, 53))
	for round := range 200 {
		key := [4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
		payload := testBytes(1+rng.IntN(3000), round)
		want := bytes.Clone(payload)
		maskRef(key, 0, want)

		got := bytes.Clone(payload)
		var splits []int
		pos := 0
		for rest := got; len(rest) > 0; {
			n := min(len(rest), rng.IntN(17))
			if rng.IntN(8) == 0 {
				n = min(len(rest), rng.IntN(600))
			}
			pos = Mask(key, pos, rest[:n])
			splits = append(splits, n)
			rest = rest[n:]
		}
		require.True(t, bytes.Equal(want, got), "masking %d bytes in pieces of %v, passing the returned position on, differs from masking them in one go (RFC 6455 §5.3)", len(payload), splits)
	}
}

// Masking is an involution: with a key of non-zero bytes it changes every
// byte, and applying it twice with the same key and position restores the
// payload (§5.3: "the same algorithm applies regardless of the direction").
func TestMaskTwiceRestoresPayload(t *testing.T) {
	exercise.Start(t, "2.3")
	key := [4]byte{0x01, 0x80, 0xff, 0x5a}
	for _, n := range []int{1, 3, 4, 5, 8, 9, 31, 64, 1023} {
		for pos := range 4 {
			orig := testBytes(n, n+pos)
			b := bytes.Clone(orig)
			Mask(key, pos, b)
			for i := range b {
				require.NotEqual(t, orig[i], b[i], "byte %d of %d was not changed by a key with no zero byte (pos %d)", i, n, pos)
			}
			Mask(key, pos, b)
			require.Equal(t, orig, b, "masking %d bytes twice from pos %d must restore them (RFC 6455 §5.3)", n, pos)
		}
	}
}
