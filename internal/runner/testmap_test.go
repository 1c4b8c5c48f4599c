package runner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTestsMapsTestsToExercises(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "01-x", "sub"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "01-x", "testdata"), 0o755))
	write := func(name, src string) {
		require.NoError(t, os.WriteFile(filepath.Join(root, "01-x", name), []byte(src), 0o644))
	}
	write("x_test.go", `package x

import (
	"testing"

	ex "github.com/websocket-workbook/workbook/internal/exercise"
)

func TestA(t *testing.T) {
	ex.Start(t, "1.1")
	t.Run("sub", func(t *testing.T) {})
}

func TestLate(t *testing.T) {
	t.Parallel()
	ex.Start(t, "1.2")
}

func TestNone(t *testing.T) { t.Log("no exercise") }

func Testlower(t *testing.T) {}           // not a test: lower case after Test
func TestMain(m *testing.M)    {}           // not a test
func BenchmarkA(b *testing.B)  {}           // not a test
func FuzzA(f *testing.F)       {}           // not a test
func ExampleA()                {}           // not a test
func TestHelper(x int)         {}           // not a test: wrong signature
`)
	write("sub/y_test.go", `package sub

import (
	"testing"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

func TestB(t *testing.T) {
	exercise.Start(t, "1.3")
}
`)
	write("testdata/z_test.go", `package broken {`)

	tests, err := ParseTests(root, "01-x")
	require.NoError(t, err)
	got := map[string]TestFunc{}
	for _, tf := range tests {
		got[tf.Name] = tf
	}
	require.Len(t, got, 4)
	assert.Equal(t, TestFunc{Name: "TestA", Package: "01-x", File: "01-x/x_test.go", Line: 9, Exercise: "1.1"}, got["TestA"])
	assert.Equal(t, "calls exercise.Start, but not as its first statement", got["TestLate"].Problem)
	assert.Contains(t, got["TestNone"].Problem, "does not begin with exercise.Start")
	assert.Equal(t, TestFunc{Name: "TestB", Package: "01-x/sub", File: "01-x/sub/y_test.go", Line: 9, Exercise: "1.3"}, got["TestB"])

	assert.Equal(t, "^(TestA|TestB)$", runPattern([]TestFunc{got["TestA"], got["TestB"]}))
	assert.Equal(t, []string{"./01-x/", "./01-x/sub/"}, packagePatterns(tests))
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	require.NoError(t, os.MkdirAll(deep, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+ModulePath+"\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o644))

	got, err := FindRoot(deep, ModulePath)
	require.NoError(t, err)
	assert.Equal(t, root, got, "the go.mod of another module is walked past")

	got, err = FindRoot(deep, "")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "a"), got, "any go.mod will do without a module path")

	_, err = FindRoot(t.TempDir(), ModulePath)
	assert.ErrorContains(t, err, "is not inside the workbook")
}
