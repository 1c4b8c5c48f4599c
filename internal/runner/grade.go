package runner

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/websocket-workbook/workbook/internal/catalog"
	"github.com/websocket-workbook/workbook/internal/exercise"
)

// GradeOptions configure Grade.
type GradeOptions struct {
	Lesson     string        // grade one lesson ("1", "01", "01-polling"); "" grades all
	Submission string        // the checkout to grade; "" means the root
	Timeout    time.Duration // go test -timeout for each exercise; zero means 5m
	Gradescope string        // write Gradescope's results.json here, if set
	JUnit      string        // write JUnit XML here, if set
}

// A GradeStatus is the outcome of grading one exercise.
type GradeStatus string

const (
	GradePassed  GradeStatus = "passed"  // every canonical test passed
	GradeFailed  GradeStatus = "failed"  // a test failed, or the lesson did not compile
	GradeSkipped GradeStatus = "skipped" // no test failed, but not every test ran and passed
)

// An ExerciseGrade is the grade of one exercise.
type ExerciseGrade struct {
	Lesson   catalog.Lesson
	Exercise catalog.Exercise
	Score    int
	Status   GradeStatus
	Reason   string // one line
	Output   string // the evidence: the failure, the compiler output
	Elapsed  time.Duration
}

// A Grade is the result of grading a checkout.
type Grade struct {
	Exercises  []*ExerciseGrade
	Score, Max int
	Race       bool // the tests ran under the race detector
}

// Lesson returns the grades of one lesson's exercises.
func (g *Grade) Lesson(dir string) []*ExerciseGrade {
	var out []*ExerciseGrade
	for _, e := range g.Exercises {
		if e.Lesson.Dir == dir {
			out = append(out, e)
		}
	}
	return out
}

