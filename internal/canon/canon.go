// Package canon carries the grader's own copy of every lesson's test files.
//
// `workbook grade` runs these files, not the ones in the checkout it grades.
// A learner's lesson directory holds the same tests, and a learner may edit
// them freely: loosen an assertion, skip a test, delete a file. None of that
// changes a grade, because the grader removes every *_test.go file from the
// submission and writes the canonical ones in their place before it runs
// anything. The copies are embedded in the runner's binary, so the grade
// depends only on the runner the instructor built and on the learner's
// non-test code.
//
// The files are laid out as testdata/<lesson dir>/<name>_test.go, plus any
// testdata/ directory the lesson's tests read. They must be byte-identical to
// the tests in the lesson directory and in solutions/; this package's test
// and `go run ./cmd/workbook verify` both check that, and print the cp
// command that fixes a copy that fell behind.
package canon

import (
	"embed"
	"io/fs"
)

//go:embed all:testdata
var files embed.FS

// FS holds the canonical test files, rooted so that a lesson's tests are at
// "<lesson dir>/<name>_test.go", e.g. "01-polling/log_test.go".
var FS fs.FS = mustSub(files, "testdata")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // only for an invalid dir, which is a constant
	}
	return sub
}
