package server

import (
	"context"

	"github.com/websocket-workbook/workbook/internal/exercise"
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
	// Exercise 4.8: a mutex, the count, whether Drain has begun, and a
	// way for End to wake Drain after the last piece of work.
}

// Begin counts one more piece of work, and reports true; once Drain has
// been called it counts nothing and reports false. Every true Begin must
// be followed by one End.
//
// Until exercise 4.8 it counts nothing and always lets the work in, so
// that exercise 4.7's handler can call it from the start.
func (f *InFlight) Begin() bool {
	_ = exercise.TODO("4.8")
	return true
}

// End uncounts one piece of work, waking Drain after the last one.
func (f *InFlight) End() {
	_ = exercise.TODO("4.8")
}

// Drain makes every later Begin report false, and waits until the work in
// flight has ended, or until ctx is done (then it returns ctx.Err(), and
// the work goes on). It may be called more than once, from any goroutine.
func (f *InFlight) Drain(ctx context.Context) error {
	return exercise.TODO("4.8")
}
