// Package runner is the engine of `go run ./cmd/workbook`: it tells a learner
// where they are in the book, runs an exercise's tests and explains the first
// failure, hands out hints one at a time, grades a checkout against the
// canonical tests, and lets a maintainer verify that the book is consistent.
//
// # How tests map to exercises
//
// The runner never guesses. Every top-level test of a lesson begins with
//
//	exercise.Start(t, "1.3")
//
// and the runner reads that call with go/parser (see ParseTests): the string
// is the exercise the test grades, and subtests belong to their parent. A
// test that does not start that way belongs to no exercise, and `verify`
// reports it.
//
// # How tests run
//
// Every command shells out to the real `go test -json` and reads its event
// stream (see test2json): a test passes, fails or skips; a package that does
// not compile sends its compiler output as "build-output" events and then a
// "fail" event whose FailedBuild names it. A panic ends the test binary, so
// the tests after the panicking one never report; the runner notices those
// silent tests and runs each affected exercise again on its own, which is why
// a panic costs only the exercise it happened in.
//
// # Where things are
//
// A Workbook is the root of the module (every path printed is relative to it),
// the catalogue of lessons (catalog.Book), and the canonical copies of the
// test files the grader uses. The command fills it with the book as it ships;
// the package's own tests fill it with a small fixture book under testdata/.
package runner
