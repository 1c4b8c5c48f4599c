package runner

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scores maps exercise IDs to the points a grade gave them.
func scores(g *Grade) map[string]int {
	m := map[string]int{}
	for _, e := range g.Exercises {
		m[e.Exercise.ID] = e.Score
	}
	return m
}

// submission builds a submission directory: the fixture's lesson
// directories, with the given overlay (a directory under testdata) on top.
func submission(t *testing.T, f *fixture, overlay string) string {
	t.Helper()
	dir := t.TempDir()
	for _, l := range f.Book {
		require.NoError(t, copyTree(filepath.Join(dir, l.Dir), f.path(l.Dir)))
	}
	if overlay != "" {
		require.NoError(t, copyTree(dir, filepath.Join("testdata", overlay)))
	}
	return dir
}

// One untouched fixture is the grader's checkout; the learners' work comes
// in as --submission directories.
func TestGrade(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()

	// The learner of testdata/student: only 1.1 earns its points. The
	// panic in 1.4 costs only 1.4; the compile error only lesson 2.
	student := submission(t, f, "student")
	var studentGrade *Grade
	t.Run("a learner's work", func(t *testing.T) {
		gs, junit := filepath.Join(t.TempDir(), "results.json"), filepath.Join(t.TempDir(), "junit.xml")
		g, err := f.Grade(ctx, GradeOptions{Submission: student, Gradescope: gs, JUnit: junit})
		require.NoError(t, err)
		studentGrade = g
		assert.Equal(t, map[string]int{"1.1": 10, "1.2": 0, "1.3": 0, "1.4": 0, "2.1": 0}, scores(g))
		assert.Equal(t, 10, g.Score)
		assert.Equal(t, 105, g.Max)
		byID := map[string]*ExerciseGrade{}
		for _, e := range g.Exercises {
			byID[e.Exercise.ID] = e
		}
		assert.Equal(t, GradePassed, byID["1.1"].Status)
		assert.Contains(t, byID["1.2"].Reason, "TestMul failed: alpha_test.go:32: Mul(2, 3) = 5")
		assert.Equal(t, "not done yet: an exercise.TODO was reached (TestDiv)", byID["1.3"].Reason, "strict mode runs the stub, and the reason says it is not done")
		assert.Contains(t, byID["1.3"].Output, "exercise 1.3 (Dividing numbers) is not done yet", "the evidence keeps the marker's message")
		assert.Contains(t, byID["1.4"].Reason, "TestIndex panicked: runtime error: index out of range")
		assert.Contains(t, byID["2.1"].Reason, "lesson 02-beta does not compile: 02-beta/beta.go:7:9")

		out := f.output()
		assert.Regexp(t, `1\.1 +Adding numbers +10/10 +passed +all 2 tests passed`, out)
		assert.Regexp(t, `1\.4 +Indexing a slice +0/40 +failed +TestIndex panicked`, out)
		assert.Regexp(t, `lesson 01-alpha +10/100`, out)
		assert.Regexp(t, `TOTAL +10/105`, out)

		// Gradescope's results.json.
		var res struct {
			Score int `json:"score"`
			Tests []struct {
				Name     string `json:"name"`
				Score    int    `json:"score"`
				MaxScore int    `json:"max_score"`
				Status   string `json:"status"`
				Output   string `json:"output"`
			} `json:"tests"`
		}
		data, err := os.ReadFile(gs)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &res))
		assert.Equal(t, 10, res.Score)
		require.Len(t, res.Tests, 5)
		assert.Equal(t, "1.1 Adding numbers", res.Tests[0].Name)
		assert.Equal(t, 10, res.Tests[0].Score)
		assert.Equal(t, 10, res.Tests[0].MaxScore)
		assert.Equal(t, "passed", res.Tests[0].Status)
		assert.Equal(t, "failed", res.Tests[3].Status)
		assert.Contains(t, res.Tests[3].Output, "panic: runtime error")
		assert.Contains(t, res.Tests[4].Output, "02-beta/beta.go:7:9")

		// JUnit XML.
		var doc struct {
			Suites []struct {
				Name     string `xml:"name,attr"`
				Tests    int    `xml:"tests,attr"`
				Failures int    `xml:"failures,attr"`
				Skipped  int    `xml:"skipped,attr"`
				Cases    []struct {
					Classname string `xml:"classname,attr"`
					Name      string `xml:"name,attr"`
					Failure   *struct {
						Message string `xml:"message,attr"`
						Body    string `xml:",chardata"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		data, err = os.ReadFile(junit)
		require.NoError(t, err)
		require.NoError(t, xml.Unmarshal(data, &doc))
		require.Len(t, doc.Suites, 2)
		assert.Equal(t, "01-alpha", doc.Suites[0].Name)
		assert.Equal(t, 4, doc.Suites[0].Tests)
		assert.Equal(t, 3, doc.Suites[0].Failures)
		assert.Equal(t, 0, doc.Suites[0].Skipped)
		assert.Equal(t, "01-alpha", doc.Suites[0].Cases[0].Classname)
		assert.Equal(t, "1.1 Adding numbers", doc.Suites[0].Cases[0].Name)
		assert.Nil(t, doc.Suites[0].Cases[0].Failure)
		require.NotNil(t, doc.Suites[0].Cases[1].Failure)
		assert.Contains(t, doc.Suites[0].Cases[1].Failure.Message, "TestMul failed")
		assert.Contains(t, doc.Suites[0].Cases[1].Failure.Body, "Mul(2, 3) = 5")
		assert.Equal(t, 1, doc.Suites[1].Failures)
	})

	t.Run("editing or deleting the tests changes nothing", func(t *testing.T) {
		require.NotNil(t, studentGrade)
		tampered := submission(t, f, "student")
		// Make TestMul pass whatever Mul does, and delete lesson 2's tests.
		p := filepath.Join(tampered, "01-alpha", "alpha_test.go")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		loose := strings.Replace(string(data), `exercise.Start(t, "1.2")`, `exercise.Start(t, "1.2")
	return`, 1)
		require.NotEqual(t, string(data), loose)
		require.NoError(t, os.WriteFile(p, []byte(loose), 0o644))
		require.NoError(t, os.Remove(filepath.Join(tampered, "02-beta", "beta_test.go")))

		g, err := f.Grade(ctx, GradeOptions{Submission: tampered})
		require.NoError(t, err)
		assert.Equal(t, scores(studentGrade), scores(g))
		f.output()
	})

	t.Run("untouched stubs score nothing", func(t *testing.T) {
		g, err := f.Grade(ctx, GradeOptions{})
		require.NoError(t, err, "a zero is a grade, not an error")
		assert.Equal(t, 0, g.Score)
		for _, e := range g.Exercises {
			assert.Equal(t, GradeFailed, e.Status, e.Exercise.ID)
		}
		f.output()
	})

	t.Run("the solutions score full points", func(t *testing.T) {
		solved := t.TempDir()
		for _, l := range f.Book {
			require.NoError(t, copyTree(filepath.Join(solved, l.Dir), f.path(l.SolutionDir())))
		}
		g, err := f.Grade(ctx, GradeOptions{Submission: solved, Lesson: "1"})
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"1.1": 10, "1.2": 20, "1.3": 30, "1.4": 40}, scores(g), "--lesson 1 grades lesson 1 only")
		assert.Equal(t, 100, g.Max)
		f.output()
	})

	t.Run("a missing lesson scores nothing", func(t *testing.T) {
		empty := t.TempDir()
		g, err := f.Grade(ctx, GradeOptions{Submission: empty, Lesson: "02-beta"})
		require.NoError(t, err)
		require.Len(t, g.Exercises, 1)
		assert.Equal(t, 0, g.Score)
		assert.Contains(t, g.Exercises[0].Reason, "the submission has no directory 02-beta")
		f.output()
	})
}

// Without canonical tests there is nothing to grade against: that is the
// grader's failure, not the learner's.
func TestGradeWithoutCanonIsAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.Canon = os.DirFS(t.TempDir())
	_, err := f.Grade(context.Background(), GradeOptions{})
	assert.ErrorContains(t, err, "there are no canonical tests for 01-alpha")
}
