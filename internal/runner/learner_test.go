package runner

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A fresh checkout: every exercise not started, nothing to run, and the next
// step is the first exercise's marker.
func TestStatusOfAFreshCheckout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.Status(context.Background(), false))
	out := f.output()

	assert.Contains(t, out, "· 1.1 Adding numbers      not started")
	assert.NotContains(t, out, "2.1 A greeting", "status lists the exercises of the current lesson only")
	assert.Contains(t, out, "02-beta  Beta")
	assert.Contains(t, out, "(status --all lists the exercises of every lesson)")
	assert.Contains(t, out, "0/105 pts, 0 of 5 exercises done")
	assert.Contains(t, out, "Next: 1.1 Adding numbers\n")
	assert.Contains(t, out, "start: remove the marker at 01-alpha/alpha.go:8")
	assert.Contains(t, out, "read:  lessons/01-alpha.md#exercise-11-adding-numbers")
	assert.Contains(t, out, "go run ./cmd/workbook check 1.1")
	assert.Contains(t, out, "go test ./01-alpha/ -run '^(TestAdd|TestAddNegative)$'")
	assert.NotContains(t, out, "\033[", "plain output has no colors")
}

// A learner's checkout (testdata/student): 1.1 done, 1.2 wrong, 1.3 not
// started, 1.4 panicking, lesson 2 not compiling. Status and check share one
// copy of it.
func TestStatusAndCheckOfALearnersWork(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "student")
	ctx := context.Background()

	t.Run("status", func(t *testing.T) {
		require.NoError(t, f.Status(ctx, true))
		out := f.output()
		for _, want := range []string{
			"✓ 1.1 Adding numbers      done                         10/10 pts",
			"✗ 1.2 Multiplying numbers failing                       0/20 pts",
			"· 1.3 Dividing numbers    not started                   0/30 pts",
			"✗ 1.4 Indexing a slice    failing                       0/40 pts",
			"✗ 2.1 A greeting          failing                       0/5 pts",
			"10/100 pts",
			"10/105 pts, 1 of 5 exercises done",
			"Next: 1.2 Multiplying numbers (failing: TestMul failed)",
			"read:  lessons/01-alpha.md#exercise-12-multiplying-numbers",
			"go run ./cmd/workbook check 1.2",
			"go test ./01-alpha/ -run '^(TestMul)$'",
		} {
			assert.Contains(t, out, want)
		}
		assert.NotContains(t, out, "start: remove the marker", "1.2 is started")
	})

	t.Run("check everything", func(t *testing.T) {
		ok, err := f.Check(ctx, "")
		require.NoError(t, err)
		assert.False(t, ok, "failures make check fail")
		out := f.output()

		// Grouped by exercise; TestAddNegative runs after the panic, in a
		// run of its own, so 1.1 is still done.
		assert.Contains(t, out, "✓ 1.1 Adding numbers (2 tests)\n")
		// The first failure, with its subtests' messages, without noise.
		assert.Contains(t, out, "✗ 1.2 Multiplying numbers\n      TestMul failed (01-alpha/alpha_test.go:28)\n"+
			"        TestMul/small:\n          alpha_test.go:32: Mul(2, 3) = 5, <nil>; want 6, nil\n")
		assert.Contains(t, out, "read lessons/01-alpha.md#exercise-12-multiplying-numbers")
		assert.NotContains(t, out, "=== RUN")
		assert.NotContains(t, out, "--- FAIL")
		assert.Contains(t, out, "· 1.3 Dividing numbers: not started, marker at 01-alpha/alpha.go:15\n")
		// The panic, attributed to its exercise, pointing at the code.
		assert.Contains(t, out, "✗ 1.4 Indexing a slice\n      TestIndex panicked: runtime error: index out of range [5] with length 1")
		assert.Contains(t, out, "01-alpha.Index at 01-alpha/alpha.go:19")
		// The compile error, attributed to its lesson.
		assert.Contains(t, out, "02-beta: Beta\n  ✗ lesson 02-beta does not compile:\n"+
			"      02-beta/beta.go:7:9: invalid operation")
		assert.Contains(t, out, "✗ 2.1 A greeting: lesson 02-beta does not compile\n")
		assert.Contains(t, out, "1 done, 3 failing, 1 not started.")
	})

	t.Run("check one exercise", func(t *testing.T) {
		ok, err := f.Check(ctx, "1.1")
		require.NoError(t, err)
		assert.True(t, ok)
		out := f.output()
		assert.Contains(t, out, "✓ 1.1 Adding numbers (2 tests)")
		assert.NotContains(t, out, "1.2")
		assert.Contains(t, out, "All 1 exercise pass.")
	})

	t.Run("check one lesson", func(t *testing.T) {
		for _, key := range []string{"2", "02", "02-beta"} {
			ok, err := f.Check(ctx, key)
			require.NoError(t, err)
			assert.False(t, ok)
			out := f.output()
			assert.Contains(t, out, "✗ lesson 02-beta does not compile:")
			assert.NotContains(t, out, "01-alpha")
		}
	})

	t.Run("unknown target", func(t *testing.T) {
		_, err := f.Check(ctx, "7")
		assert.ErrorContains(t, err, `"7" is not a lesson`)
		assert.ErrorContains(t, err, "01-alpha  (exercises 1.1 to 1.4)", "an unknown target lists the lessons")
		_, err = f.Check(ctx, "1.9")
		assert.ErrorContains(t, err, `"1.9" is not an exercise; lesson 01-alpha has:`)
		assert.ErrorContains(t, err, "1.3   Dividing numbers", "an unknown exercise of a known lesson lists the lesson's exercises")
	})

	t.Run("states", func(t *testing.T) {
		reports, err := f.assess(ctx, f.Book, assessOptions{})
		require.NoError(t, err)
		var got []State
		for _, lr := range reports {
			for _, e := range lr.Exercises {
				got = append(got, e.State)
			}
		}
		assert.Equal(t, []State{Done, Failing, NotStarted, Failing, Failing}, got)
	})
}

// When every exercise is done, status says so and gives no next step.
func TestStatusWhenEverythingIsDone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, copyTree(f.path("01-alpha"), f.path("solutions/01-alpha")))
	require.NoError(t, copyTree(f.path("02-beta"), f.path("solutions/02-beta")))

	require.NoError(t, f.Status(context.Background(), false))
	out := f.output()
	assert.Contains(t, out, "105/105 pts, 5 of 5 exercises done")
	assert.Contains(t, out, "Every exercise is done: 105 of 105 points.")
	assert.NotContains(t, out, "Next:")
}
