package runner

import (
	"regexp"
	"strings"
)

// The lines of a testify assertion report.
var (
	testifyLocation     = regexp.MustCompile(`^(\s*)(\S+\.go:\d+):\s*$`)
	testifyField        = regexp.MustCompile(`^\s*\t(Error Trace|Error|Test|Messages):\s*\t(.*)$`)
	testifyContinuation = regexp.MustCompile(`^\s*\t\s+\t(.*)$`)
)

// foldTestify rewrites the failure reports of testify's assertions into
// what a learner reads first. Testify reports a failure as a block:
//
//	log_test.go:34:
//	    	Error Trace:	/abs/path/log_test.go:34
//	    	Error:      	Received unexpected error:
//	    	            	exercise 1.1 ... is not done yet
//	    	Test:       	TestAppend
//	    	Messages:   	Append("ada", "message 1") refused a good message
//
// and foldTestify turns it into the test's own message at its location, then
// the assertion's error, leaving other lines alone:
//
//	log_test.go:34: Append("ada", "message 1") refused a good message
//	    Received unexpected error:
//	    exercise 1.1 ... is not done yet
func foldTestify(output []string) []string {
	var out []string
	for i := 0; i < len(output); i++ {
		loc := testifyLocation.FindStringSubmatch(output[i])
		if loc == nil || i+1 >= len(output) || !testifyField.MatchString(output[i+1]) {
			out = append(out, output[i])
			continue
		}
		fields := map[string][]string{}
		field := ""
		j := i + 1
		for ; j < len(output); j++ {
			if m := testifyField.FindStringSubmatch(output[j]); m != nil {
				field = m[1]
				fields[field] = append(fields[field], strings.TrimSpace(m[2]))
			} else if m := testifyContinuation.FindStringSubmatch(output[j]); m != nil && field != "" {
				fields[field] = append(fields[field], strings.TrimSpace(m[1]))
			} else {
				break
			}
		}
		indent, where := loc[1], loc[2]
		rest := fields["Error"]
		if msgs := fields["Messages"]; len(msgs) > 0 {
			out = append(out, indent+where+": "+msgs[0])
			rest = append(msgs[1:], rest...)
		} else if len(rest) > 0 {
			out = append(out, indent+where+": "+rest[0])
			rest = rest[1:]
		} else {
			out = append(out, output[i])
		}
		for _, l := range compactNotEqual(rest) {
			if l != "" {
				out = append(out, indent+"    "+l)
			}
		}
		i = j - 1
	}
	return out
}

// maxValue is how many characters of an expected or actual value, or of a
// line of a diff, the runner shows.
const maxValue = 160

// compactNotEqual shortens the report of a failed assert.Equal so that both
// sides always fit in what the runner shows: the expected and the actual
// value on one line each, cut in the middle when long, then the lines the
// diff says differ (not its headers or its context), at most three of each
// side. Other reports come back unchanged.
func compactNotEqual(lines []string) []string {
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "Not equal:") {
		return lines
	}
	out := []string{"Not equal:"}
	var removed, added []string
	inDiff := false
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "expected:"), strings.HasPrefix(l, "actual  :"), strings.HasPrefix(l, "actual:"):
			out = append(out, shorten(l, maxValue))
		case l == "Diff:":
			inDiff = true
		case !inDiff, strings.HasPrefix(l, "--- "), strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "@@"):
		case strings.HasPrefix(l, "-") && len(removed) < 3:
			removed = append(removed, shorten(l, maxValue))
		case strings.HasPrefix(l, "+") && len(added) < 3:
			added = append(added, shorten(l, maxValue))
		}
	}
	if len(removed)+len(added) > 0 {
		out = append(out, "differs (- expected, + actual):")
		out = append(out, removed...)
		out = append(out, added...)
	}
	return out
}

// shorten cuts s to about n characters, keeping its start and its end.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head, tail := n*2/3, n/3
	return string(r[:head]) + " … " + string(r[len(r)-tail:])
}
