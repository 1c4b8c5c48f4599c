// Package catalog is the single list of the workbook's lessons and exercises.
//
// Everything else is checked against it: the runner (cmd/workbook) reads IDs,
// titles and points from here; `workbook verify` proves that every exercise
// listed here has a marker in its lesson's stubs, at least one test that names
// it, and a section in the lesson text, and that nothing outside this list
// claims to be an exercise.
//
// An exercise's section in the lesson text is a level-two heading built from
// the catalogue, "## Exercise 1.1: An append-only message log", so the title
// is written once, here, and the text must agree with it.
package catalog

import (
	"fmt"
	"strings"
	"unicode"
)

// A Lesson is one chapter of the book: a directory the learner works in, the
// same package complete under solutions/, and a text under lessons/.
type Lesson struct {
	Number    int        // 1 for "01-polling"
	Dir       string     // the learner's directory, relative to the module root: "01-polling"
	Title     string     // "HTTP polling"
	Exercises []Exercise // in the order the lesson text teaches them
}

// An Exercise is one graded step of a lesson.
type Exercise struct {
	ID     string // "L.N": lesson number, then exercise number, "1.3"
	Title  string // the heading of its section in the lesson text
	Points int    // what it earns when all of its tests pass
}

// SolutionDir is where the complete package of the lesson lives.
func (l Lesson) SolutionDir() string { return "solutions/" + l.Dir }

// TextPath is the lesson's chapter, relative to the module root.
func (l Lesson) TextPath() string { return "lessons/" + l.Dir + ".md" }

// HintsPath is the file of the lesson's hints, relative to the module root.
// They are kept out of the chapter so that reading it does not show them:
// the runner's hint command gives them one at a time.
func (l Lesson) HintsPath() string { return "lessons/hints/" + l.Dir + ".md" }

// Points is the sum of the points of the lesson's exercises.
func (l Lesson) Points() int {
	n := 0
	for _, e := range l.Exercises {
		n += e.Points
	}
	return n
}

// Heading is the exercise's section heading in the lesson text, without the
// leading "## ".
func (e Exercise) Heading() string { return "Exercise " + e.ID + ": " + e.Title }

// Anchor is the fragment a Markdown renderer such as GitHub's gives the
// exercise's heading, for links like lessons/01-polling.md#exercise-11-....
func (e Exercise) Anchor() string { return Slug(e.Heading()) }

// Slug turns a heading into the anchor GitHub generates for it: lower case,
// letters, digits, '-' and '_' kept, spaces turned into '-', the rest dropped.
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Section is a human-readable pointer to the exercise's section in the text:
// `lessons/01-polling.md#exercise-11-an-append-only-message-log`.
func (l Lesson) Section(e Exercise) string { return l.TextPath() + "#" + e.Anchor() }

// A Book is an ordered list of lessons. The runner's tests build small books
// of their own; the workbook's is Workbook.
type Book []Lesson

// Find returns the exercise with the given ID and the lesson that holds it.
func (b Book) Find(id string) (Lesson, Exercise, bool) {
	for _, l := range b {
		for _, e := range l.Exercises {
			if e.ID == id {
				return l, e, true
			}
		}
	}
	return Lesson{}, Exercise{}, false
}

// Lesson returns the lesson whose number, two-digit number or directory name
// is key: "1", "01" and "01-polling" all name lesson 1.
func (b Book) Lesson(key string) (Lesson, bool) {
	for _, l := range b {
		if key == l.Dir || key == fmt.Sprint(l.Number) || key == fmt.Sprintf("%02d", l.Number) {
			return l, true
		}
	}
	return Lesson{}, false
}

// Points is the sum of the points of every exercise in the book.
func (b Book) Points() int {
	n := 0
	for _, l := range b {
		n += l.Points()
	}
	return n
}

// Check reports inconsistencies inside the catalogue itself: duplicate or
// malformed IDs, IDs that do not belong to their lesson, missing titles,
// exercises worth no points.
func (b Book) Check() []error {
	var errs []error
	seen := map[string]bool{}
	for _, l := range b {
		if l.Dir == "" || l.Title == "" {
			errs = append(errs, fmt.Errorf("lesson %d: needs a directory and a title", l.Number))
		}
		if len(l.Exercises) == 0 {
			errs = append(errs, fmt.Errorf("lesson %s: has no exercises", l.Dir))
		}
		for _, e := range l.Exercises {
			var ln, en int
			if _, err := fmt.Sscanf(e.ID, "%d.%d", &ln, &en); err != nil || fmt.Sprintf("%d.%d", ln, en) != e.ID {
				errs = append(errs, fmt.Errorf("exercise %q: an ID is lesson.number, like 1.2", e.ID))
			} else if ln != l.Number {
				errs = append(errs, fmt.Errorf("exercise %s: listed under lesson %d", e.ID, l.Number))
			}
			if seen[e.ID] {
				errs = append(errs, fmt.Errorf("exercise %s: listed twice", e.ID))
			}
			seen[e.ID] = true
			if e.Title == "" || e.Points <= 0 {
				errs = append(errs, fmt.Errorf("exercise %s: needs a title and a positive number of points", e.ID))
			}
		}
	}
	return errs
}
