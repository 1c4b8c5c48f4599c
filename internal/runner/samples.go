package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// A lesson text shows what the runner prints at some moments ("the first
// test to fail is..."). Such a sample is not typed in by hand, or it drifts
// from the runner: it is generated, and verify checks it. In the text, an
// HTML comment names the sample just before its fenced block:
//
//	<!-- sample: first-failure -->
//	```text
//	01-polling: HTTP polling
//	  ✗ 1.1 An append-only message log
//	...
//	```
//
// and lessons/samples/NAME.txt says how to make it: the runner command, and
// the edits of the lesson (paths relative to the module root) that put the
// learner's code where the text says it is, in the format of a Mistake:
//
//	command: check 1.1
//	file: 01-polling/log.go
//	<<<<<<< stub
//		return Message{}, exercise.TODO("1.1")
//	=======
//		return Message{}, nil
//	>>>>>>> learner
//
// verify copies the module to a scratch directory, makes the edits there,
// runs the command without colors, and compares its output with the block.
// A sample that differs is a gap, reported with the output to paste.
type Sample struct {
	Name    string
	Command []string // the runner's arguments: "check", "1.1"
	Edits   []Edit
}

// sampleMarker finds the comments that name samples.
var sampleMarker = regexp.MustCompile(`<!--\s*sample:\s*([a-z0-9-]+)\s*-->`)

// samplePath is where a sample's recipe lives, relative to the root.
func samplePath(name string) string { return "lessons/samples/" + name + ".txt" }

// textSamples returns, for each sample named in text, the body of the fenced
// block that follows its comment, in order.
func textSamples(text string) (names []string, blocks []string, err error) {
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		m := sampleMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		j := i + 1
		if j >= len(lines) || !strings.HasPrefix(lines[j], "```") {
			return nil, nil, fmt.Errorf("the sample %q is not followed by a fenced block on the next line", m[1])
		}
		var body []string
		for j++; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			body = append(body, lines[j])
		}
		names, blocks = append(names, m[1]), append(blocks, strings.Join(body, "\n"))
		i = j
	}
	return names, blocks, nil
}

// loadSample reads a sample's recipe.
func (w *Workbook) loadSample(name string) (Sample, error) {
	data, err := os.ReadFile(w.path(samplePath(name)))
	if err != nil {
		return Sample{}, err
	}
	keys, edits, err := parseEdits(string(data), "command")
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", samplePath(name), err)
	}
	if keys["command"] == "" {
		return Sample{}, fmt.Errorf("%s: the \"command:\" line is required", samplePath(name))
	}
	return Sample{Name: name, Command: strings.Fields(keys["command"]), Edits: edits}, nil
}

// runSample makes the sample's output: the runner's command in a scratch
// copy of the module with the sample's edits made.
func (w *Workbook) runSample(ctx context.Context, s Sample) (string, error) {
	scratch, err := w.scratchCopy("workbook-sample-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	edited, err := applyEdits(scratch, s.Edits)
	if err != nil {
		return "", err
	}
	for path, text := range edited {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	var out bytes.Buffer
	learner := &Workbook{Root: scratch, Book: w.Book, Out: &out, Env: append(w.environ(), "GOWORK=off"), Canon: w.Canon, CanonDir: w.CanonDir}
	switch s.Command[0] {
	case "check":
		arg := ""
		if len(s.Command) > 1 {
			arg = s.Command[1]
		}
		if _, err := learner.Check(ctx, arg); err != nil {
			return "", err
		}
	case "status":
		if err := learner.Status(ctx, len(s.Command) > 1 && s.Command[1] == "--all"); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("a sample runs check or status, not %q", s.Command[0])
	}
	return out.String(), nil
}

// verifySamples checks every sample the lesson text shows against what the
// runner prints.
func (w *Workbook) verifySamples(ctx context.Context, c *checklist, l catalog.Lesson) error {
	data, err := os.ReadFile(w.path(l.TextPath()))
	if err != nil {
		return nil // reported with the text
	}
	names, blocks, err := textSamples(string(data))
	if err != nil {
		c.gap([]string{err.Error()}, "the samples of %s do not read", l.TextPath())
		return nil
	}
	for i, name := range names {
		s, err := w.loadSample(name)
		if err != nil {
			c.gap([]string{err.Error()}, "sample %s of %s has no recipe", name, l.TextPath())
			continue
		}
		got, err := w.runSample(ctx, s)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			c.gap([]string{err.Error()}, "sample %s of %s could not be made", name, l.TextPath())
			continue
		}
		if trimLines(got) != trimLines(blocks[i]) {
			c.gap(append([]string{"the runner prints, for `go run ./cmd/workbook " + strings.Join(s.Command, " ") + "`:"}, strings.Split(trimLines(got), "\n")...),
				"sample %s in %s differs from what the runner prints", name, l.TextPath())
			continue
		}
		c.ok("sample %s in %s is what `go run ./cmd/workbook %s` prints", name, l.TextPath(), strings.Join(s.Command, " "))
	}
	return nil
}

// trimLines drops trailing spaces on each line and blank lines at both ends.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}
