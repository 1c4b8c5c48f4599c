package runner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Verify proves the book is consistent, for maintainers and CI. It prints
// every check it makes and returns false if any of them found a gap:
//
//   - the catalogue is sound (catalog.Book.Check);
//   - for each lesson, the markers, the tests and the text agree with the
//     catalogue, both ways; the solution has no markers;
//   - the test files of the lesson, of its solution and of the canon are
//     byte for byte the same;
//   - the lesson and its solution export the same API (verifyExports);
//   - every test of every exercise FAILS, in strict mode, against the
//     untouched stubs (a test that passes there cannot tell a stub from a
//     solution);
//   - every mistake kept with a solution (see Mistake) makes at least one
//     test of its exercise fail;
//   - every sample of the runner's output in a lesson text (see Sample) is
//     what the runner prints;
//   - every test of the solutions passes, in strict mode, under the race
//     detector.
//
// The error is for a verification that could not run at all.
func (w *Workbook) Verify(ctx context.Context) (bool, error) {
	c := &checklist{w: w}
	c.section("Catalogue")
	if errs := w.Book.Check(); len(errs) > 0 {
		var ls []string
		for _, err := range errs {
			ls = append(ls, err.Error())
		}
		c.gap(ls, "internal/catalog has %s", plural(len(errs), "problem"))
	} else {
		c.ok("internal/catalog is consistent: %s, %s", plural(len(w.Book), "lesson"), plural(exerciseCount(w.Book), "exercise"))
	}

	for _, l := range w.Book {
		c.section(l.Dir + ": " + l.Title)
		if err := w.verifyLesson(ctx, c, l); err != nil {
			return false, err
		}
	}

	c.section("Solutions")
	if err := w.verifySolutions(ctx, c); err != nil {
		return false, err
	}

	return c.verdict("every check passed"), nil
}

// A checklist prints checks as they are made and counts the gaps.
type checklist struct {
	w    *Workbook
	gaps int
}

func (c *checklist) section(title string) { c.w.printf("%s\n", c.w.style().bold(title)) }

func (c *checklist) ok(format string, args ...any) {
	c.w.printf("  %s %s\n", c.w.style().pass(), fmt.Sprintf(format, args...))
}

// verdict prints the last line of a verification, the number of gaps or
// passed, and reports whether there were none.
func (c *checklist) verdict(passed string) bool {
	s := c.w.style()
	if c.gaps > 0 {
		c.w.printf("\n%s\n", s.red(fmt.Sprintf("verify: %s found.", plural(c.gaps, "gap"))))
		return false
	}
	c.w.printf("\n%s\n", s.green("verify: "+passed+"."))
	return true
}

// gap reports a failed check, with detail lines under it.
func (c *checklist) gap(detail []string, format string, args ...any) {
	c.gaps++
	c.w.printf("  %s %s\n%s", c.w.style().fail(), fmt.Sprintf(format, args...), indent("      ", detail))
}

func exerciseCount(b catalog.Book) int {
	n := 0
	for _, l := range b {
		n += len(l.Exercises)
	}
	return n
}

// verifyLesson makes the checks of one lesson.
func (w *Workbook) verifyLesson(ctx context.Context, c *checklist, l catalog.Lesson) error {
	if info, err := os.Stat(w.path(l.Dir)); err != nil || !info.IsDir() {
		c.gap(nil, "the lesson directory %s is missing", l.Dir)
		return nil
	}
	w.verifyTestFiles(c, l)
	if err := w.verifyMarkers(c, l); err != nil {
		return err
	}
	w.verifyExports(c, l)
	tests, err := ParseTests(w.Root, l.Dir)
	if err != nil {
		c.gap([]string{err.Error()}, "the tests of %s do not parse", l.Dir)
		return nil
	}
	w.verifyTestMapping(c, l, tests)
	w.verifyText(c, l)
	if err := w.verifySamples(ctx, c, l); err != nil {
		return err
	}
	if err := w.verifyStubsFail(ctx, c, l, tests); err != nil {
		return err
	}
	return w.verifyMistakes(ctx, c, l)
}

