package runner

import (
	"os"
	"path/filepath"
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

	got := HandedOut(root, book)
	var dirs []string
	for _, l := range got {
		dirs = append(dirs, l.Dir)
	}
	assert.Equal(t, []string{"01-a", "03-c"}, dirs)
	assert.Empty(t, HandedOut(t.TempDir(), book), "an empty checkout has no lessons")
}
