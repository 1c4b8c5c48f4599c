// Package exercise holds the two halves of the workbook's exercise contract:
// the marker a stub carries, and the call a test makes to say which exercise
// it grades.
//
// # Stubs
//
// Every function a learner has to write ships as a stub with its final
// signature and doc comment. Its body is a marker that names the exercise:
//
//	func (l *Log) Append(author, text string) (Message, error) {
//		return Message{}, exercise.TODO("1.1")
//	}
//
// TODO returns an error that names the exercise and the lesson section to
// read, so a stub that is reached at run time fails with a message that says
// what to do next. Where a function must return an http.Handler, TODOHandler
// gives one that answers 501 with the same message.
//
// # Tests
//
// Every test of a lesson starts by naming its exercise:
//
//	func TestAppendAssignsIncreasingIDs(t *testing.T) {
//		exercise.Start(t, "1.1")
//		...
//	}
//
// While the marker of exercise 1.1 is still in the lesson's source, Start
// skips the test and points at the marker (file:line) and the lesson section,
// so a fresh checkout's `go test ./...` is green and a learner only sees red
// for the work they have begun. Deleting the marker is how a learner says
// "I have started": from then on the tests run for real.
//
// Strict mode turns skipping off. Set WORKBOOK_STRICT=1 and every test runs,
// stub or not; `workbook verify` uses it to prove each exercise's tests fail
// against the untouched stubs, and `workbook grade` uses it so that a grade
// depends on behaviour alone.
//
// The runner (cmd/workbook) finds markers with FindMarkers and attributes
// tests to exercises by reading the Start calls in the test files, so both
// halves of the contract are plain Go that a learner can read.
package exercise
