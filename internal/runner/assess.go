package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A State is where a learner stands on one exercise.
type State int

const (
	// NotStarted: the exercise's marker is still in the lesson's source, so
	// its tests skip.
	NotStarted State = iota
	// Failing: the marker is gone and not every test passes, or the lesson
	// does not compile.
	Failing
	// Done: the marker is gone and every test passes.
	Done
)

func (s State) String() string {
	switch s {
	case Done:
		return "done"
	case Failing:
		return "failing"
	}
	return "not started"
}

// An ExerciseReport is what the runner found out about one exercise.
type ExerciseReport struct {
	Lesson   catalog.Lesson
	Exercise catalog.Exercise
	Markers  []exercise.Marker // File is relative to the root
	Tests    []TestFunc
	Results  []*TestResult // one per test, once tests ran
	State    State

	// Reason says in one line why a failing exercise fails: "TestX failed",
	// "TestX panicked: ...", "01-polling does not compile".
	Reason string
	// Detail is the first failure: the test's meaningful output lines.
	Detail []string
	// Culprit is the test Reason is about, when it is about one.
	Culprit *TestFunc
}

// A LessonReport gathers the reports of a lesson's exercises.
type LessonReport struct {
	Lesson    catalog.Lesson
	Exercises []*ExerciseReport
	Tests     []TestFunc // every test of the lesson, in source order

	// BuildError is the compiler's output when the lesson does not compile.
	BuildError []string
}

// Points is what the lesson's done exercises earn.
func (l *LessonReport) Points() int {
	n := 0
	for _, e := range l.Exercises {
		if e.State == Done {
			n += e.Exercise.Points
		}
	}
	return n
}

// assessOptions choose how much work assess does.
type assessOptions struct {
	// fresh adds -count=1, so no result comes from go's test cache.
	fresh bool
	// unstarted runs a lesson's tests even when none of its exercises is
	// started (to see that it compiles); without it such lessons do not run.
	unstarted bool
	// only limits the work to one exercise.
	only *catalog.Exercise
}

// assess finds the markers and tests of the lessons, runs `go test -json`
// (not strict) and judges each exercise.
func (w *Workbook) assess(ctx context.Context, lessons []catalog.Lesson, opts assessOptions) ([]*LessonReport, error) {
	module, err := w.modulePath()
	if err != nil {
		return nil, err
	}
	var reports []*LessonReport
	var patterns []string
	var selected []TestFunc
	for _, l := range lessons {
		lr, err := w.inspect(l, opts.only)
		if err != nil {
			return nil, err
		}
		reports = append(reports, lr)
		started := false
		for _, e := range lr.Exercises {
			started = started || e.State != NotStarted
			selected = append(selected, e.Tests...)
		}
		if started || opts.unstarted {
			patterns = append(patterns, lessonPatterns(l, lr.Tests)...)
		}
	}
	if len(patterns) == 0 {
		return reports, nil
	}

	args := testFlags(opts.fresh)
	if opts.only != nil {
		args = append(args, "-run", runPattern(selected))
	}
	run, err := w.goTest(ctx, w.Root, notStrict, append(args, patterns...)...)
	if err != nil {
		return nil, err
	}
	for _, lr := range reports {
		lr.BuildError = buildErrors(run, module, lessonPatterns(lr.Lesson, lr.Tests))
		for _, e := range lr.Exercises {
			if e.State == NotStarted {
				continue
			}
			e.judge(w.Root, run, module, lr)
			if !e.cutShort() {
				continue
			}
			// A panic or a timeout in another exercise's test stopped the
			// test binary before this exercise's tests ran: run them alone.
			again, err := w.goTest(ctx, w.Root, notStrict, append(testFlags(opts.fresh),
				append([]string{"-run", runPattern(e.Tests)}, packagePatterns(e.Tests)...)...)...)
			if err != nil {
				return nil, err
			}
			e.judge(w.Root, again, module, lr)
		}
	}
	return reports, nil
}

