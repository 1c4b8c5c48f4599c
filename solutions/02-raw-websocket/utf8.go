package rawws

import "unicode/utf8"

// A UTF8Checker validates text as it streams in, a buffer at a time, so a
// Conn can fail a text message on its first invalid byte (RFC 6455 §8.1)
// instead of after buffering all of it. A sequence may be split across
// buffers, and across the frames of a fragmented message.
//
// Valid means exactly what unicode/utf8 accepts: no overlong encodings, no
// surrogates (U+D800–U+DFFF), nothing above U+10FFFF. The zero value is ready
// to check the start of a message.
//
// The checker is a small state machine (RFC 3629 §4 gives the grammar): all
// it remembers between two calls is how many continuation bytes the current
// character still needs, and the range the next one must fall in. The range
// is what catches a bad character at its earliest byte: after 0xE0 the next
// byte must be 0xA0–0xBF (anything lower would be an overlong encoding),
// after 0xED 0x80–0x9F (higher would be a surrogate), after 0xF0 0x90–0xBF,
// after 0xF4 0x80–0x8F (higher would be above U+10FFFF), and 0x80–0xBF
// otherwise.
type UTF8Checker struct {
	need   uint8 // continuation bytes the current character still needs
	lo, hi byte  // the range the next continuation byte must be in
	bad    bool  // an invalid byte has been seen
}

// Check consumes the next bytes of the text and reports whether they can
// still be part of valid UTF-8. It returns false as soon as a byte makes the
// text invalid, even when that byte is the first of a sequence cut short at
// the end of p: 0xED 0xA0 is already invalid (a surrogate), without waiting
// for the third byte. After a false, the checker stays false.
func (c *UTF8Checker) Check(p []byte) bool {
	if c.bad {
		return false
	}
	// Finish a character left open by the previous buffer.
	for c.need > 0 && len(p) > 0 {
		if !c.step(p[0]) {
			return false
		}
		p = p[1:]
	}
	if len(p) == 0 {
		return true
	}
	// The middle of the buffer holds whole characters: let unicode/utf8,
	// which is fast on ASCII, check them. Only a character cut short at the
	// end of p (its first byte is within the last three) goes through the
	// state machine, which keeps it open for the next call.
	tail := incompleteTail(p)
	if !utf8.Valid(p[:len(p)-tail]) {
		c.bad = true
		return false
	}
	for _, b := range p[len(p)-tail:] {
		if !c.step(b) {
			return false
		}
	}
	return true
}

// Complete reports whether the text seen so far ends on a character
// boundary, as a whole message must. Call it when the final frame ends.
func (c *UTF8Checker) Complete() bool { return !c.bad && c.need == 0 }

// Reset prepares the checker for a new message.
func (c *UTF8Checker) Reset() { *c = UTF8Checker{} }

// step feeds one byte to the state machine.
func (c *UTF8Checker) step(b byte) bool {
	if c.need > 0 {
		if b < c.lo || b > c.hi {
			c.bad = true
			return false
		}
		c.need--
		c.lo, c.hi = 0x80, 0xBF
		return true
	}
	c.lo, c.hi = 0x80, 0xBF
	switch {
	case b < 0x80:
		return true
	case b >= 0xC2 && b <= 0xDF:
		c.need = 1
	case b == 0xE0:
		c.need, c.lo = 2, 0xA0
	case b == 0xED:
		c.need, c.hi = 2, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		c.need = 2
	case b == 0xF0:
		c.need, c.lo = 3, 0x90
	case b >= 0xF1 && b <= 0xF3:
		c.need = 3
	case b == 0xF4:
		c.need, c.hi = 3, 0x8F
	default: // 0x80–0xC1 (stray continuation, overlong 2-byte), 0xF5–0xFF
		c.bad = true
		return false
	}
	return true
}

// incompleteTail returns how many bytes at the end of p belong to a
// character that p cuts short: 0 when p ends on a character boundary (or
// ends in bytes that are invalid anyway, which utf8.Valid will report).
func incompleteTail(p []byte) int {
	// A character is at most 4 bytes, so its first byte, if it is cut
	// short, is among the last 3.
	for i := 1; i <= 3 && i <= len(p); i++ {
		b := p[len(p)-i]
		if b < 0x80 {
			return 0 // ASCII: everything before the end is whole
		}
		if b < 0xC0 {
			continue // a continuation byte: look further back
		}
		// A leading byte: how long is its character?
		want := 2
		switch {
		case b >= 0xF0:
			want = 4
		case b >= 0xE0:
			want = 3
		}
		if want > i {
			return i
		}
		return 0
	}
	return 0
}
