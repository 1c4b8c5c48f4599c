package exercise

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindMarkersReadsCallsNotComments(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("log.go", `package p

// Append is a stub: exercise.TODO("9.9") in a comment does not count.
func Append() error {
	return exercise.TODO("1.1")
}

func Handler() http.Handler { return exercise.TODOHandler( "1.3" ) }

/* exercise.TODO("9.8") */
var s = "exercise.TODO(\"9.7\")"
`)
	write("log_test.go", `package p
func x() { exercise.TODO("9.6") }`)
	write("testdata/fixture.go", `package p
func x() { exercise.TODO("9.5") }`)
	write("cmd/tool/main.go", `package main
func main() { _ = exercise.TODO("1.4") }`)

	got, err := FindMarkers(dir)
	require.NoError(t, err)
	assert.ElementsMatch(t, []Marker{
		{ID: "1.1", File: "log.go", Line: 5},
		{ID: "1.3", File: "log.go", Line: 8},
		{ID: "1.4", File: "cmd/tool/main.go", Line: 2},
	}, got)
}

func TestNotDoneErrorNamesTheExerciseAndTheSection(t *testing.T) {
	err := TODO("1.1")
	assert.ErrorIs(t, err, ErrNotDone)
	assert.Contains(t, err.Error(), "exercise 1.1 (An append-only message log) is not done yet")
	assert.Contains(t, err.Error(), "lessons/01-polling.md#exercise-11-an-append-only-message-log")
}

func TestStrictReadsTheEnvironment(t *testing.T) {
	t.Setenv(StrictEnv, "1")
	assert.True(t, Strict())
	t.Setenv(StrictEnv, "")
	assert.False(t, Strict())
}
