package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Mistake is a wrong implementation that a student really wrote, kept as
// an edit of the solution, so that verify can prove the tests catch it: a
// test suite that a wrong implementation passes grades it as right.
//
// Mistakes live in the solution, one file each, as
// solutions/LESSON/mistakes/NAME.txt (so a handout without solutions/
// gives none of them away). A file is a few "key: value" lines, then one
// or more edits of a file of the solution, written as a merge conflict:
//
//	exercise: 1.1
//	mistake: Since reads the log without taking its lock
//	race: yes
//	file: log.go
//	<<<<<<< solution
//		l.mu.Lock()
//		defer l.mu.Unlock()
//		return l.sinceLocked(cursor, limit), nil
//	=======
//		return l.sinceLocked(cursor, limit), nil
//	>>>>>>> mistake
//
// The solution's side must occur exactly once in the file, so an edit that
// no longer applies is reported rather than skipped. "race: yes" says the
// mistake is a data race that only the race detector sees: verify then
// runs the exercise's tests under -race, as grade does where the machine
// has the race detector. Without it the tests must catch the mistake in a
// plain run, as check runs them.
type Mistake struct {
	Name     string // the file's name without .txt
	Exercise string // the exercise whose tests must catch it
	What     string // what the student did
	Race     bool   // only the race detector sees it
	Edits    []Edit
}

// An Edit replaces From with To in File, a path relative to the solution.
type Edit struct {
	File, From, To string
}

