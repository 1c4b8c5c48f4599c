package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStyle(t *testing.T) {
	plain := style{}
	assert.Equal(t, "[██████░░░░░░░░░░░░░░]  30%", plain.bar(30, 100))
	assert.Equal(t, "[░░░░░░░░░░░░░░░░░░░░]   0%", plain.bar(0, 0))
	assert.Equal(t, "✓", plain.mark(Done))
	assert.Equal(t, "✗", plain.mark(Failing))
	assert.Equal(t, "·", plain.mark(NotStarted))

	color := style{color: true}
	assert.Equal(t, "\033[32m✓\033[0m", color.mark(Done))
	assert.Equal(t, "\033[31m✗\033[0m", color.mark(Failing))
	assert.Contains(t, color.bar(50, 100), "\033[32m██████████\033[0m")
}