// verifyTestFiles checks that the lesson, its solution and the canon have
// the same test files, byte for byte.
func (w *Workbook) verifyTestFiles(c *checklist, l catalog.Lesson) {
	root := os.DirFS(w.Root)
	lesson, err1 := testFiles(root, l.Dir)
	solution, err2 := testFiles(root, l.SolutionDir())
	var canon map[string][]byte
	var err3 error
	if w.Canon != nil {
		canon, err3 = testFiles(w.Canon, l.Dir)
	}
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			c.gap([]string{err.Error()}, "cannot read the test files of %s", l.Dir)
			return
		}
	}
	// A solution may hold more than the lesson (a demo command with its own
	// tests, say): only the packages a learner has are compared.
	for name := range solution {
		if dir := path.Dir(name); dir != "." && !isDir(w.path(l.Dir+"/"+dir)) {
			delete(solution, name)
		}
	}
	canonDir := w.CanonDir
	if canonDir == "" {
		canonDir = "the canon"
	}
	canonLesson := canonDir + "/" + l.Dir
	if len(lesson) == 0 {
		c.gap(nil, "%s has no test files", l.Dir)
		return
	}
	good := true
	compare := func(other map[string][]byte, otherDir string) {
		diff := diffFiles(solution, other)
		if len(diff) == 0 {
			return
		}
		good = false
		var detail []string
		for _, name := range diff {
			_, inSol := solution[name]
			_, inOther := other[name]
			switch {
			case inSol && inOther:
				detail = append(detail, fmt.Sprintf("%s differs from %s/%s", otherDir+"/"+name, l.SolutionDir(), name))
			case inSol:
				detail = append(detail, fmt.Sprintf("%s is missing (it is in %s)", otherDir+"/"+name, l.SolutionDir()))
			default:
				detail = append(detail, fmt.Sprintf("%s is not in %s", otherDir+"/"+name, l.SolutionDir()))
			}
		}
		// The solution's tests are the reference; a test only the other
		// side has is new, and goes into the solution.
		var fromSolution, toSolution []string
		for _, name := range diff {
			if _, ok := solution[name]; ok {
				fromSolution = append(fromSolution, name)
			} else {
				toSolution = append(toSolution, name)
			}
		}
		if len(fromSolution) > 0 {
			detail = append(detail, "fix: "+copyCommand(l.SolutionDir(), otherDir, fromSolution))
		}
		if len(toSolution) > 0 {
			detail = append(detail, "fix: "+copyCommand(otherDir, l.SolutionDir(), toSolution)+"   (or delete them)")
		}
		c.gap(detail, "the test files of %s and %s differ", l.SolutionDir(), otherDir)
	}
	compare(lesson, l.Dir)
	compare(canon, canonLesson)
	if good {
		c.ok("test files: %s, %s and %s are identical (%s)", l.Dir, l.SolutionDir(), canonLesson, plural(len(lesson), "file"))
	}
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// copyCommand is the shell command that copies the named files (paths
// relative to the directories) from src to dst: a glob for top-level test
// files, cp -r for a top-level testdata directory, one cp per file for the
// rest.
func copyCommand(src, dst string, names []string) string {
	cmds := []string{"mkdir -p " + dst}
	glob, testdata := false, false
	for _, n := range names {
		switch {
		case !strings.Contains(n, "/") && isTestFile(n):
			glob = true
		case strings.HasPrefix(n, "testdata/"):
			testdata = true
		default:
			cmds = append(cmds, fmt.Sprintf("mkdir -p %s/%s && cp %s/%s %s/%s", dst, path.Dir(n), src, n, dst, n))
		}
	}
	if glob {
		cmds = append(cmds, fmt.Sprintf("cp %s/*_test.go %s/", src, dst))
	}
	if testdata {
		cmds = append(cmds, fmt.Sprintf("cp -r %s/testdata %s/", src, dst))
	}
	return strings.Join(cmds, " && ")
}

