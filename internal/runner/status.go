package runner

import (
	"context"
	"fmt"
	"strings"
)

// Status shows where the learner stands: every lesson with its points and
// progress bar, the exercises of the lesson the learner is in (each done,
// failing or not started), then the next step. With all, it lists the
// exercises of every lesson. Only lessons with a started exercise run their
// tests, and go's test cache may answer, so a status is quick.
func (w *Workbook) Status(ctx context.Context, all bool) error {
	reports, err := w.assess(ctx, w.Book, assessOptions{})
	if err != nil {
		return err
	}
	w.printStatus(reports, all)
	return nil
}

// printStatus writes the progress table and the next step: the exercises
// of the current lesson (that of the next step) or, with all, of every
// lesson.
func (w *Workbook) printStatus(reports []*LessonReport, all bool) {
	s := w.style()
	next := firstNotDone(reports)
	folded := false
	width := 0
	for _, lr := range reports {
		width = max(width, len([]rune(lr.Lesson.Dir+"  "+lr.Lesson.Title)))
		for _, e := range lr.Exercises {
			width = max(width, 4+len([]rune(e.Exercise.ID+" "+e.Exercise.Title)))
		}
	}
	earned, exercises, done := 0, 0, 0
	for _, lr := range reports {
		head := lr.Lesson.Dir + "  " + lr.Lesson.Title
		w.printf("%s %s %s\n", s.bold(pad(head, width)), s.bar(lr.Points(), lr.Lesson.Points()),
			points(lr.Points(), lr.Lesson.Points()))
		open := all || (next != nil && next.Lesson.Dir == lr.Lesson.Dir)
		folded = folded || !open
		for _, e := range lr.Exercises {
			got := 0
			if e.State == Done {
				got = e.Exercise.Points
				done++
			}
			exercises++
			if !open {
				continue
			}
			// "  ✓ " is four cells wide; the title fills the rest of the column.
			w.printf("  %s %s %s %s\n", s.mark(e.State), pad(e.Exercise.ID+" "+e.Exercise.Title, width-4),
				pad(e.State.String(), barWidth+7), points(got, e.Exercise.Points))
		}
		earned += lr.Points()
	}
	total := 0
	for _, lr := range reports {
		total += lr.Lesson.Points()
	}
	w.printf("\n%s %s %s, %d of %d exercises done\n",
		s.bold(pad("Overall", width)), s.bar(earned, total), points(earned, total), done, exercises)
	w.printNotHandedOut()
	if folded {
		w.printf("%s\n", s.dim("(status --all lists the exercises of every lesson)"))
	}

	if next == nil {
		w.printf("\n%s\n", s.green(fmt.Sprintf("Every exercise is done: %d of %d points. Well done!", earned, total)))
		return
	}
	w.printNext(next, reports)
}

// printNext writes the "Next:" block for an exercise that is not done.
func (w *Workbook) printNext(e *ExerciseReport, reports []*LessonReport) {
	s := w.style()
	w.printf("\n%s %s %s", s.bold("Next:"), s.bold(e.Exercise.ID), e.Exercise.Title)
	if e.State == Failing {
		w.printf(" %s", s.red("(failing: "+e.Reason+")"))
	}
	w.printf("\n")
	if e.State == NotStarted {
		for i, m := range e.Markers {
			label := "start:"
			if i > 0 {
				label = "      "
			}
			w.printf("  %s remove the marker at %s:%d\n", s.dim(label), m.File, m.Line)
		}
	}
	w.printf("  %s  %s\n", s.dim("read:"), e.Lesson.Section(e.Exercise))
	w.printf("  %s   %s\n", s.dim("run:"), s.cyan("go run ./cmd/workbook check "+e.Exercise.ID))
	if len(e.Tests) > 0 {
		w.printf("  %s   %s\n", s.dim(" or:"), s.cyan(goTestCommand(e.Tests)))
	}
}

// goTestCommand is the go test command line that runs exactly these tests.
func goTestCommand(tests []TestFunc) string {
	return fmt.Sprintf("go test %s -run '%s'", strings.Join(packagePatterns(tests), " "), runPattern(tests))
}

// firstNotDone is the first exercise in book order that is not done.
func firstNotDone(reports []*LessonReport) *ExerciseReport {
	for _, lr := range reports {
		for _, e := range lr.Exercises {
			if e.State != Done {
				return e
			}
		}
	}
	return nil
}

// points is "10/20 pts".
func points(got, of int) string { return fmt.Sprintf("%3d/%d pts", got, of) }

// printNotHandedOut lists the lessons this checkout leaves out, so that a
// learner with a handout sees the whole book and knows why part of it is
// missing from the totals.
func (w *Workbook) printNotHandedOut() {
	if len(w.NotHandedOut) == 0 {
		return
	}
	pts, n := 0, 0
	for _, l := range w.NotHandedOut {
		pts += l.Points()
		n += len(l.Exercises)
	}
	w.printf("\nNot handed out yet (not in this checkout, not in the total: %d exercises, %d pts):\n", n, pts)
	for _, l := range w.NotHandedOut {
		w.printf("  %s  %s  (%d exercises, %d pts)\n", l.Dir, l.Title, len(l.Exercises), l.Points())
	}
}
