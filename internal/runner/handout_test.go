package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// A handout that leaves out the lessons not yet due keeps the others, in
// the catalogue's order; a file where a lesson directory should be does
// not count as the lesson.
func TestHandedOutKeepsTheLessonsThatArePresent(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "01-a"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(root, "03-c"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "04-d"), nil, 0o644))
	book := catalog.Book{{Number: 1, Dir: "01-a"}, {Number: 2, Dir: "02-b"}, {Number: 3, Dir: "03-c"}, {Number: 4, Dir: "04-d"}}

	here, left := HandedOut(root, book)
	dirs := func(b catalog.Book) []string {
		var out []string
		for _, l := range b {
			out = append(out, l.Dir)
		}
		return out
	}
	assert.Equal(t, []string{"01-a", "03-c"}, dirs(here))
	assert.Equal(t, []string{"02-b", "04-d"}, dirs(left), "the lessons left out, for the commands to list apart")
	none, all := HandedOut(t.TempDir(), book)
	assert.Empty(t, none, "an empty checkout has no lessons")
	assert.Len(t, all, 4, "an empty checkout leaves out every lesson")
}

// The lessons a handout leaves out are listed apart, with their points, so
// that the total a learner sees is not silently smaller than the book.
func TestNotHandedOutLessonsAreListedApart(t *testing.T) {
	var out strings.Builder
	w := &Workbook{Out: &out, NotHandedOut: catalog.Book{
		{Number: 4, Dir: "04-d", Title: "Dee", Exercises: []catalog.Exercise{{ID: "4.1", Points: 10}, {ID: "4.2", Points: 5}}},
	}}
	w.printNotHandedOut()
	assert.Contains(t, out.String(), "Not handed out yet (not in this checkout, not in the total: 2 exercises, 15 pts)")
	assert.Contains(t, out.String(), "04-d  Dee  (2 exercises, 15 pts)")

	out.Reset()
	(&Workbook{Out: &out}).printNotHandedOut()
	assert.Empty(t, out.String(), "a full checkout prints nothing")
}
