package runner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// A Workbook is everything the commands need to know about one checkout.
type Workbook struct {
	// Root is the module root, the directory holding go.mod. Lesson
	// directories, solutions/ and lessons/ are found relative to it, and
	// every path the runner prints is relative to it.
	Root string

	// Book lists the lessons and exercises: catalog.Workbook, or a fixture.
	Book catalog.Book

	// Canon holds the canonical test files the grader runs, laid out as
	// <lesson.Dir>/<name>_test.go (plus any testdata/ under a lesson).
	Canon fs.FS

	// CanonDir is where Canon's files live in the source tree, relative to
	// Root ("internal/canon/testdata"). It is used only to print the command
	// that fixes a canonical copy that fell out of date.
	CanonDir string

	// NotHandedOut are the catalogue's lessons that this checkout leaves out
	// (a handout, see HandedOut). The learner's commands list them apart,
	// with their points, and do not count them in the totals.
	NotHandedOut catalog.Book

	// Out receives everything the commands print.
	Out io.Writer

	// Color turns on ANSI colors. The command sets it when stdout is a
	// terminal and NO_COLOR is not set.
	Color bool

	// Env is the environment of every go command the runner starts; nil
	// means the runner's own environment.
	Env []string
}

// HandedOut returns the lessons of b whose directories exist under root. A
// handout may leave out the lessons that are not yet due (docs/instructors.md);
// the learner's commands then work on the lessons that are there. verify
// does not use it: a maintainer's checkout has every lesson.
func HandedOut(root string, b catalog.Book) (here, left catalog.Book) {
	for _, l := range b {
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(l.Dir))); err == nil && fi.IsDir() {
			here = append(here, l)
		} else {
			left = append(left, l)
		}
	}
	return here, left
}

// ModulePath is the module the workbook's go.mod declares.
const ModulePath = "github.com/websocket-workbook/workbook"

// FindRoot walks up from dir to the first directory whose go.mod declares
// module; an empty module accepts any go.mod.
func FindRoot(dir, module string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if path, err := readModulePath(d); err == nil && (module == "" || path == module) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if module == "" {
		return "", fmt.Errorf("no go.mod in %s or any directory above it", dir)
	}
	return "", fmt.Errorf("%s is not inside the workbook: no go.mod declaring module %s in it or above it; "+
		"cd into your clone of the workbook and try again", dir, module)
}

// readModulePath returns the module path declared by dir/go.mod.
func readModulePath(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && rest != line && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New(filepath.Join(dir, "go.mod") + ": no module line")
}

// modulePath is the module path of the workbook's root.
func (w *Workbook) modulePath() (string, error) {
	p, err := readModulePath(w.Root)
	if err != nil {
		return "", fmt.Errorf("reading the module path: %w", err)
	}
	return p, nil
}

// path turns a root-relative, slash-separated path into a file path.
func (w *Workbook) path(rel string) string {
	return filepath.Join(w.Root, filepath.FromSlash(rel))
}

func (w *Workbook) printf(format string, args ...any) {
	fmt.Fprintf(w.Out, format, args...)
}

func (w *Workbook) style() style { return style{color: w.Color} }

// target names what a command works on: lessons, and optionally one exercise
// of the first.
type target struct {
	lessons  []catalog.Lesson
	exercise *catalog.Exercise // nil for whole lessons
}

// resolve reads a command's argument: "" for the whole book, a lesson ("1",
// "01", "01-polling") or an exercise ("1.3").
func (w *Workbook) resolve(arg string) (target, error) {
	if arg == "" {
		return target{lessons: w.Book}, nil
	}
	if l, ok := w.Book.Lesson(arg); ok {
		return target{lessons: []catalog.Lesson{l}}, nil
	}
	if l, e, ok := w.Book.Find(arg); ok {
		return target{lessons: []catalog.Lesson{l}, exercise: &e}, nil
	}
	return target{}, w.unknownTarget(arg, "a lesson (like 1, 01 or "+w.exampleDir()+") or an exercise (like 1.1)")
}

// unknownTarget is the error for an argument that names nothing: it lists
// what the argument could have named, so the next try can be right. An
// exercise ID of a known lesson ("1.9") lists that lesson's exercises;
// anything else lists the lessons.
func (w *Workbook) unknownTarget(arg, want string) error {
	var b strings.Builder
	if lesson, _, _ := strings.Cut(arg, "."); lesson != "" {
		if l, ok := w.Book.Lesson(lesson); ok {
			fmt.Fprintf(&b, "%q is not an exercise; lesson %s has:", arg, l.Dir)
			for _, e := range l.Exercises {
				fmt.Fprintf(&b, "\n  %-5s %s", e.ID, e.Title)
			}
			return errors.New(b.String())
		}
	}
	fmt.Fprintf(&b, "%q is not %s; the lessons are:", arg, want)
	width := 0
	for _, l := range w.Book {
		width = max(width, len(l.Dir))
	}
	for _, l := range w.Book {
		fmt.Fprintf(&b, "\n  %-3d %-*s", l.Number, width, l.Dir)
		if n := len(l.Exercises); n > 0 {
			fmt.Fprintf(&b, "  (exercises %s to %s)", l.Exercises[0].ID, l.Exercises[n-1].ID)
		}
	}
	return errors.New(b.String())
}

func (w *Workbook) exampleDir() string {
	if len(w.Book) > 0 {
		return w.Book[0].Dir
	}
	return "01-polling"
}
