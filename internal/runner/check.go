package runner

import (
	"context"
	"fmt"
)

// Check runs the tests of the book, of a lesson ("1", "01", "01-polling") or
// of one exercise ("1.3") afresh, not strict, and reports them grouped by
// exercise: what passed, the first failure of what did not, and what is not
// started. It returns false when anything failed.
func (w *Workbook) Check(ctx context.Context, arg string) (bool, error) {
	tg, err := w.resolve(arg)
	if err != nil {
		return false, err
	}
	reports, err := w.assess(ctx, tg.lessons, assessOptions{fresh: true, unstarted: true, only: tg.exercise})
	if err != nil {
		return false, err
	}
	w.printCheck(reports)
	return count(reports, Failing) == 0, nil
}

// printCheck writes the report of a check.
func (w *Workbook) printCheck(reports []*LessonReport) {
	s := w.style()
	for _, lr := range reports {
		w.printf("%s\n", s.bold(lr.Lesson.Dir+": "+lr.Lesson.Title))
		if lr.BuildError != nil {
			w.printf("  %s lesson %s does not compile:\n%s", s.fail(), lr.Lesson.Dir, indent("      ", lr.BuildError))
		}
		for _, e := range lr.Exercises {
			w.printExercise(e, lr.BuildError != nil)
		}
	}
	done, failing, todo := count(reports, Done), count(reports, Failing), count(reports, NotStarted)
	total := done + failing + todo
	switch {
	case total > 0 && done == total:
		w.printf("\n%s\n", s.green(fmt.Sprintf("All %s pass.", plural(total, "exercise"))))
	default:
		w.printf("\n%d done, %d failing, %d not started.\n", done, failing, todo)
	}
}

// printExercise writes one exercise's line of a check, and its first
// failure.
func (w *Workbook) printExercise(e *ExerciseReport, lessonBroken bool) {
	s := w.style()
	name := e.Exercise.ID + " " + e.Exercise.Title
	switch e.State {
	case Done:
		w.printf("  %s %s %s\n", s.pass(), name, s.dim("("+plural(len(e.Tests), "test")+")"))
	case NotStarted:
		w.printf("  %s %s: not started, marker at %s\n", s.todo(), name, markerPos(e))
	case Failing:
		if lessonBroken || e.Culprit == nil {
			w.printf("  %s %s: %s\n", s.fail(), name, e.Reason)
			return
		}
		w.printf("  %s %s\n", s.fail(), name)
		w.printf("      %s %s\n", s.red(e.Reason), s.dim("("+e.Culprit.Pos()+")"))
		w.printf("%s", indent("        ", e.Detail))
		w.printf("      %s %s\n", s.dim("read"), e.Lesson.Section(e.Exercise))
	}
}

// markerPos is where the exercise's first marker is: "01-polling/log.go:57".
func markerPos(e *ExerciseReport) string {
	if len(e.Markers) == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d", e.Markers[0].File, e.Markers[0].Line)
}

// count is the number of exercises in the given state.
func count(reports []*LessonReport, st State) int {
	n := 0
	for _, lr := range reports {
		for _, e := range lr.Exercises {
			if e.State == st {
				n++
			}
		}
	}
	return n
}
