package login

import (
	"sync"
	"time"
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

	max    int
	window time.Duration

	mu        sync.Mutex
	names     map[string]*limitCount
	addrs     map[string]*limitCount
	lastSweep time.Time
}

// limitCount is one key's state.
type limitCount struct {
	start    time.Time // the first failure of the current window
	failures int
	inFlight int
}

// NewLimiter returns a Limiter that allows max failed attempts per name and
// per address within window. max below 1 counts as 1, and a window of zero
// or less as one minute.
func NewLimiter(max int, window time.Duration) *Limiter {
	if window <= 0 {
		window = time.Minute
	}
	return &Limiter{
		max:    limitAtLeast(max, 1),
		window: window,
		names:  make(map[string]*limitCount),
		addrs:  make(map[string]*limitCount),
	}
}

func limitAtLeast(n, min int) int {
	if n < min {
		return min
	}
	return n
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow reports whether an attempt to log in as name from address ip may
// go ahead. When it may not, retryAfter is how long until it may: the end
// of the later window, or a second when only attempts in flight stand in
// the way. An allowed attempt is in flight until Failure or Success.
func (l *Limiter) Allow(name, ip string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	n, a := l.get(l.names, name, now), l.get(l.addrs, ip, now)
	for _, c := range []*limitCount{n, a} {
		switch {
		case c.failures >= l.max:
			retryAfter = max(retryAfter, c.start.Add(l.window).Sub(now))
		case c.failures+c.inFlight >= l.max:
			retryAfter = max(retryAfter, time.Second)
		}
	}
	if retryAfter > 0 {
		return false, retryAfter
	}
	n.inFlight++
	a.inFlight++
	return true, 0
}

// Failure records a failed attempt of name from ip.
func (l *Limiter) Failure(name, ip string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range []*limitCount{l.get(l.names, name, now), l.get(l.addrs, ip, now)} {
		c.inFlight = max(c.inFlight-1, 0)
		if c.failures == 0 {
			c.start = now
		}
		c.failures++
	}
}

// Success records a successful login of name from ip: the name's failures
// are forgotten, the address's are not.
func (l *Limiter) Success(name, ip string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n, a := l.get(l.names, name, now), l.get(l.addrs, ip, now)
	n.failures = 0
	n.inFlight = max(n.inFlight-1, 0)
	a.inFlight = max(a.inFlight-1, 0)
}

// get returns key's state in m, forgetting its failures when their window
// has passed. l.mu is held.
func (l *Limiter) get(m map[string]*limitCount, key string, now time.Time) *limitCount {
	c := m[key]
	if c == nil {
		c = &limitCount{}
		m[key] = c
	}
	if c.failures > 0 && !now.Before(c.start.Add(l.window)) {
		c.failures = 0
	}
	return c
}

// sweep drops the keys with no failures in a current window and nothing
// in flight, at most once per window, so that memory follows the keys of
// one window. l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = now
	for _, m := range []map[string]*limitCount{l.names, l.addrs} {
		for k, c := range m {
			if c.inFlight == 0 && (c.failures == 0 || !now.Before(c.start.Add(l.window))) {
				delete(m, k)
			}
		}
	}
}
