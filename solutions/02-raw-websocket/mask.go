package rawws

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key (RFC 6455 §5.3): byte i of the
// payload is XORed with key[(pos+i) % 4]. pos is how many payload bytes of the
// same frame came before b, modulo 4; Mask returns the position for the next
// buffer of the frame, so a payload can be masked a piece at a time:
//
//	pos := 0
//	pos = Mask(key, pos, first)
//	pos = Mask(key, pos, second)
//
// Masking twice with the same key and position restores the original bytes.
//
// Masking touches every byte a client sends and a server receives, so it is
// worth doing fast. Rather than one byte at a time, Mask rotates the key so
// that its first byte lines up with b[0], repeats it to fill a 64-bit word,
// and XORs eight bytes per step (encoding/binary compiles the little-endian
// load and store to single instructions, unaligned access included); only
// the last few bytes are done one at a time. No unsafe is needed to be
// faster than a byte loop by more than ten times.
func Mask(key [4]byte, pos int, b []byte) int {
	n := len(b)
	k64 := maskWord(key, pos)
	i := 0
	// 64 bytes per iteration. The three-index slice tells the compiler
	// that s holds exactly 64 bytes, so the eight loads and stores need no
	// bounds checks.
	for ; i+64 <= n; i += 64 {
		s := b[i : i+64 : i+64]
		binary.LittleEndian.PutUint64(s[0:], binary.LittleEndian.Uint64(s[0:])^k64)
		binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k64)
		binary.LittleEndian.PutUint64(s[32:], binary.LittleEndian.Uint64(s[32:])^k64)
		binary.LittleEndian.PutUint64(s[40:], binary.LittleEndian.Uint64(s[40:])^k64)
		binary.LittleEndian.PutUint64(s[48:], binary.LittleEndian.Uint64(s[48:])^k64)
		binary.LittleEndian.PutUint64(s[56:], binary.LittleEndian.Uint64(s[56:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		s := b[i : i+8 : i+8]
		binary.LittleEndian.PutUint64(s, binary.LittleEndian.Uint64(s)^k64)
	}
	// Fewer than 8 bytes are left. The key's phase has not moved: every
	// step above consumed a multiple of 4 bytes.
	for j := range b[i:] {
		b[i+j] ^= byte(k64 >> (8 * (j & 3)))
	}
	return (pos + n) & 3
}

// maskWord is the key as a 64-bit word whose lowest byte masks the byte at
// position pos: the key rotated so that key[pos%4] comes first (in
// little-endian order the first byte is the low one, so rotate right by
// 8*pos bits), then repeated to fill 8 bytes.
func maskWord(key [4]byte, pos int) uint64 {
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
	return uint64(k32)<<32 | uint64(k32)
}

// maskCopy writes src XOR the key into dst, which must be at least as long
// as src, and returns the position after src. Copying and masking in one
// pass is how a client fills its write buffer: the caller's message is read
// once and written once, never modified.
func maskCopy(dst, src []byte, key [4]byte, pos int) int {
	n := len(src)
	dst = dst[:n]
	k64 := maskWord(key, pos)
	i := 0
	for ; i+32 <= n; i += 32 {
		s, d := src[i:i+32:i+32], dst[i:i+32:i+32]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k64)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:i+8:i+8], binary.LittleEndian.Uint64(src[i:i+8:i+8])^k64)
	}
	for j := range src[i:] {
		dst[i+j] = src[i+j] ^ byte(k64>>(8*(j&3)))
	}
	return (pos + n) & 3
}