// loadMistakes reads the mistakes kept for the lesson's solution; a lesson
// without any has none.
func (w *Workbook) loadMistakes(l catalog.Lesson) ([]Mistake, error) {
	dir := w.path(l.SolutionDir() + "/mistakes")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ms []Mistake
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		m, err := parseMistake(strings.TrimSuffix(e.Name(), ".txt"), string(data))
		if err != nil {
			return nil, fmt.Errorf("%s/mistakes/%s: %w", l.SolutionDir(), e.Name(), err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// parseMistake reads a mistake file; see Mistake for its format.
func parseMistake(name, text string) (Mistake, error) {
	m := Mistake{Name: name}
	keys, edits, err := parseEdits(text, "exercise", "mistake", "race")
	if err != nil {
		return m, err
	}
	m.Exercise, m.What, m.Race, m.Edits = keys["exercise"], keys["mistake"], keys["race"] == "yes", edits
	switch {
	case m.Exercise == "" || m.What == "":
		return m, fmt.Errorf("the \"exercise:\" and \"mistake:\" lines are required")
	case len(m.Edits) == 0:
		return m, fmt.Errorf("no edit: a mistake changes the solution")
	}
	return m, nil
}

// parseEdits reads the format mistakes and samples share: "key: value"
// lines (only the keys given, and "file"), comments starting with #, and
// edits written as merge conflicts, each of the file named by the "file:"
// line before it.
func parseEdits(text string, keys ...string) (map[string]string, []Edit, error) {
	const (
		header = iota
		from
		to
	)
	values := map[string]string{}
	var edits []Edit
	state, file := header, ""
	var side []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case state == header && strings.HasPrefix(line, "<<<<<<<"):
			if file == "" {
				return nil, nil, fmt.Errorf("line %d: an edit before any \"file:\" line", n)
			}
			state, side = from, nil
		case state == header:
			key, value, ok := strings.Cut(line, ":")
			value = strings.TrimSpace(value)
			switch {
			case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
			case !ok:
				return nil, nil, fmt.Errorf("line %d: want \"key: value\", got %q", n, line)
			case key == "file":
				file = value
			case slices.Contains(keys, key):
				values[key] = value
			default:
				return nil, nil, fmt.Errorf("line %d: unknown key %q", n, key)
			}
		case state == from && line == "=======":
			edits = append(edits, Edit{File: file, From: joinLines(side)})
			state, side = to, nil
		case state == to && strings.HasPrefix(line, ">>>>>>>"):
			edits[len(edits)-1].To = joinLines(side)
			state = header
		default:
			side = append(side, line)
		}
	}
	if state != header {
		return nil, nil, fmt.Errorf("an edit is not closed with \">>>>>>>\"")
	}
	return values, edits, nil
}

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

// VerifyMistakes makes only the mistakes check of Verify, for every lesson
// or for one ("1", "01", "01-polling"): what a maintainer runs after
// writing a new mistake file or changing a test.
func (w *Workbook) VerifyMistakes(ctx context.Context, lesson string) (bool, error) {
	lessons := []catalog.Lesson(w.Book)
	if lesson != "" {
		l, ok := w.Book.Lesson(lesson)
		if !ok {
			return false, fmt.Errorf("no lesson %q", lesson)
		}
		lessons = []catalog.Lesson{l}
	}
	c := &checklist{w: w}
	for _, l := range lessons {
		c.section(l.Dir + ": kept mistakes")
		if err := w.verifyMistakes(ctx, c, l); err != nil {
			return false, err
		}
	}
	return c.verdict("every kept mistake is caught"), nil
}

// verifyMistakes proves that each kept mistake of the lesson is caught: the
// solution with the mistake's edits laid over it (go test -overlay, so
// nothing on disk changes) fails at least one test of the exercise.
func (w *Workbook) verifyMistakes(ctx context.Context, c *checklist, l catalog.Lesson) error {
	mistakes, err := w.loadMistakes(l)
	if err != nil {
		c.gap([]string{err.Error()}, "the mistakes kept for %s do not read", l.SolutionDir())
		return nil
	}
	if len(mistakes) == 0 {
		return nil
	}
	tests, err := ParseTests(w.Root, l.SolutionDir())
	if err != nil {
		c.gap([]string{err.Error()}, "the tests of %s do not parse", l.SolutionDir())
		return nil
	}
	module, err := w.modulePath()
	if err != nil {
		return err
	}
	scratch, err := os.MkdirTemp("", "workbook-mistake-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)

	for i, m := range mistakes {
		label := fmt.Sprintf("%s %s (%s)", m.Exercise, m.What, m.Name)
		own := testsOf(tests, m.Exercise)
		if len(own) == 0 {
			c.gap(nil, "%s: exercise %s has no tests in %s", label, m.Exercise, l.SolutionDir())
			continue
		}
		overlay, err := w.mistakeOverlay(l, m, filepath.Join(scratch, fmt.Sprint(i)))
		if err != nil {
			c.gap([]string{err.Error()}, "%s: the mistake no longer applies to the solution", label)
			continue
		}
		args := []string{"-count=1", "-overlay", overlay}
		how := "in a plain run"
		if m.Race {
			args, how = append(args, "-race"), "under -race"
		}
		args = append(append(args, "-run", runPattern(own)), packagePatterns(own)...)
		run, err := w.goTest(ctx, w.Root, []string{exercise.StrictEnv + "=1"}, args...)
		if err != nil {
			return err
		}
		if build := buildErrors(run, module, packagePatterns(own)); build != nil {
			c.gap(build, "%s: the solution with this mistake does not compile", label)
			continue
		}
		var caught []string
		for _, t := range own {
			if r := run.Package(importPath(module, t.Package)).Test(t.Name); r.Outcome == Failed {
				caught = append(caught, t.Name)
			}
		}
		if len(caught) == 0 {
			c.gap([]string{"every test of " + m.Exercise + " passes with it " + how + ": the tests grade this mistake as right"},
				"%s: not caught", label)
			continue
		}
		slices.Sort(caught)
		c.ok("%s: caught %s by %s", label, how, strings.Join(caught, ", "))
	}
	return nil
}

// mistakeOverlay writes the files the mistake changes, edited, under dir,
// and the go build -overlay file that lays them over the solution; it
// returns the overlay file's path.
func (w *Workbook) mistakeOverlay(l catalog.Lesson, m Mistake, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	edited, err := applyEdits(w.path(l.SolutionDir()), m.Edits)
	if err != nil {
		return "", err
	}
	replace := map[string]string{}
	for _, path := range slices.Sorted(maps.Keys(edited)) {
		out := filepath.Join(dir, fmt.Sprintf("%d-%s", len(replace), filepath.Base(path)))
		if err := os.WriteFile(out, []byte(edited[path]), 0o644); err != nil {
			return "", err
		}
		replace[path] = out
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, data, 0o644)
}

// applyEdits returns the text of each file the edits change, edited, by
// absolute path; the files are named relative to dir. Each edit's From must
// occur exactly once in its file.
func applyEdits(dir string, edits []Edit) (map[string]string, error) {
	edited := map[string]string{}
	for _, e := range edits {
		path, err := filepath.Abs(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil {
			return nil, err
		}
		text, ok := edited[path]
		if !ok {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			text = string(data)
		}
		if n := strings.Count(text, e.From); n != 1 {
			return nil, fmt.Errorf("%s: the original side of an edit occurs %d times in the file, want exactly once", e.File, n)
		}
		edited[path] = strings.Replace(text, e.From, e.To, 1)
	}
	return edited, nil
}
