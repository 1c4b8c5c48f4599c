package server

import (
	"context"
	"sync"
)

// InFlight counts the work under way (the chat's saves) so that a graceful
// shutdown can wait for it: Drain closes the door and waits for the work
// already inside. The zero value is open and has nothing in flight.
//
//	if !saves.Begin() {
//		return errShuttingDown // Drain has begun: refuse
//	}
//	defer saves.End()
//	... save ...
//
// Lesson 05's chat counts its saves with it too.
type InFlight struct {
	mu       sync.Mutex
	n        int
	draining bool
	idle     chan struct{} // made by Drain; closed when n reaches 0
}

// Begin counts one more piece of work, and reports true; once Drain has
// been called it counts nothing and reports false. Every true Begin must
// be followed by one End.
func (f *InFlight) Begin() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining {
		return false
	}
	f.n++
	return true
}

// End uncounts one piece of work, waking Drain after the last one.
func (f *InFlight) End() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// Drain makes every later Begin report false, and waits until the work in
// flight has ended, or until ctx is done (then it returns ctx.Err(), and
// the work goes on). It may be called more than once, from any goroutine.
func (f *InFlight) Drain(ctx context.Context) error {
	f.mu.Lock()
	f.draining = true
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