// inspect reads a lesson's markers and tests, without running anything.
// Exercises with a marker are NotStarted; the others are Failing until
// their tests say otherwise.
func (w *Workbook) inspect(l catalog.Lesson, only *catalog.Exercise) (*LessonReport, error) {
	markers, err := exercise.FindMarkers(w.path(l.Dir))
	if err != nil {
		return nil, fmt.Errorf("lesson %s: looking for markers: %w", l.Dir, err)
	}
	tests, err := ParseTests(w.Root, l.Dir)
	if err != nil {
		return nil, fmt.Errorf("lesson %s: %w", l.Dir, err)
	}
	lr := &LessonReport{Lesson: l, Tests: tests}
	for _, ex := range l.Exercises {
		if only != nil && ex.ID != only.ID {
			continue
		}
		e := &ExerciseReport{Lesson: l, Exercise: ex, Tests: testsOf(tests, ex.ID), State: Failing}
		for _, m := range markers {
			if m.ID == ex.ID {
				m.File = l.Dir + "/" + m.File
				e.Markers = append(e.Markers, m)
			}
		}
		if len(e.Markers) > 0 {
			e.State = NotStarted
		}
		lr.Exercises = append(lr.Exercises, e)
	}
	return lr, nil
}

// notStrict clears strict mode, whatever the learner's environment says:
// status and check report a marker still in place as "not started".
var notStrict = []string{exercise.StrictEnv + "="}

// testFlags are the flags of a learner's run: not strict, and fresh when
// cached results will not do.
func testFlags(fresh bool) []string {
	if fresh {
		return []string{"-count=1"}
	}
	return nil
}

// lessonPatterns are the package patterns that run a lesson's tests; a
// lesson without tests still gets its directory, so that a compile error
// shows.
func lessonPatterns(l catalog.Lesson, tests []TestFunc) []string {
	if len(tests) == 0 {
		return []string{"./" + l.Dir + "/"}
	}
	return packagePatterns(tests)
}

// buildErrors collects the compiler output of the packages (given as
// "./dir/" patterns) that did not build; nil when they all built.
func buildErrors(run *TestRun, module string, patterns []string) []string {
	var out []string
	failed := false
	for _, p := range patterns {
		pkg := run.Package(importPath(module, p))
		if pkg.BuildFailed {
			failed = true
			out = append(out, pkg.BuildOutput...)
		}
	}
	if failed && len(out) == 0 {
		out = []string{"(go test gave no compiler output)"}
	}
	return out
}

// importPath turns "./01-polling/" into the package's import path.
func importPath(module, pattern string) string {
	return module + "/" + strings.Trim(strings.TrimPrefix(pattern, "./"), "/")
}

// judge sets the exercise's state from a run of its tests.
func (e *ExerciseReport) judge(root string, run *TestRun, module string, lr *LessonReport) {
	e.Results = make([]*TestResult, len(e.Tests))
	for i, t := range e.Tests {
		e.Results[i] = run.Package(importPath(module, t.Package)).Test(t.Name)
	}
	e.State, e.Reason, e.Detail, e.Culprit = Failing, "", nil, nil
	switch {
	case lr.BuildError != nil:
		e.Reason = fmt.Sprintf("lesson %s does not compile", lr.Lesson.Dir)
		e.Detail = lr.BuildError
	case len(e.Tests) == 0:
		e.Reason = fmt.Sprintf("no test begins with exercise.Start(t, %q)", e.Exercise.ID)
	default:
		var culprit int
		e.State, culprit, e.Reason, e.Detail = verdict(root, e.Tests, e.Results, run.Package(importPath(module, e.Tests[0].Package)))
		if culprit >= 0 {
			e.Culprit = &e.Tests[culprit]
		}
	}
}

// verdict judges a set of tests: Done when all passed, otherwise Failing
// because of the first failure, else the first skip, else the first test
// that did not run, whose index it returns (-1 when Done).
func verdict(root string, tests []TestFunc, results []*TestResult, pkg *PackageResult) (st State, culprit int, reason string, detail []string) {
	for _, want := range []Outcome{Failed, Skipped, NotRun} {
		for i, r := range results {
			if r.Outcome != want {
				continue
			}
			name := tests[i].Name
			switch want {
			case Failed:
				if msg := panicMessage(r.Output); msg != "" {
					return Failing, i, fmt.Sprintf("%s panicked: %s", name, msg), meaningful(root, name, r.Output)
				}
				return Failing, i, name + " failed", meaningful(root, name, r.Output)
			case Skipped:
				detail := meaningful(root, name, r.Output)
				reason := name + " was skipped"
				if msg := firstMessage(detail); msg != "" {
					reason += ": " + msg
				}
				return Failing, i, reason, detail
			default:
				return Failing, i, name + " did not run", meaningful(root, "", pkg.Output)
			}
		}
	}
	return Done, -1, "", nil
}

