package rawws

import "github.com/websocket-workbook/workbook/internal/exercise"

// A UTF8Checker validates text as it streams in, a buffer at a time, so a
// Conn can fail a text message on its first invalid byte (RFC 6455 §8.1)
// instead of after buffering all of it. A sequence may be split across
// buffers, and across the frames of a fragmented message.
//
// Valid means exactly what unicode/utf8 accepts: no overlong encodings, no
// surrogates (U+D800–U+DFFF), nothing above U+10FFFF. The zero value is ready
// to check the start of a message.
type UTF8Checker struct {
	// Exercise 2.8: what does the checker need to remember between two
	// calls to Check?
}

// Check consumes the next bytes of the text and reports whether they can
// still be part of valid UTF-8. It returns false as soon as a byte makes the
// text invalid, even when that byte is the first of a sequence cut short at
// the end of p: 0xED 0xA0 is already invalid (a surrogate), without waiting
// for the third byte. After a false, the checker stays false.
func (c *UTF8Checker) Check(p []byte) bool {
	_ = exercise.TODO("2.8")
	return false
}

// Complete reports whether the text seen so far ends on a character
// boundary, as a whole message must. Call it when the final frame ends.
func (c *UTF8Checker) Complete() bool {
	_ = exercise.TODO("2.8")
	return false
}

// Reset prepares the checker for a new message.
func (c *UTF8Checker) Reset() { *c = UTF8Checker{} }