// verifyMarkers checks the markers against the catalogue, both ways, and
// that the solution has none.
func (w *Workbook) verifyMarkers(c *checklist, l catalog.Lesson) error {
	markers, err := exercise.FindMarkers(w.path(l.Dir))
	if err != nil {
		return fmt.Errorf("looking for markers in %s: %w", l.Dir, err)
	}
	var detail []string
	for _, e := range l.Exercises {
		if !slices.ContainsFunc(markers, func(m exercise.Marker) bool { return m.ID == e.ID }) {
			detail = append(detail, fmt.Sprintf("exercise %s has no exercise.TODO(%q) marker in %s", e.ID, e.ID, l.Dir))
		}
	}
	for _, m := range markers {
		if !hasExercise(l, m.ID) {
			detail = append(detail, fmt.Sprintf("the marker at %s/%s:%d names %q, which is not an exercise of lesson %s",
				l.Dir, m.File, m.Line, m.ID, l.Dir))
		}
	}
	if len(detail) > 0 {
		c.gap(detail, "markers in %s do not match the catalogue", l.Dir)
	} else {
		c.ok("markers: every exercise has one in %s, and each names an exercise of the lesson (%s)", l.Dir, plural(len(markers), "marker"))
	}

	sol, err := exercise.FindMarkers(w.path(l.SolutionDir()))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("looking for markers in %s: %w", l.SolutionDir(), err)
	}
	if len(sol) > 0 {
		var ls []string
		for _, m := range sol {
			ls = append(ls, fmt.Sprintf("%s/%s:%d: exercise.TODO(%q)", l.SolutionDir(), m.File, m.Line, m.ID))
		}
		c.gap(ls, "%s still has markers", l.SolutionDir())
	} else if err == nil {
		c.ok("%s has no markers", l.SolutionDir())
	} else {
		c.gap(nil, "%s is missing", l.SolutionDir())
	}
	return nil
}

func hasExercise(l catalog.Lesson, id string) bool {
	return slices.ContainsFunc(l.Exercises, func(e catalog.Exercise) bool { return e.ID == id })
}

// verifyTestMapping checks that every test starts an exercise of the lesson
// and that every exercise has a test.
func (w *Workbook) verifyTestMapping(c *checklist, l catalog.Lesson, tests []TestFunc) {
	var detail []string
	for _, t := range tests {
		switch {
		case t.Exercise == "":
			detail = append(detail, fmt.Sprintf("%s (%s) %s", t.Name, t.Pos(), t.Problem))
		case !hasExercise(l, t.Exercise):
			detail = append(detail, fmt.Sprintf("%s (%s) starts exercise %q, which is not an exercise of lesson %s",
				t.Name, t.Pos(), t.Exercise, l.Dir))
		}
	}
	for _, e := range l.Exercises {
		if len(testsOf(tests, e.ID)) == 0 {
			detail = append(detail, fmt.Sprintf("exercise %s has no test: no test begins with exercise.Start(t, %q)", e.ID, e.ID))
		}
	}
	if len(detail) > 0 {
		c.gap(detail, "tests in %s do not match the catalogue", l.Dir)
		return
	}
	c.ok("tests: %s, each starting an exercise of the lesson; every exercise has at least one", plural(len(tests), "test"))
}

// headingID reads "Exercise 1.2: Title" into its ID and title.
var headingID = regexp.MustCompile(`^Exercise\s+(\d+\.\d+):?\s*(.*)$`)

