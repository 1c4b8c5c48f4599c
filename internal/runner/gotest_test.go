package runner

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A stream as go 1.24+ writes it: a package that does not build, and one
// whose second test panics, so its third never reports.
const stream = `{"ImportPath":"m/b [m/b.test]","Action":"build-output","Output":"# m/b [m/b.test]\n"}
{"ImportPath":"m/b [m/b.test]","Action":"build-output","Output":"b/b.go:7:9: undefined: x\n"}
{"ImportPath":"m/b [m/b.test]","Action":"build-fail"}
{"Action":"start","Package":"m/a"}
{"Action":"start","Package":"m/b"}
{"Action":"output","Package":"m/b","Output":"FAIL\tm/b [build failed]\n"}
{"Action":"fail","Package":"m/b","Elapsed":0,"FailedBuild":"m/b [m/b.test]"}
{"Action":"run","Package":"m/a","Test":"TestOne"}
{"Action":"output","Package":"m/a","Test":"TestOne","Output":"=== RUN   TestOne\n"}
{"Action":"run","Package":"m/a","Test":"TestOne/sub"}
{"Action":"output","Package":"m/a","Test":"TestOne/sub","Output":"    a_test.go:9: wrong\n"}
{"Action":"fail","Package":"m/a","Test":"TestOne/sub"}
{"Action":"pass","Package":"m/a","Test":"TestOne"}
{"Action":"run","Package":"m/a","Test":"TestTwo"}
{"Action":"output","Package":"m/a","Test":"TestTwo","Output":"panic: boom [recovered]\n"}
{"Action":"fail","Package":"m/a","Test":"TestTwo"}
{"Action":"fail","Package":"m/a","Elapsed":0.01}
`

func TestParseEvents(t *testing.T) {
	run, err := parseEvents(strings.NewReader(stream))
	require.NoError(t, err)

	b := run.Package("m/b")
	assert.True(t, b.BuildFailed)
	assert.Equal(t, []string{"b/b.go:7:9: undefined: x"}, b.BuildOutput)

	a := run.Package("m/a")
	assert.False(t, a.BuildFailed)
	assert.Equal(t, Failed, a.Outcome)
	assert.Equal(t, Passed, a.Test("TestOne").Outcome, "a subtest's outcome is not its parent's")
	assert.Contains(t, a.Test("TestOne").Output, "    a_test.go:9: wrong", "a subtest's output is its parent's")
	assert.Equal(t, Failed, a.Test("TestTwo").Outcome)
	assert.Equal(t, "boom", panicMessage(a.Test("TestTwo").Output))
	assert.Equal(t, NotRun, a.Test("TestThree").Outcome)
	assert.Equal(t, NotRun, run.Package("m/c").Test("TestX").Outcome)
}

func TestMeaningfulDropsTheNoise(t *testing.T) {
	out := []string{
		"=== RUN   TestMul",
		"=== RUN   TestMul/small",
		"    alpha_test.go:32: want 6",
		"--- FAIL: TestMul/small (0.00s)",
		"=== RUN   TestMul/ok",
		"--- PASS: TestMul/ok (0.00s)",
		"--- FAIL: TestMul (0.00s)",
	}
	assert.Equal(t, []string{"TestMul/small:", "  alpha_test.go:32: want 6"}, meaningful("/root", "TestMul", out))
	assert.Equal(t, "alpha_test.go:32: want 6", firstMessage(meaningful("/root", "TestMul", out)))
}

