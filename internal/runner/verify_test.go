package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyPassesOnAConsistentBook(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ok, err := f.Verify(context.Background())
	require.NoError(t, err)
	out := f.output()
	assert.True(t, ok, out)
	assert.NotContains(t, out, "✗")
	for _, want := range []string{
		"✓ internal/catalog is consistent: 2 lessons, 5 exercises",
		"✓ test files: 01-alpha, solutions/01-alpha and canon/01-alpha are identical (1 file)",
		"✓ markers: every exercise has one in 01-alpha",
		"✓ solutions/01-alpha has no markers",
		"✓ 01-alpha and its solution export the same API: 4 declarations",
		"✓ tests: 5 tests, each starting an exercise of the lesson",
		"✓ text: lessons/01-alpha.md has a section for every exercise, and no other exercise heading; lessons/hints/01-alpha.md has hints for every one",
		"✓ 1.1 Adding numbers: all 2 of its tests fail against the stub",
		"✓ 1.4 Indexing a slice: its test fails against the stub",
		"✓ 1.3 Div checks the dividend for zero, not the divisor (wrong-operand): caught in a plain run by TestDiv",
		"✓ go test -race -count=1 ./solutions/... (strict): all 7 tests pass",
		"verify: every check passed.",
	} {
		assert.Contains(t, out, want)
	}
}

// Every kind of gap, made in one copy of the fixture so the expensive runs
// happen once.
func TestVerifyReportsEveryKindOfGap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A stub that passes its tests while its marker stays: the tests cannot
	// tell it from a solution.
	f.edit(t, "01-alpha/alpha.go", func(s string) string {
		return strings.Replace(s, `return 0, exercise.TODO("1.1")`, `_ = exercise.TODO("1.1")
	return a + b, nil`, 1) + `
// Extra is marked for an exercise the catalogue does not have.
func Extra() error { return exercise.TODO("1.9") }
`
	})
	// The lesson's test file drifts from the solution's, and gains a test
	// that belongs to no exercise.
	f.edit(t, "02-beta/beta_test.go", func(s string) string {
		return s + `
func TestExtra(t *testing.T) { t.Log("graded by nothing") }
`
	})
	// A heading disappears from the text.
	f.edit(t, "lessons/01-alpha.md", func(s string) string {
		return strings.Replace(s, "## Exercise 1.3: Dividing numbers\n", "", 1)
	})
	// A heading the catalogue does not know, and a solution with a marker.
	f.edit(t, "lessons/02-beta.md", func(s string) string {
		return s + "\n## Exercise 2.2: Farewells\n\n<details><summary>Hint 1</summary>\n\nA hint left open on the page.\n\n</details>\n"
	})
	f.edit(t, "solutions/02-beta/beta.go", func(s string) string {
		return s + "\nfunc unused() error { return exercise.TODO(\"2.1\") }\n"
	})
	// The solution exports what the lesson does not (and the lesson Extra,
	// above).
	f.edit(t, "solutions/01-alpha/alpha.go", func(s string) string {
		return s + "\n// Helper is the solution's alone.\nfunc Helper() {}\n"
	})

	// A kept mistake the tests let through, and one that no longer applies
	// to the solution.
	f.write(t, "solutions/01-alpha/mistakes/add-typo.txt", "exercise: 1.1\nmistake: Add ignores a when b is 100\nfile: alpha.go\n"+
		"<<<<<<< solution\nfunc Add(a, b int) (int, error) { return a + b, nil }\n=======\n"+
		"func Add(a, b int) (int, error) {\n\tif b == 100 {\n\t\treturn b, nil\n\t}\n\treturn a + b, nil\n}\n>>>>>>> mistake\n")
	f.write(t, "solutions/01-alpha/mistakes/stale.txt", "exercise: 1.2\nmistake: Mul adds\nfile: alpha.go\n"+
		"<<<<<<< solution\nreturn a * b, nil // not in the solution\n=======\nreturn a + b, nil\n>>>>>>> mistake\n")

	ok, err := f.Verify(context.Background())
	require.NoError(t, err)
	assert.False(t, ok)
	out := f.output()
	for _, want := range []string{
		// (e) kept mistakes
		"✗ 1.1 Add ignores a when b is 100 (add-typo): not caught",
		"every test of 1.1 passes with it in a plain run: the tests grade this mistake as right",
		"✗ 1.2 Mul adds (stale): the mistake no longer applies to the solution",
		// (c) a test that passes against the stub
		"✗ 1.1 Adding numbers: not every test fails against the stub",
		"TestAdd (01-alpha/alpha_test.go:9) passed against the stub: it cannot tell the stub from a solution",
		// (a) test files differ, with the fix
		"✗ the test files of solutions/02-beta and 02-beta differ",
		"02-beta/beta_test.go differs from solutions/02-beta/beta_test.go",
		"fix: mkdir -p 02-beta && cp solutions/02-beta/*_test.go 02-beta/",
		// (d) text
		`no heading "## Exercise 1.3: Dividing numbers"`,
		`the heading "## Exercise 2.2: Farewells" names no exercise of lesson 02-beta in the catalogue`,
		"the text holds 1 hint block: hints go in lessons/hints/02-beta.md, where only the runner shows them, one at a time",
		// (d) markers
		`the marker at 01-alpha/alpha.go:28 names "1.9", which is not an exercise of lesson 01-alpha`,
		"✗ solutions/02-beta still has markers",
		// (d) the APIs
		"✗ 01-alpha and solutions/01-alpha export different APIs",
		"only the solution exports func Helper()",
		"only the lesson exports func Extra() error",
		// (d) tests
		"TestExtra (02-beta/beta_test.go:16) does not begin with exercise.Start",
	} {
		assert.Contains(t, out, want)
	}
	// The solution with a marker does not compile (exercise is not
	// imported there): (b) reports it.
	assert.Contains(t, out, "✗ go test -race -count=1 ./solutions/... (strict): not every test passes")
	assert.Contains(t, out, "solutions/02-beta does not compile:")
	assert.Regexp(t, `verify: \d+ gaps found\.`, out)
}