// verifyText checks the lesson text against the catalogue, both ways: the
// exact heading of every exercise, once, with a hint in its section, and no
// exercise heading the catalogue does not know.
func (w *Workbook) verifyText(c *checklist, l catalog.Lesson) {
	data, err := os.ReadFile(w.path(l.TextPath()))
	if err != nil {
		c.gap(nil, "the lesson text %s is missing", l.TextPath())
		return
	}
	text := string(data)
	headings := Headings(text)
	var detail []string
	for _, e := range l.Exercises {
		switch n := countOf(headings, e.Heading()); {
		case n == 0:
			detail = append(detail, fmt.Sprintf("no heading %q", "## "+e.Heading()))
			continue
		case n > 1:
			detail = append(detail, fmt.Sprintf("the heading %q appears %d times", "## "+e.Heading(), n))
		}
		if section, _ := Section(text, e.Heading()); !strings.Contains(section, "workbook hint "+e.ID) {
			detail = append(detail, fmt.Sprintf("the section of exercise %s does not say how to get its hints (`go run ./cmd/workbook hint %s`)", e.ID, e.ID))
		}
	}
	if n := len(Hints(text)); n > 0 {
		detail = append(detail, fmt.Sprintf("the text holds %s: hints go in %s, where only the runner shows them, one at a time", plural(n, "hint block"), l.HintsPath()))
	}
	detail = append(detail, w.verifyHints(l)...)
	for _, h := range headings {
		m := headingID.FindStringSubmatch(h)
		if m == nil {
			continue
		}
		_, e, ok := w.Book.Find(m[1])
		switch {
		case !ok || !hasExercise(l, m[1]):
			detail = append(detail, fmt.Sprintf("the heading %q names no exercise of lesson %s in the catalogue", "## "+h, l.Dir))
		case h != e.Heading():
			detail = append(detail, fmt.Sprintf("the heading %q should read %q, as in the catalogue", "## "+h, "## "+e.Heading()))
		}
	}
	if len(detail) > 0 {
		c.gap(detail, "the text %s does not match the catalogue", l.TextPath())
		return
	}
	c.ok("text: %s has a section for every exercise, and no other exercise heading; %s has hints for every one", l.TextPath(), l.HintsPath())
}

