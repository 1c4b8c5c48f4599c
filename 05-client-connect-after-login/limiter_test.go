package login

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 5.3, the Limiter: at most max failed logins per name and per
// address within a window, then "try again later" until the window has
// passed. The tests drive it with a clock of their own (tokClock).

// limNew returns a Limiter of max failures per minute on clock.
func limNew(max int, clock *tokClock) *Limiter {
	l := NewLimiter(max, time.Minute)
	l.Now = clock.Now
	return l
}

// limFail makes one failed attempt, which the Limiter must allow.
func limFail(t *testing.T, l *Limiter, name, ip string) {
	t.Helper()
	ok, _ := l.Allow(name, ip)
	require.True(t, ok, "Allow(%q, %q): this attempt is within the limit", name, ip)
	l.Failure(name, ip)
}

func TestLimiterStopsGuessesAtOneName(t *testing.T) {
	exercise.Start(t, "5.3")
	clock := tokNewClock()
	l := limNew(3, clock)

	// A guesser with many addresses, trying one name.
	for i := range 3 {
		limFail(t, l, "ana", fmt.Sprintf("203.0.113.%d", i+1))
		clock.Advance(10 * time.Second)
	}
	ok, wait := l.Allow("ana", "203.0.113.99")
	require.False(t, ok, "a 4th attempt at ana, from a new address, after 3 failures within the window")
	// The first failure came 30 s ago: the window ends in 30 s.
	assert.InDelta(t, 30*time.Second, wait, float64(time.Second),
		"retryAfter is the time until the window that began with the first failure ends")

	ok, _ = l.Allow("bob", "203.0.113.99")
	assert.True(t, ok, "another name from the same address is not limited")
	l.Success("bob", "203.0.113.99")

	clock.Advance(29 * time.Second)
	ok, _ = l.Allow("ana", "203.0.113.50")
	assert.False(t, ok, "ana is still limited a second before the window ends")
	clock.Advance(2 * time.Second)
	ok, _ = l.Allow("ana", "203.0.113.50")
	assert.True(t, ok, "ana may try again once the window has passed")
}

func TestLimiterStopsGuessesFromOneAddress(t *testing.T) {
	exercise.Start(t, "5.3")
	clock := tokNewClock()
	l := limNew(3, clock)

	// One address trying one password against many names.
	for _, name := range []string{"ana", "bob", "cy"} {
		limFail(t, l, name, "198.51.100.7")
	}
	ok, wait := l.Allow("dee", "198.51.100.7")
	require.False(t, ok, "a 4th failure from one address, each at another name")
	assert.InDelta(t, time.Minute, wait, float64(time.Second), "retryAfter: the window is a minute")

	ok, _ = l.Allow("dee", "198.51.100.8")
	assert.True(t, ok, "the same name from another address is not limited")
	l.Success("dee", "198.51.100.8")

	clock.Advance(time.Minute + time.Second)
	ok, _ = l.Allow("dee", "198.51.100.7")
	assert.True(t, ok, "the address may try again once the window has passed")
}

func TestLimiterSuccessForgetsTheNameButNotTheAddress(t *testing.T) {
	exercise.Start(t, "5.3")
	clock := tokNewClock()
	l := limNew(3, clock)

	// Ana mistypes twice, then gets it right.
	limFail(t, l, "ana", "192.0.2.1")
	limFail(t, l, "ana", "192.0.2.1")
	ok, _ := l.Allow("ana", "192.0.2.1")
	require.True(t, ok)
	l.Success("ana", "192.0.2.1")

	// Her name starts afresh: two more mistakes, from elsewhere, are fine.
	limFail(t, l, "ana", "192.0.2.2")
	limFail(t, l, "ana", "192.0.2.2")
	ok, _ = l.Allow("ana", "192.0.2.3")
	assert.True(t, ok, "a success resets the name's count: two failures since")
	l.Success("ana", "192.0.2.3")

	// Her address does not: a success would otherwise let an attacker
	// with one account of their own reset the count between guesses.
	limFail(t, l, "eve", "192.0.2.1")
	ok, _ = l.Allow("mallory", "192.0.2.1")
	assert.False(t, ok, "the address's count survives a success: 3 failures from 192.0.2.1")
}

func TestLimiterCountsAttemptsInFlight(t *testing.T) {
	exercise.Start(t, "5.3")
	clock := tokNewClock()
	l := limNew(5, clock)

	// Fifty guesses at once, before any has been checked: only max may
	// go ahead, or a parallel attacker gets around the limit.
	const guesses = 50
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range guesses {
		wg.Go(func() {
			<-start
			if ok, _ := l.Allow("ana", fmt.Sprintf("203.0.113.%d", i)); ok {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.EqualValues(t, 5, allowed.Load(), "of %d attempts at once, Allow lets max through", guesses)
}
