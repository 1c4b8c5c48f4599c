package rawws

import "github.com/websocket-workbook/workbook/internal/exercise"

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
func Mask(key [4]byte, pos int, b []byte) int {
	_ = exercise.TODO("2.3")
	return pos
}
