package rawws

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// utf8Cases are texts, valid and invalid, at the edges of RFC 3629 §3 (what
// unicode/utf8 accepts): every length of sequence, the first and last code
// points of each, the surrogates, overlong forms and bytes that never occur.
var utf8Cases = []string{
	"", "a", "Hello", "héllo", "€", "𝄞", "🚀", "κόσμε", "\x00", "\x7f",
	"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
	"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
	// invalid
	"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x00", "\xe0\x80\x80", "\xe0\x9f\xbf",
	"\xed\xa0\x80", "\xed\xbf\xbf", "\xe2\x82", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
	"abc\xed\xa0", "price: \xe2\x82\xac\xff", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
}

// checkAll runs a fresh checker over text cut at the given points and
// returns whether every Check held, and Complete.
func checkAll(text string, cuts ...int) (checks, complete bool) {
	var c UTF8Checker
	checks, prev := true, 0
	for _, cut := range append(cuts, len(text)) {
		if !c.Check([]byte(text[prev:cut])) {
			checks = false
		}
		prev = cut
	}
	return checks, checks && c.Complete()
}

// Fed a whole text at once, the checker accepts exactly what unicode/utf8
// accepts (RFC 3629 §3; RFC 6455 §8.1).
func TestUTF8CheckerAcceptsExactlyValidUTF8(t *testing.T) {
	exercise.Start(t, "2.8")
	for _, text := range utf8Cases {
		checks, complete := checkAll(text)
		assert.Equal(t, utf8.ValidString(text), complete, "Check(%q) then Complete(): expected %v", text, utf8.ValidString(text))
		if utf8.ValidString(text) {
			assert.True(t, checks, "Check(%q) of valid text", text)
		}
	}
}

// However a text is cut into buffers, even in the middle of a character, the
// verdict is the same as for the whole (RFC 6455 §8.1: a sequence may be
// split across frames).
func TestUTF8CheckerHandlesSequencesSplitAnywhere(t *testing.T) {
	exercise.Start(t, "2.8")
	for _, text := range utf8Cases {
		want := utf8.ValidString(text)
		for i := 0; i <= len(text); i++ {
			for j := i; j <= len(text); j++ {
				_, complete := checkAll(text, i, j)
				require.Equal(t, want, complete, "%q cut into %q, %q, %q: expected valid=%v", text, text[:i], text[i:j], text[j:], want)
			}
		}
		// And one byte at a time.
		cuts := make([]int, 0, len(text))
		for i := 1; i < len(text); i++ {
			cuts = append(cuts, i)
		}
		_, complete := checkAll(text, cuts...)
		require.Equal(t, want, complete, "%q one byte at a time: expected valid=%v", text, want)
	}
}

// Check returns false as soon as a byte makes the text invalid, without
// waiting for the rest of a sequence that cannot become valid, and stays
// false; a sequence that can still be completed is not yet an error.
func TestUTF8CheckerFailsOnFirstInvalidByte(t *testing.T) {
	exercise.Start(t, "2.8")
	for _, tc := range []struct {
		prefix string
		ok     bool
		why    string
	}{
		{"abc\xe2\x82", true, "the first two bytes of €: it may still be completed"},
		{"\xf0\x9f\x9a", true, "three bytes of 🚀"},
		{"\xed\x9f", true, "the start of U+D7C0, the last code points before the surrogates"},
		{"abc\xed\xa0", false, "0xED 0xA0 can only begin a surrogate (U+D800–U+DFFF)"},
		{"\xc0", false, "0xC0 only begins overlong forms"},
		{"\xc1", false, "0xC1 only begins overlong forms"},
		{"\xe0\x80", false, "0xE0 0x80 begins an overlong form"},
		{"\xf0\x8f", false, "0xF0 0x8F begins an overlong form"},
		{"\xf4\x90", false, "0xF4 0x90 begins a code point above U+10FFFF"},
		{"\xf5", false, "0xF5 never occurs in UTF-8"},
		{"\xff", false, "0xFF never occurs in UTF-8"},
		{"ok\x80", false, "a continuation byte with nothing to continue"},
		{"\xe2\x82a", false, "a sequence interrupted by ASCII"},
	} {
		var c UTF8Checker
		assert.Equal(t, tc.ok, c.Check([]byte(tc.prefix)), "Check(%q): %s", tc.prefix, tc.why)
		if !tc.ok {
			assert.False(t, c.Check([]byte("fine")), "after %q failed, Check must stay false", tc.prefix)
			assert.False(t, c.Complete(), "after %q failed, Complete must be false", tc.prefix)
		} else {
			assert.False(t, c.Complete(), "%q stops in the middle of a character: not Complete", tc.prefix)
		}
	}
}

// Complete says whether the text ends on a character boundary; Reset
// prepares the checker for the next message, forgetting a failure and any
// half-read sequence.
func TestUTF8CheckerCompleteAndReset(t *testing.T) {
	exercise.Start(t, "2.8")
	var c UTF8Checker
	require.True(t, c.Complete(), "the zero checker has seen the empty text, which is complete")
	require.True(t, c.Check([]byte("price: \xe2\x82")))
	require.False(t, c.Complete(), "in the middle of €")
	require.True(t, c.Check([]byte("\xac")))
	require.True(t, c.Complete(), "€ completed")

	require.True(t, c.Check([]byte("\xf0\x9f")))
	c.Reset()
	require.True(t, c.Complete(), "Reset forgets a half-read sequence")
	require.True(t, c.Check([]byte("a")), "after Reset, 'a' starts a new text")

	require.False(t, c.Check([]byte("\xff")))
	c.Reset()
	require.True(t, c.Check([]byte("Hello")), "Reset forgets a failure")
	require.True(t, c.Complete())
}

// The checker agrees with unicode/utf8 on any bytes cut anywhere.
func FuzzUTF8Checker(f *testing.F) {
	exercise.Start(f, "2.8")
	for i, text := range utf8Cases {
		f.Add([]byte(text), uint8(i%7))
	}
	f.Fuzz(func(t *testing.T, text []byte, step uint8) {
		var c UTF8Checker
		ok := true
		n := int(step%16) + 1
		for i := 0; i < len(text); i += n {
			if !c.Check(text[i:min(i+n, len(text))]) {
				ok = false
			}
		}
		got := ok && c.Complete()
		require.Equal(t, utf8.Valid(text), got, "%q checked %d bytes at a time", text, n)
	})
}
