package runner

import (
	"fmt"
	"strings"
)

// style draws the runner's output: plain text, or with ANSI colors when the
// output is a terminal. Plain output has the same characters as colored
// output, so a log or a test reads exactly what a learner sees.
type style struct{ color bool }

const (
	ansiReset = "\033[0m"
	ansiBold  = "\033[1m"
	ansiDim   = "\033[2m"
	ansiRed   = "\033[31m"
	ansiGreen = "\033[32m"
	ansiCyan  = "\033[36m"
)

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return code + text + ansiReset
}

func (s style) bold(t string) string  { return s.paint(ansiBold, t) }
func (s style) dim(t string) string   { return s.paint(ansiDim, t) }
func (s style) red(t string) string   { return s.paint(ansiRed, t) }
func (s style) green(t string) string { return s.paint(ansiGreen, t) }
func (s style) cyan(t string) string  { return s.paint(ansiCyan, t) }

// Marks in front of a line: passed, failed, not started.
const (
	markPass = "✓"
	markFail = "✗"
	markTodo = "·"
)

func (s style) pass() string { return s.green(markPass) }
func (s style) fail() string { return s.red(markFail) }
func (s style) todo() string { return s.dim(markTodo) }

// mark is the mark of an exercise state.
func (s style) mark(st State) string {
	switch st {
	case Done:
		return s.pass()
	case Failing:
		return s.fail()
	}
	return s.todo()
}

// barWidth is the number of cells in a progress bar.
const barWidth = 20

// bar draws a progress bar of done out of total, with the percentage:
// "[██████░░░░░░░░░░░░░░]  30%".
func (s style) bar(done, total int) string {
	filled := 0
	percent := 0
	if total > 0 {
		filled = done * barWidth / total
		percent = done * 100 / total
	}
	return fmt.Sprintf("[%s%s] %3d%%",
		s.green(strings.Repeat("█", filled)), s.dim(strings.Repeat("░", barWidth-filled)), percent)
}

// indent prefixes every line with prefix.
func indent(prefix string, ls []string) string {
	var b strings.Builder
	for _, l := range ls {
		if l != "" {
			b.WriteString(prefix)
			b.WriteString(l)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// plural is "1 test" or "3 tests".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// pad right-pads s to width runes (a no-op when it is already wider).
func pad(s string, width int) string {
	n := len([]rune(s))
	if n >= width {
		return s
	}
	return s + strings.Repeat(" ", width-n)
}