// Grade grades a checkout against the canonical tests, not against the
// test files in the checkout, so a learner who edits or deletes a test
// changes nothing. It copies the root to a temporary workspace, puts each
// graded lesson of the submission there without its *_test.go files, adds
// the canonical test files from Canon, and runs each exercise's tests on
// their own, in strict mode: a panic costs only the exercise it happens in,
// a compile error only its lesson. An exercise earns its points when every
// one of its tests ran and passed.
//
// Where the machine has the race detector, the tests run under it: a data
// race (a log read without its lock, a frame written without the write
// lock) is a real mistake that a plain run rarely sees, and a grade should
// not depend on luck.
//
// The error is for grading that could not be done; a learner who scores
// nothing is a successful grading.
func (w *Workbook) Grade(ctx context.Context, opts GradeOptions) (*Grade, error) {
	lessons := []catalog.Lesson(w.Book)
	if opts.Lesson != "" {
		l, ok := w.Book.Lesson(opts.Lesson)
		if !ok {
			return nil, fmt.Errorf("--lesson %s: no such lesson", opts.Lesson)
		}
		lessons = []catalog.Lesson{l}
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	submission := w.Root
	if opts.Submission != "" {
		abs, err := filepath.Abs(opts.Submission)
		if err != nil {
			return nil, err
		}
		submission = abs
	}
	started := time.Now()

	ws, err := w.scratchCopy("workbook-grade-")
	if err != nil {
		return nil, fmt.Errorf("preparing the grading workspace: %w", err)
	}
	defer os.RemoveAll(ws)
	graded := &Workbook{Root: ws, Book: w.Book, Out: w.Out, Env: append(w.environ(), "GOWORK=off")}

	g := &Grade{Race: graded.raceDetector(ctx)}
	for _, l := range lessons {
		grades, err := graded.gradeLesson(ctx, l, submission, w.Canon, opts.Timeout, g.Race)
		if err != nil {
			return nil, err
		}
		g.Exercises = append(g.Exercises, grades...)
	}
	for _, e := range g.Exercises {
		g.Score += e.Score
		g.Max += e.Exercise.Points
	}

	w.printGrade(g, lessons, submission)
	if opts.Gradescope != "" {
		if err := writeGradescope(opts.Gradescope, g, time.Since(started)); err != nil {
			return nil, err
		}
		w.printf("Wrote %s\n", opts.Gradescope)
	}
	if opts.JUnit != "" {
		if err := writeJUnit(opts.JUnit, g, lessons); err != nil {
			return nil, err
		}
		w.printf("Wrote %s\n", opts.JUnit)
	}
	return g, nil
}

// gradeLesson installs the submission's lesson with the canonical tests in
// the workspace w.Root and grades each exercise.
func (w *Workbook) gradeLesson(ctx context.Context, l catalog.Lesson, submission string, canon fs.FS, timeout time.Duration, race bool) ([]*ExerciseGrade, error) {
	grades := make([]*ExerciseGrade, len(l.Exercises))
	for i, e := range l.Exercises {
		grades[i] = &ExerciseGrade{Lesson: l, Exercise: e, Status: GradeFailed}
	}
	fail := func(reason, output string) []*ExerciseGrade {
		for _, g := range grades {
			g.Reason, g.Output = reason, output
		}
		return grades
	}

	src := filepath.Join(submission, filepath.FromSlash(l.Dir))
	if info, err := os.Stat(src); err != nil || !info.IsDir() {
		return fail(fmt.Sprintf("the submission has no directory %s", l.Dir), ""), nil
	}
	if err := w.installLesson(l, src, canon); err != nil {
		return nil, err
	}
	tests, err := ParseTests(w.Root, l.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading the canonical tests of %s: %w", l.Dir, err)
	}
	module, err := w.modulePath()
	if err != nil {
		return nil, err
	}

	for _, g := range grades {
		own := testsOf(tests, g.Exercise.ID)
		if len(own) == 0 {
			g.Status, g.Reason = GradeSkipped, "no canonical test grades this exercise"
			continue
		}
		begin := time.Now()
		args := []string{"-count=1", "-timeout", timeout.String(), "-run", runPattern(own)}
		if race {
			args = append(args, "-race")
		}
		args = append(args, packagePatterns(own)...)
		run, err := w.goTest(ctx, w.Root, []string{exercise.StrictEnv + "=1"}, args...)
		if err != nil {
			return nil, fmt.Errorf("grading %s: %w", g.Exercise.ID, err)
		}
		g.Elapsed = time.Since(begin)
		if build := buildErrors(run, module, packagePatterns(own)); build != nil {
			out := strings.Join(build, "\n")
			for _, rest := range grades {
				if rest.Status != GradePassed {
					rest.Status, rest.Score = GradeFailed, 0
					rest.Reason = fmt.Sprintf("lesson %s does not compile: %s", l.Dir, build[0])
					rest.Output = out
				}
			}
			return grades, nil
		}
		results := make([]*TestResult, len(own))
		for i, t := range own {
			results[i] = run.Package(importPath(module, t.Package)).Test(t.Name)
		}
		st, culprit, reason, detail := verdict(w.Root, own, results, run.Package(importPath(module, own[0].Package)))
		switch {
		case st == Done:
			g.Status, g.Score = GradePassed, g.Exercise.Points
			g.Reason = fmt.Sprintf("all %s passed", plural(len(own), "test"))
		case results[culprit].Outcome == Failed:
			g.Status = GradeFailed
		default:
			g.Status = GradeSkipped
		}
		if st != Done {
			g.Reason = reason
			if msg := firstMessage(detail); msg != "" && !strings.Contains(reason, ":") {
				g.Reason += ": " + msg
			}
			// A stub left in place is the commonest reason of all; say it
			// first, where the table's column cannot cut it off.
			if reachedTODO(detail) {
				g.Reason = "not done yet: an exercise.TODO was reached (" + own[culprit].Name + ")"
			}
			g.Output = strings.Join(append([]string{reason + " (" + own[culprit].Pos() + ")"}, detail...), "\n")
		}
	}
	return grades, nil
}

// installLesson replaces the workspace's copy of a lesson with the
// submission's, minus its test files, plus the canonical test files.
func (w *Workbook) installLesson(l catalog.Lesson, src string, canon fs.FS) error {
	canonical, err := testFiles(canon, l.Dir)
	if err != nil {
		return fmt.Errorf("reading the canonical tests of %s: %w", l.Dir, err)
	}
	if len(canonical) == 0 {
		return fmt.Errorf("there are no canonical tests for %s: the grader's copy of them is missing", l.Dir)
	}
	dst := w.path(l.Dir)
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := copyTree(dst, src); err != nil {
		return fmt.Errorf("copying the submission's %s: %w", l.Dir, err)
	}
	// Everything a test could be graded by comes from the canon: the
	// submission's test files go, and so do its testdata directories when
	// the canon has its own.
	err = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		if d.IsDir() && d.Name() == "testdata" && canonHas(canonical, filepath.ToSlash(rel)) {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			return filepath.SkipDir
		}
		if !d.IsDir() && isTestFile(d.Name()) {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing the submission's tests: %w", err)
	}
	for name, data := range canonical {
		p := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// canonHas reports whether the canon has a file under the directory dir.
func canonHas(files map[string][]byte, dir string) bool {
	for name := range files {
		if strings.HasPrefix(name, dir+"/") {
			return true
		}
	}
	return false
}

// printGrade writes the grade table.
func (w *Workbook) printGrade(g *Grade, lessons []catalog.Lesson, submission string) {
	s := w.style()
	what := "the checkout"
	if submission != w.Root {
		what = submission
	}
	how := "strict mode, each exercise on its own"
	if g.Race {
		how += ", under the race detector"
	}
	w.printf("Grading %s against the canonical tests (%s).\n\n", what, how)
	tw := tabwriter.NewWriter(w.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXERCISE\tTITLE\tSCORE\tSTATUS\tREASON")
	for _, l := range lessons {
		got, of := 0, 0
		for _, e := range g.Lesson(l.Dir) {
			got += e.Score
			of += e.Exercise.Points
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", e.Exercise.ID, e.Exercise.Title, e.Score, e.Exercise.Points,
				e.Status, oneLine(e.Reason, 100))
		}
		fmt.Fprintf(tw, "\t%s\t%d/%d\t\t\n", "lesson "+l.Dir, got, of)
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d/%d\t\t\n", g.Score, g.Max)
	tw.Flush()
	w.printf("\n%s\n", s.bold(fmt.Sprintf("Score: %d of %d points.", g.Score, g.Max)))
	w.printNotHandedOut()
}

// oneLine cuts s to its first line and at most n runes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.ReplaceAll(s, "\t", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// raceDetector reports whether go test -race works here: the race detector
// needs a supported platform and, on most, cgo with a C compiler. It finds
// out by building a program of two lines with it, in a scratch module.
func (w *Workbook) raceDetector(ctx context.Context) bool {
	dir, err := os.MkdirTemp("", "workbook-race-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	if os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module raceprobe\n\ngo 1.21\n"), 0o644) != nil ||
		os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644) != nil {
		return false
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-race", "-o", filepath.Join(dir, "probe"), ".")
	cmd.Dir = dir
	cmd.Env = append(w.environ(), "GOWORK=off", "GOFLAGS=")
	return cmd.Run() == nil
}

// reachedTODO reports whether a failure is an exercise.TODO marker's error:
// the exercise is not done yet, rather than done wrong.
func reachedTODO(detail []string) bool {
	for _, l := range detail {
		if strings.Contains(l, exercise.NotDoneMark) {
			return true
		}
	}
	return false
}