// verifyHints checks the lesson's hints file: a section with at least one
// hint for every exercise, and no section for an exercise the lesson does
// not have.
func (w *Workbook) verifyHints(l catalog.Lesson) []string {
	data, err := os.ReadFile(w.path(l.HintsPath()))
	if err != nil {
		return []string{fmt.Sprintf("the hints file %s is missing", l.HintsPath())}
	}
	text := string(data)
	var detail []string
	for _, e := range l.Exercises {
		if section, ok := Section(text, e.Heading()); !ok || len(Hints(section)) == 0 {
			detail = append(detail, fmt.Sprintf("%s has no hint for exercise %s (a section %q with <details><summary>Hint 1</summary> ... </details>)", l.HintsPath(), e.ID, "## "+e.Heading()))
		}
	}
	for _, h := range Headings(text) {
		if m := headingID.FindStringSubmatch(h); m != nil && !hasExercise(l, m[1]) {
			detail = append(detail, fmt.Sprintf("%s has hints under %q, which is not an exercise of lesson %s", l.HintsPath(), "## "+h, l.Dir))
		}
	}
	return detail
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// verifyStubsFail runs each exercise's tests alone, strict, against the
// untouched stubs in the lesson directory: every one of them must fail.
func (w *Workbook) verifyStubsFail(ctx context.Context, c *checklist, l catalog.Lesson, tests []TestFunc) error {
	module, err := w.modulePath()
	if err != nil {
		return err
	}
	strict := []string{exercise.StrictEnv + "=1"}
	for _, e := range l.Exercises {
		own := testsOf(tests, e.ID)
		if len(own) == 0 {
			continue // reported with the test mapping
		}
		// Run the exercise's tests together; then each test that did not run
		// (a panic or a timeout stopped the binary first) on its own.
		outcomes := make([]*TestResult, len(own))
		for i := range own {
			if outcomes[i] != nil && outcomes[i].Outcome != NotRun {
				continue
			}
			batch := own[i:]
			if i > 0 {
				batch = own[i : i+1]
			}
			run, err := w.goTest(ctx, w.Root, strict, append([]string{"-count=1", "-run", runPattern(batch)}, packagePatterns(batch)...)...)
			if err != nil {
				return err
			}
			if build := buildErrors(run, module, packagePatterns(batch)); build != nil {
				c.gap(build, "lesson %s does not compile", l.Dir)
				return nil
			}
			for j, t := range batch {
				outcomes[i+j] = run.Package(importPath(module, t.Package)).Test(t.Name)
			}
		}
		var detail []string
		for i, t := range own {
			switch r := outcomes[i]; r.Outcome {
			case Failed:
			case Passed:
				detail = append(detail, fmt.Sprintf("%s (%s) passed against the stub: it cannot tell the stub from a solution", t.Name, t.Pos()))
			case Skipped:
				msg := meaningful(w.Root, t.Name, r.Output)
				detail = append(detail, fmt.Sprintf("%s (%s) skipped against the stub in strict mode%s", t.Name, t.Pos(), firstLine(msg)))
			default:
				detail = append(detail, fmt.Sprintf("%s (%s) did not run", t.Name, t.Pos()))
			}
		}
		if len(detail) > 0 {
			c.gap(detail, "%s %s: not every test fails against the stub", e.ID, e.Title)
			continue
		}
		c.ok("%s %s: %s against the stub", e.ID, e.Title, failsAll(len(own)))
	}
	return nil
}

// firstLine is ": " and the first of the lines, or "" when there are none.
func firstLine(ls []string) string {
	if msg := firstMessage(ls); msg != "" {
		return ": " + msg
	}
	return ""
}

// verifySolutions runs every test of the solutions, strict, under the race
// detector: each must pass, and each test of a lesson's solution must have
// run.
func (w *Workbook) verifySolutions(ctx context.Context, c *checklist) error {
	module, err := w.modulePath()
	if err != nil {
		return err
	}
	const cmd = "go test -race -count=1 ./solutions/... (strict)"
	run, err := w.goTest(ctx, w.Root, []string{exercise.StrictEnv + "=1"}, "-race", "-count=1", "./solutions/...")
	if err != nil {
		c.gap(strings.Split(err.Error(), "\n"), "%s could not run", cmd)
		return nil
	}
	var detail []string
	passed := 0
	for _, path := range slices.Sorted(maps.Keys(run.Packages)) {
		pkg := run.Packages[path]
		dir := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		if pkg.BuildFailed {
			detail = append(detail, dir+" does not compile:")
			detail = append(detail, indentLines("  ", pkg.BuildOutput)...)
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(pkg.Tests)) {
			t := pkg.Tests[name]
			switch t.Outcome {
			case Passed:
				passed++
			case Failed:
				detail = append(detail, fmt.Sprintf("%s: %s failed%s", dir, name, firstLine(meaningful(w.Root, name, t.Output))))
			case Skipped:
				detail = append(detail, fmt.Sprintf("%s: %s skipped%s; a solution's test must run", dir, name, firstLine(meaningful(w.Root, name, t.Output))))
			}
		}
	}
	// A test the stream never mentions did not run (a panic before it).
	for _, l := range w.Book {
		tests, err := ParseTests(w.Root, l.SolutionDir())
		if err != nil {
			continue // a missing solution is reported with its lesson
		}
		for _, t := range tests {
			if run.Package(importPath(module, t.Package)).Test(t.Name).Outcome == NotRun && !run.Package(importPath(module, t.Package)).BuildFailed {
				detail = append(detail, fmt.Sprintf("%s: %s (%s) did not run", t.Package, t.Name, t.Pos()))
			}
		}
	}
	if len(detail) > 0 {
		if n := len(detail) - maxListed; n > 0 {
			detail = append(detail[:maxListed], fmt.Sprintf("... and %d more", n))
		}
		c.gap(detail, "%s: not every test passes", cmd)
		return nil
	}
	c.ok("%s: all %s pass", cmd, plural(passed, "test"))
	return nil
}

// maxListed is how many failures of the solutions verify lists.
const maxListed = 25

// indentLines prefixes each line.
func indentLines(prefix string, ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = prefix + l
	}
	return out
}

// failsAll is "its test fails" or "all 3 of its tests fail".
func failsAll(n int) string {
	if n == 1 {
		return "its test fails"
	}
	return fmt.Sprintf("all %d of its tests fail", n)
}
