package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// fixtureBook is the book declared by testdata/fixture/internal/catalog/
// workbook.go, which the fixture's tests see as catalog.Workbook. The two
// must agree: verify's test below fails when they do not.
var fixtureBook = catalog.Book{
	{
		Number: 1,
		Dir:    "01-alpha",
		Title:  "Alpha",
		Exercises: []catalog.Exercise{
			{ID: "1.1", Title: "Adding numbers", Points: 10},
			{ID: "1.2", Title: "Multiplying numbers", Points: 20},
			{ID: "1.3", Title: "Dividing numbers", Points: 30},
			{ID: "1.4", Title: "Indexing a slice", Points: 40},
		},
	},
	{
		Number: 2,
		Dir:    "02-beta",
		Title:  "Beta",
		Exercises: []catalog.Exercise{
			{ID: "2.1", Title: "A greeting", Points: 5},
		},
	},
}

// A fixture is a copy of testdata/fixture, a small workbook module, made
// whole with the real internal/exercise and internal/catalog sources, and a
// Workbook pointed at it that prints into a buffer.
type fixture struct {
	*Workbook
	out *bytes.Buffer
}

// newFixture copies the fixture module into a temporary directory, then
// copies each overlay (a directory under testdata, such as "student") over
// it. Its canon is a copy of testdata/canon, so a test may change it.
func newFixture(t *testing.T, overlays ...string) *fixture {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "workbook")
	require.NoError(t, copyTree(root, filepath.Join("testdata", "fixture")))
	for _, o := range overlays {
		require.NoError(t, copyTree(root, filepath.Join("testdata", o)))
	}
	copyGoFiles(t, filepath.Join(root, "internal", "exercise"), filepath.Join("..", "exercise"))
	require.NoError(t, copyFile(filepath.Join(root, "internal", "catalog", "catalog.go"), filepath.Join("..", "catalog", "catalog.go")))
	canonDir := filepath.Join(tmp, "canon")
	require.NoError(t, copyTree(canonDir, filepath.Join("testdata", "canon")))

	out := &bytes.Buffer{}
	return &fixture{
		Workbook: &Workbook{
			Root:     root,
			Book:     fixtureBook,
			Canon:    os.DirFS(canonDir),
			CanonDir: "canon",
			Out:      out,
		},
		out: out,
	}
}

// copyGoFiles copies the non-test Go files of a package directory.
func copyGoFiles(t *testing.T, dst, src string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") && !isTestFile(e.Name()) {
			require.NoError(t, copyFile(filepath.Join(dst, e.Name()), filepath.Join(src, e.Name())))
		}
	}
}

// output returns what was printed since the last call, and forgets it.
func (f *fixture) output() string {
	s := f.out.String()
	f.out.Reset()
	return s
}

// write creates (or replaces) a file of the fixture, relative to its root.
func (f *fixture) write(t *testing.T, rel, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(f.path(rel)), 0o755))
	require.NoError(t, os.WriteFile(f.path(rel), []byte(text), 0o644))
}

// edit rewrites a file of the fixture, relative to its root.
func (f *fixture) edit(t *testing.T, rel string, change func(string) string) {
	t.Helper()
	p := f.path(rel)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(change(string(data))), 0o644))
}