func TestPanicDetailKeepsTheCodeUnderTest(t *testing.T) {
	out := []string{
		"=== RUN   TestIndex",
		"--- FAIL: TestIndex (0.00s)",
		"panic: runtime error: index out of range [5] with length 1 [recovered, repanicked]",
		"",
		"goroutine 22 [running]:",
		"testing.tRunner.func1.2({0x641e20, 0x3e499d6d8138})",
		"\t/usr/local/go/src/testing/testing.go:1974 +0x232",
		"panic({0x641e20?, 0x3e499d6d8138?})",
		"\t/usr/local/go/src/runtime/panic.go:860 +0x13a",
		"example.com/m/01-alpha.Index(...)",
		"\t/root/01-alpha/alpha.go:19",
		"example.com/m/01-alpha.TestIndex(0x3e499d6a06c8?)",
		"\t/root/01-alpha/alpha_test.go:23 +0x2f",
		"created by testing.(*T).Run in goroutine 1",
		"\t/usr/local/go/src/testing/testing.go:2101 +0x4c5",
	}
	assert.Equal(t, []string{
		"panic: runtime error: index out of range [5] with length 1",
		"  01-alpha.Index at 01-alpha/alpha.go:19",
		"  01-alpha.TestIndex at 01-alpha/alpha_test.go:23",
	}, meaningful("/root", "TestIndex", out))
}

func TestMeaningfulFoldsTestifyReports(t *testing.T) {
	out := []string{
		"=== RUN   TestPost",
		"    server_test.go:28: ",
		"        \tError Trace:\t/work/main/01-polling/helpers_test.go:267",
		"        \t            \t\t\t\t/work/main/01-polling/server_test.go:28",
		"        \tError:      \tNot equal: ",
		"        \t            \texpected: 201",
		"        \t            \tactual  : 501",
		"        \tTest:       \tTestPost",
		"        \tMessages:   \twant 201 Created; got 501",
		"    server_test.go:40: plain t.Errorf",
		"--- FAIL: TestPost (0.00s)",
	}
	assert.Equal(t, []string{
		"server_test.go:28: want 201 Created; got 501",
		"    Not equal:",
		"    expected: 201",
		"    actual  : 501",
		"server_test.go:40: plain t.Errorf",
	}, meaningful("/root", "TestPost", out))
}

// A failed Equal of two long values used to be cut after ten lines, often
// inside the expected value, so the learner never saw what they returned.
// Both sides must show, shortened, and the diff only where it differs.
func TestMeaningfulKeepsBothSidesOfALongDiff(t *testing.T) {
	long := func(first string) string {
		return "[]polling.Message{polling.Message{ID:" + first + ", Author:\"tester\", Text:\"message\", At:time.Date(2026, time.December, 7, 0, 0, 0, 0, time.UTC)}" +
			strings.Repeat(", polling.Message{ID:9, Author:\"tester\", Text:\"message\"}", 20) + "}"
	}
	out := []string{
		"=== RUN   TestSince",
		"    log_test.go:50: ",
		"        \tError Trace:\t/work/main/01-polling/log_test.go:50",
		"        \tError:      \tNot equal: ",
		"        \t            \texpected: " + long("2"),
		"        \t            \tactual  : " + long("1"),
		"        \t            \t",
		"        \t            \tDiff:",
		"        \t            \t--- Expected",
		"        \t            \t+++ Actual",
		"        \t            \t@@ -1,12 +1,12 @@",
	}
	for i := 0; i < 12; i++ {
		out = append(out, "        \t            \t  (polling.Message) {")
	}
	out = append(out,
		"        \t            \t-  ID: (int64) 2,",
		"        \t            \t+  ID: (int64) 1,",
		"        \t            \t   Author: (string) \"tester\",",
		"        \tTest:       \tTestSince",
		"        \tMessages:   \tSince(1) must start after the cursor",
		"--- FAIL: TestSince (0.00s)",
	)
	got := meaningful("/root", "TestSince", out)
	require.LessOrEqual(t, len(got), maxDetail)
	joined := strings.Join(got, "\n")
	assert.Contains(t, joined, "log_test.go:50: Since(1) must start after the cursor")
	assert.Contains(t, joined, "expected: []polling.Message{polling.Message{ID:2")
	assert.Contains(t, joined, "actual  : []polling.Message{polling.Message{ID:1")
	assert.Contains(t, joined, "-  ID: (int64) 2,")
	assert.Contains(t, joined, "+  ID: (int64) 1,")
	for _, l := range got {
		assert.LessOrEqual(t, len([]rune(strings.TrimSpace(l))), maxValue+3, "a line the runner shows must be shortened: %q", l)
	}
}