func TestParseMistakeRefusesWhatItCannotApply(t *testing.T) {
	for text, want := range map[string]string{
		"mistake: no exercise\nfile: a.go\n<<<<<<< solution\nx\n=======\ny\n>>>>>>> mistake\n": `"exercise:" and "mistake:" lines are required`,
		"exercise: 1.1\nmistake: m\n":                                              "no edit",
		"exercise: 1.1\nmistake: m\n<<<<<<< solution\n":                            `an edit before any "file:" line`,
		"exercise: 1.1\nmistake: m\nfile: a.go\n<<<<<<< solution\nx\n=======\ny\n": "not closed",
		"exercise: 1.1\ncolour: red\n":                                             `unknown key "colour"`,
	} {
		_, err := parseMistake("m", text)
		if assert.Error(t, err, text) {
			assert.Contains(t, err.Error(), want)
		}
	}
	m, err := parseMistake("m", "# a comment\nexercise: 2.1\nmistake: m\nrace: yes\nfile: a.go\n<<<<<<< solution\n\tx\n=======\n>>>>>>> mistake\n")
	require.NoError(t, err)
	assert.Equal(t, Mistake{Name: "m", Exercise: "2.1", What: "m", Race: true, Edits: []Edit{{File: "a.go", From: "\tx\n", To: ""}}}, m)
}

func TestCopyCommand(t *testing.T) {
	assert.Equal(t, "mkdir -p 01-x && cp solutions/01-x/*_test.go 01-x/",
		copyCommand("solutions/01-x", "01-x", []string{"a_test.go", "b_test.go"}))
	assert.Equal(t, "mkdir -p 01-x && mkdir -p 01-x/sub && cp solutions/01-x/sub/a_test.go 01-x/sub/a_test.go && "+
		"cp solutions/01-x/*_test.go 01-x/ && cp -r solutions/01-x/testdata 01-x/",
		copyCommand("solutions/01-x", "01-x", []string{"sub/a_test.go", "testdata/f", "x_test.go"}))
}
