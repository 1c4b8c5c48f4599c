package runner

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHintsComeOneAtATime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	require.NoError(t, f.Hint("1.1", false))
	out := f.output()
	assert.Contains(t, out, "Hint 1 of 2 for 1.1 Adding numbers\n\n  Go has a `+` operator.\n")
	assert.NotContains(t, out, "Hint 2 of 2")
	assert.Contains(t, out, "`go run ./cmd/workbook hint 1.1` shows hint 2 of 2.")

	require.NoError(t, f.Hint("1.1", false))
	out = f.output()
	assert.Contains(t, out, "Hint 1 of 2")
	assert.Contains(t, out, "Hint 2 of 2 for 1.1 Adding numbers\n\n  ```go\n  return a + b, nil\n  ```\n")
	assert.Contains(t, out, "That was the last hint.")

	require.NoError(t, f.Hint("1.1", false))
	assert.Contains(t, f.output(), "That was the last hint.", "asking again repeats them all")

	data, err := os.ReadFile(f.path(".workbook/hints.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"1.1": 2}`, string(data))
}

func TestHintAll(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.Hint("1.1", true))
	out := f.output()
	assert.Contains(t, out, "Hint 1 of 2")
	assert.Contains(t, out, "Hint 2 of 2")
	assert.Contains(t, out, "That was the last hint.")
}

func TestHintReadsOnlyTheExercisesSection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// 1.3's summary is on its own line; 1.4's section ends before the
	// "What's next" section and its hint.
	require.NoError(t, f.Hint("1.3", false))
	assert.Contains(t, f.output(), "Hint 1 of 1 for 1.3 Dividing numbers\n\n  Check b before you divide.\n")
	require.NoError(t, f.Hint("1.4", true))
	out := f.output()
	assert.Contains(t, out, "Hint 1 of 1 for 1.4")
	assert.NotContains(t, out, "Not a hint of any exercise")

	assert.ErrorContains(t, f.Hint("9.9", false), `"9.9" is not an exercise`)
}

func TestSectionAndHints(t *testing.T) {
	text := "# T\n\n## Exercise 1.1: A\n\ntext\n```sh\n## not a heading\n```\n" +
		"<details><summary>Hint 1</summary>one</details>\n\n## Exercise 1.2: B\n<details><summary>Hint 1</summary>\n\ntwo\n</details>\n"
	sec, ok := Section(text, "Exercise 1.1: A")
	require.True(t, ok)
	assert.Equal(t, []string{"one"}, Hints(sec))
	sec, ok = Section(text, "Exercise 1.2: B")
	require.True(t, ok)
	assert.Equal(t, []string{"two"}, Hints(sec))
	_, ok = Section(text, "Exercise 1.3: C")
	assert.False(t, ok)
	assert.Equal(t, []string{"Exercise 1.1: A", "Exercise 1.2: B"}, Headings(text))
}
