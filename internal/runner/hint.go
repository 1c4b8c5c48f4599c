package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// Hint prints the hints of an exercise, one more each time it is called:
// the first call shows hint 1, the next hints 1 and 2, and so on; all shows
// every hint at once. How many hints a learner has seen is kept in
// .workbook/hints.json under the root.
//
// Hints live in the lesson's hints file (catalog.Lesson.HintsPath), not in
// the lesson text, so that reading the chapter does not put every hint in
// front of the learner. The file has a section per exercise, headed as in
// the text ("## Exercise 1.1: Title"), holding the hints in order as
//
//	<details><summary>Hint 1</summary>
//
//	markdown...
//
//	</details>
//
// so that even a reader who opens the file on GitHub sees them folded. The
// hints climb from the idea to the approach; the last still leaves the code
// to the learner.
func (w *Workbook) Hint(id string, all bool) error {
	l, e, ok := w.Book.Find(id)
	if !ok {
		return w.unknownTarget(id, "an exercise (hint takes an exercise ID like 1.1)")
	}
	hints, err := w.hints(l, e)
	if err != nil {
		return err
	}
	s := w.style()
	if len(hints) == 0 {
		w.printf("Exercise %s (%s) has no hints. Its section is %s.\n", e.ID, e.Title, l.Section(e))
		return nil
	}
	progress, err := w.loadHintProgress()
	if err != nil {
		return err
	}
	n := min(progress[id]+1, len(hints))
	if all {
		n = len(hints)
	}
	for i, h := range hints[:n] {
		w.printf("%s\n\n%s\n\n", s.bold(fmt.Sprintf("Hint %d of %d for %s %s", i+1, len(hints), e.ID, e.Title)),
			strings.TrimRight(indent("  ", strings.Split(h, "\n")), "\n"))
	}
	if n == len(hints) {
		w.printf("That was the last hint. The whole story is in %s.\n", l.Section(e))
	} else {
		w.printf("Stuck still? `go run ./cmd/workbook hint %s` shows hint %d of %d.\n", e.ID, n+1, len(hints))
	}
	if n > progress[id] {
		progress[id] = n
		return w.saveHintProgress(progress)
	}
	return nil
}

// hints reads the hints of an exercise from its lesson's hints file.
func (w *Workbook) hints(l catalog.Lesson, e catalog.Exercise) ([]string, error) {
	text, err := os.ReadFile(w.path(l.HintsPath()))
	if err != nil {
		return nil, fmt.Errorf("reading the hints: %w", err)
	}
	section, ok := Section(string(text), e.Heading())
	if !ok {
		return nil, fmt.Errorf("%s has no heading %q; `go run ./cmd/workbook verify` checks the texts", l.HintsPath(), "## "+e.Heading())
	}
	return Hints(section), nil
}

// Section returns the body of the level-two section whose heading is
// "## "+heading: the lines after the heading, up to the next line that starts
// with "## " outside a fenced code block.
func Section(text, heading string) (string, bool) {
	var body []string
	in, fenced := false, false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "## ") {
			if in {
				break
			}
			in = strings.TrimRight(line, " \t\r") == "## "+heading
			continue
		}
		if in {
			body = append(body, line)
		}
	}
	return strings.Join(body, "\n"), in
}

// Headings lists the level-two headings of a text that are exercise
// headings, "## Exercise 1.2: Title", without the "## ".
func Headings(text string) []string {
	var hs []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if h, ok := strings.CutPrefix(strings.TrimRight(line, " \t\r"), "## "); ok && !fenced && exerciseHeading.MatchString(h) {
			hs = append(hs, h)
		}
	}
	return hs
}

// exerciseHeading matches a heading that claims to be an exercise's.
var exerciseHeading = regexp.MustCompile(`^Exercise\s+\d+\.\d+\b`)

// hintBlock matches <details><summary>Hint N</summary> ... </details>.
var hintBlock = regexp.MustCompile(`(?s)<details>\s*<summary>\s*Hint\b[^<]*</summary>(.*?)</details>`)

// Hints returns the inner markdown of the hint blocks of a section, trimmed,
// in order.
func Hints(section string) []string {
	var hs []string
	for _, m := range hintBlock.FindAllStringSubmatch(section, -1) {
		hs = append(hs, strings.TrimSpace(m[1]))
	}
	return hs
}

// hintsFile is where hint progress is kept, relative to the root. The
// directory is gitignored.
const hintsFile = ".workbook/hints.json"

// loadHintProgress reads how many hints of each exercise were shown.
func (w *Workbook) loadHintProgress() (map[string]int, error) {
	progress := map[string]int{}
	data, err := os.ReadFile(w.path(hintsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return progress, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &progress); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); delete it to start the hints over", hintsFile, err)
	}
	return progress, nil
}

// saveHintProgress writes the hint progress.
func (w *Workbook) saveHintProgress(progress map[string]int) error {
	data, err := json.MarshalIndent(progress, "", "  ")
	if err != nil {
		return err
	}
	path := w.path(hintsFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
