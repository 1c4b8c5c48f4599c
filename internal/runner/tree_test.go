package runner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A handout usually links node_modules in from elsewhere instead of running
// `npm ci` in it. The grading workspace links the packages itself, so the
// copy must leave such a link out, as it leaves out a real node_modules, and
// a relative link must still reach its target from the copy.
func TestCopyTreeLeavesOutLinkedNodeModulesAndKeepsRelativeLinks(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	packages := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(packages, "marker"), nil, 0o644))
	require.NoError(t, os.Symlink(packages, filepath.Join(src, "node_modules")))
	require.NoError(t, os.MkdirAll(filepath.Join(src, "lesson"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "shared.txt"), []byte("shared"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join("..", "shared.txt"), filepath.Join(src, "lesson", "link.txt")))

	require.NoError(t, copyTree(dst, src))

	_, err := os.Lstat(filepath.Join(dst, "node_modules"))
	assert.True(t, os.IsNotExist(err), "node_modules must not be copied, linked or not (Lstat: %v)", err)
	got, err := os.ReadFile(filepath.Join(dst, "lesson", "link.txt"))
	require.NoError(t, err, "a relative link must still resolve from the copy")
	assert.Equal(t, "shared", string(got))
}
