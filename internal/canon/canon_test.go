package canon

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// TestCanonMatchesTheLessons proves that the grader's copies are the tests a
// learner sees: for every lesson, the test files here, in the lesson
// directory and in its solution are the same, byte for byte.
func TestCanonMatchesTheLessons(t *testing.T) {
	for _, l := range catalog.Workbook {
		t.Run(l.Dir, func(t *testing.T) {
			canon := testFiles(t, FS, l.Dir)
			require.NotEmpty(t, canon, "internal/canon/testdata/%s has no test files.\nfix: %s", l.Dir, fix(l))
			for _, dir := range []string{l.Dir, l.SolutionDir()} {
				// A handout leaves out solutions/ and the lessons not yet
				// due (docs/instructors.md): the copies that are here must
				// agree, and `workbook verify`, which needs every solution,
				// checks the full book.
				if !isDir("../../" + dir) {
					t.Logf("%s is not in this checkout (a handout leaves it out): not compared", dir)
					continue
				}
				other := testFiles(t, os.DirFS("../.."), dir)
				// A solution may hold more than the lesson (a demo command
				// with its own tests): only the learner's packages count.
				for name := range other {
					if d := path.Dir(name); d != "." && !isDir("../../"+l.Dir+"/"+d) {
						delete(other, name)
					}
				}
				for _, name := range union(canon, other) {
					a, inCanon := canon[name]
					b, inOther := other[name]
					switch {
					case !inCanon:
						t.Errorf("%s/%s has no canonical copy in internal/canon/testdata/%s\nfix: %s", dir, name, l.Dir, fix(l))
					case !inOther:
						t.Errorf("internal/canon/testdata/%s/%s is not in %s\nfix: %s", l.Dir, name, dir, fix(l))
					default:
						assert.True(t, bytes.Equal(a, b), "internal/canon/testdata/%s/%s differs from %s/%s\nfix: %s",
							l.Dir, name, dir, name, fix(l))
					}
				}
			}
		})
	}
}

// fix is the command that brings the canon and the lesson directory in line
// with the solution, whose tests are the reference.
func fix(l catalog.Lesson) string {
	return "cp solutions/" + l.Dir + "/*_test.go internal/canon/testdata/" + l.Dir + "/ && " +
		"cp solutions/" + l.Dir + "/*_test.go " + l.Dir + "/   (from the module root; copy any testdata/ too)"
}

// testFiles reads the *_test.go files under dir, and the files of any
// testdata directory, keyed by their path relative to dir.
func testFiles(t *testing.T, fsys fs.FS, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != dir && name != "testdata" && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		rel := strings.TrimPrefix(p, dir+"/")
		if strings.HasSuffix(p, "_test.go") || slices.Contains(strings.Split(path.Dir(rel), "/"), "testdata") {
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			files[rel] = data
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		require.NoError(t, err)
	}
	return files
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

func union(a, b map[string][]byte) []string {
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