// cutShort reports whether the exercise failed only because some of its
// tests never ran (and none of its own failed or skipped).
func (e *ExerciseReport) cutShort() bool {
	silent := false
	for _, r := range e.Results {
		switch r.Outcome {
		case NotRun:
			silent = true
		case Failed, Skipped:
			return false
		}
	}
	return silent
}

// maxDetail is how many lines of a failure the runner shows.
const maxDetail = 10

// meaningful keeps the lines of a test's output worth reading: not the
// === RUN/PAUSE/CONT chatter, not the --- PASS/SKIP/FAIL lines (the runner
// names the test itself, and a subtest's lines come under a "TestX/sub:"
// header instead), at most maxDetail of them, one level of indentation
// removed. A panic is cut down to its message and the frames of the code
// under test.
func meaningful(root, test string, output []string) []string {
	if msg := panicMessage(output); msg != "" {
		return panicDetail(root, output)
	}
	var kept []string
	header, sub := "", "" // a subtest's pending header, and the indentation of its lines
	for _, l := range foldTestify(output) {
		t := strings.TrimSpace(l)
		if name, ok := cutAny(t, "=== RUN ", "=== CONT ", "=== NAME "); ok {
			if name = strings.TrimSpace(name); name != test && strings.Contains(name, "/") {
				header = name + ":"
			} else {
				header, sub = "", ""
			}
			continue
		}
		switch {
		case t == "",
			strings.HasPrefix(t, "=== "),
			strings.HasPrefix(t, "--- PASS: "), strings.HasPrefix(t, "--- SKIP: "), strings.HasPrefix(t, "--- FAIL: "),
			t == "FAIL", t == "PASS", strings.HasPrefix(t, "FAIL\t"), strings.HasPrefix(t, "ok  \t"):
			continue
		}
		if header != "" {
			kept = append(kept, header)
			header, sub = "", "  "
		}
		kept = append(kept, sub+strings.TrimRight(strings.TrimPrefix(l, "    "), " \t"))
		if len(kept) >= maxDetail {
			break
		}
	}
	return kept
}

// cutAny is strings.CutPrefix with several prefixes.
func cutAny(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest, true
		}
	}
	return s, false
}

// panicMessage finds the "panic: ..." line in a test's output.
func panicMessage(output []string) string {
	for _, l := range output {
		if msg, ok := strings.CutPrefix(l, "panic: "); ok {
			msg = strings.TrimSuffix(msg, " [recovered, repanicked]")
			return strings.TrimSuffix(msg, " [recovered]")
		}
	}
	return ""
}

// panicDetail keeps what a panic's report says about the code under test:
// the lines the test logged before it, the panic message, and the stack
// frames outside the runtime and the testing package, as "function at
// file:line" with the file relative to root.
func panicDetail(root string, output []string) []string {
	var kept []string
	i := 0
	for ; i < len(output) && !strings.HasPrefix(output[i], "panic: "); i++ {
		if t := strings.TrimSpace(output[i]); t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- ") {
			kept = append(kept, strings.TrimPrefix(output[i], "    "))
		}
	}
	if i == len(output) {
		return kept
	}
	kept = append(kept, "panic: "+panicMessage(output[i:]))
	for i++; i+1 < len(output) && len(kept) < maxDetail; i++ {
		fn, file := output[i], output[i+1]
		if !strings.HasPrefix(file, "\t") || strings.HasPrefix(fn, "\t") {
			continue
		}
		i++
		if strings.HasPrefix(fn, "testing.") || strings.HasPrefix(fn, "runtime.") ||
			strings.HasPrefix(fn, "panic(") || strings.HasPrefix(fn, "created by ") {
			continue
		}
		file, _, _ = strings.Cut(strings.TrimSpace(file), " +0x")
		if rel, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = filepath.ToSlash(rel)
		}
		if i := strings.LastIndex(fn, "("); i > 0 {
			fn = fn[:i] // the arguments are addresses: noise
		}
		kept = append(kept, "  "+fn[strings.LastIndex(fn, "/")+1:]+" at "+file)
	}
	return kept
}

// firstMessage is the first line of a failure's detail that says something,
// not a subtest's header, trimmed.
func firstMessage(detail []string) string {
	for _, l := range detail {
		l = strings.TrimSpace(l)
		if l != "" && !(strings.HasSuffix(l, ":") && !strings.Contains(l, " ")) {
			return l
		}
	}
	return ""
}
