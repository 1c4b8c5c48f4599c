package login

import (
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Limiter slows down password guessing: it allows at most max failed
// login attempts per name, and max per client address, within a window;
// after that the login route answers 429 Too Many Requests, with a
// Retry-After header, until the window has passed.
//
// # Why two keys
//
// Counting by name protects one account from a guesser with many
// addresses (a botnet): after max wrong passwords for "ana", nobody can try
// "ana" for a while. Counting by address stops one machine from trying one
// or two common passwords against every name in turn ("password spraying"),
// which the per-name count never notices. Neither alone is enough.
//
// A success resets the name's count but not the address's: otherwise an
// attacker could log into an account of their own between guesses and
// never be stopped. Note the price of the per-name count: anyone can lock
// a user out for a window by failing on purpose. Keep the window short
// (minutes) and max generous enough for typos.
//
// # Windows
//
// A key's window starts with its first failure and lasts window; when it
// has passed, its failures are forgotten. So max failures lock a key for
// what remains of the window begun by the first of them. Keys with nothing
// to remember are dropped, so the Limiter holds only the keys of one
// window.
//
// # Attempts in flight
//
// A check takes tens of milliseconds of bcrypt, and an attacker can send a
// thousand requests at once. So Allow counts the attempt it allows as in
// flight until Failure or Success settles it, and refuses when the
// failures and the attempts in flight together reach max: at most max
// guesses per key get through, however many arrive together. Every Allow
// that returns true must be followed by exactly one Failure or Success
// with the same name and address.
//
// A Limiter is safe for concurrent use.
type Limiter struct {
	// Now is the clock; nil means time.Now. Set it before the first call.
	Now func() time.Time

	// Exercise 5.3 adds the rest: max, the window, and the counts of
	// failures and attempts in flight per name and per address.
}

// NewLimiter returns a Limiter that allows max failed attempts per name and
// per address within window. max below 1 counts as 1, and a window of zero
// or less as one minute.
func NewLimiter(max int, window time.Duration) *Limiter {
	_ = exercise.TODO("5.3")
	return &Limiter{}
}

// Allow reports whether an attempt to log in as name from address ip may
// go ahead. When it may not, retryAfter is how long until it may: the end
// of the later window, or a second when only attempts in flight stand in
// the way. An allowed attempt is in flight until Failure or Success.
func (l *Limiter) Allow(name, ip string) (ok bool, retryAfter time.Duration) {
	_ = exercise.TODO("5.3")
	return false, 0
}

// Failure records a failed attempt of name from ip.
func (l *Limiter) Failure(name, ip string) {
	_ = exercise.TODO("5.3")
}

// Success records a successful login of name from ip: the name's failures
// are forgotten, the address's are not.
func (l *Limiter) Success(name, ip string) {
	_ = exercise.TODO("5.3")
}
