package exercise

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// StrictEnv is the environment variable that turns strict mode on. With
// WORKBOOK_STRICT=1 no test is skipped for a marker that is still in place.
const StrictEnv = "WORKBOOK_STRICT"

// Strict reports whether strict mode is on.
func Strict() bool {
	switch os.Getenv(StrictEnv) {
	case "1", "true", "TRUE", "yes":
		return true
	}
	return false
}

// ErrNotDone is what every marker's error wraps: errors.Is(err, ErrNotDone)
// is true for an error that came from a stub.
var ErrNotDone = errors.New("exercise not done yet")

// NotDoneError is the error a stub returns. It names the exercise and where
// in the lesson text to read about it.
type NotDoneError struct {
	ID string
}

func (e *NotDoneError) Error() string {
	l, ex, ok := catalog.Workbook.Find(e.ID)
	if !ok {
		return fmt.Sprintf("exercise %s is not done yet (and is not in the catalogue)", e.ID)
	}
	return fmt.Sprintf("exercise %s (%s"+NotDoneMark+"%s, then replace this exercise.TODO call with your code",
		e.ID, ex.Title, l.Section(ex))
}

// NotDoneMark is the part of a NotDoneError's message that tells it from
// any other failure; the runner looks for it in a test's output to say
// "not done yet" rather than "wrong".
const NotDoneMark = ") is not done yet: read "

// Unwrap makes errors.Is(err, ErrNotDone) true.
func (e *NotDoneError) Unwrap() error { return ErrNotDone }

// TODO marks the body of a stub. It returns an error naming the exercise, so
// the stub fails cleanly when it is reached; remove the call when you start.
func TODO(id string) error { return &NotDoneError{ID: id} }

// TODOHandler marks a stub that must return an http.Handler. The handler
// answers every request with 501 Not Implemented and a JSON body
// {"error": "..."} that names the exercise.
func TODOHandler(id string) http.Handler {
	msg := TODO(id).Error()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotImplemented)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	})
}

// Start names the exercise a test grades; call it first in every test.
//
// Outside strict mode, a test whose exercise still has a marker in the
// package under test (the directory `go test` runs in, subdirectories
// included) is skipped with a pointer to the marker and the lesson section.
// An ID that is not in the catalogue fails the test: it is a typo in the test.
func Start(t testing.TB, id string) {
	t.Helper()
	l, ex, ok := catalog.Workbook.Find(id)
	if !ok {
		t.Fatalf("exercise.Start: %q is not an exercise in internal/catalog", id)
	}
	if Strict() {
		return
	}
	markers, err := packageMarkers()
	if err != nil {
		t.Fatalf("exercise.Start: looking for markers: %v", err)
	}
	for _, m := range markers {
		if m.ID == id {
			t.Skipf("exercise %s (%s) is not started: its marker is still at %s:%d.\n"+
				"Read %s, then delete the exercise.TODO call to begin.",
				id, ex.Title, displayPath(m.File), m.Line, l.Section(ex))
		}
	}
}

var (
	markersOnce sync.Once
	markersErr  error
	markersHere []Marker
)

// packageMarkers scans the working directory, which `go test` sets to the
// package under test, once per test binary.
func packageMarkers() ([]Marker, error) {
	markersOnce.Do(func() {
		markersHere, markersErr = FindMarkers(".")
	})
	return markersHere, markersErr
}

// displayPath turns a path relative to the package directory into one
// relative to the module root, which is where a learner runs commands from.
func displayPath(rel string) string {
	wd, err := os.Getwd()
	if err != nil {
		return rel
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if p, err := filepath.Rel(dir, filepath.Join(wd, rel)); err == nil {
				return filepath.ToSlash(p)
			}
			return rel
		}
		if filepath.Dir(dir) == dir {
			return rel
		}
	}
}
