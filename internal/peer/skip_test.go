package peer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// skipCase is a lesson test that needs the npm socket.io-client: in dir
// (a lesson, or its solution) the test named test.
type skipCase struct{ dir, test string }

// skipCases are the tests that once turned a missing npm package into a
// failure (the leak check saw the server they had started before finding
// the package missing), and one that finds its peer missing in the Node
// harness, after its server has started. Each is run where it exists: the
// solution when the checkout has it, else the lesson, if its test skips
// before it calls any code the student writes.
func skipCases(root string) []skipCase {
	candidates := [][]skipCase{
		{{"solutions/03-events", "TestNodeClientEventsBothWays"}},
		{{"solutions/04-express-style-server", "TestServerGracefulShutdown"}, {"04-express-style-server", "TestServerGracefulShutdown"}},
		{{"solutions/05-client-connect-after-login", "TestServerRestartKeepsUsersMessagesAndLogouts"}, {"05-client-connect-after-login", "TestServerRestartKeepsUsersMessagesAndLogouts"}},
	}
	var cases []skipCase
	for _, alternatives := range candidates {
		for _, c := range alternatives {
			if _, err := os.Stat(filepath.Join(root, c.dir)); err == nil {
				cases = append(cases, c)
				break
			}
		}
	}
	return cases
}

// TestSkippedPeerTestsLeaveNothingBehind runs real lesson tests on the two
// machines a learner may have before installing everything, outside CI:
//
//   - Node installed, `npm ci` not yet run (a copy of the module without
//     node_modules);
//   - no Node at all (a PATH that holds only the go command).
//
// Each test must end in a skip that says what to install, never a failure,
// and leave nothing behind: the tests' own leak checks see no goroutine,
// and the temporary directory they ran with is empty afterwards.
func TestSkippedPeerTestsLeaveNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lesson tests in a child go test; not in -short mode")
	}
	root, err := ModuleRoot()
	require.NoError(t, err)
	cases := skipCases(root)
	if len(cases) == 0 {
		t.Skip("this checkout holds none of the lessons whose tests need socket.io-client")
	}
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command must be on PATH to run the lessons' tests")

	// A copy of the module without node_modules: what a fresh clone is
	// before `npm ci`.
	module := t.TempDir()
	copyModule(t, module, root)

	onlyGo := t.TempDir()
	require.NoError(t, os.Symlink(goBin, filepath.Join(onlyGo, "go")))

	machines := []struct {
		name, path, wantSkip string
	}{
		{"Node without npm ci", os.Getenv("PATH"), "run `npm ci`"},
		{"no Node", onlyGo, "install Node.js"},
	}
	for _, m := range machines {
		t.Run(m.name, func(t *testing.T) {
			if m.path == os.Getenv("PATH") && Node(t) == "" {
				return // skipped (or, in CI, failed): this machine has no Node to run it with
			}
			tmp := t.TempDir()
			// Strict mode, as grade runs: a lesson's test must not skip
			// as "not started" before it gets to its peer.
			results := runChildTests(t, module, cases, []string{
				"PATH=" + m.path, "CI=", "TMPDIR=" + tmp, "CGO_ENABLED=0", exercise.StrictEnv + "=1",
			})
			for _, c := range cases {
				r, ok := results[c.test]
				if !assert.True(t, ok, "%s/%s did not run", c.dir, c.test) {
					continue
				}
				assert.Equal(t, "skip", r.action, "%s/%s must skip when its peer is missing; its output:\n%s", c.dir, c.test, r.output)
				assert.Contains(t, r.output, m.wantSkip, "%s/%s must say what to install", c.dir, c.test)
			}
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			assert.Empty(t, names, "skipped tests left these behind in TMPDIR")
		})
	}
}

// childResult is how one test of a child go test ended, and what it printed.
type childResult struct {
	action string // pass, fail or skip
	output string
}

// runChildTests runs `go test -json` on cases in module with env added to
// this process's environment, and returns how each test ended, by name.
func runChildTests(t *testing.T, module string, cases []skipCase, env []string) map[string]childResult {
	t.Helper()
	var dirs, names []string
	for _, c := range cases {
		dirs = append(dirs, "./"+c.dir)
		if !slices.Contains(names, c.test) {
			names = append(names, c.test)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// -trimpath keeps the copy's directory out of the build cache's keys,
	// so that a second run (and the second machine) reuses the first's
	// compiled packages.
	args := append([]string{"test", "-trimpath", "-count=1", "-json", "-run", "^(" + strings.Join(names, "|") + ")$"}, dirs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = module
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go %s in a copy of the module: %s\n%s", strings.Join(args, " "), stderr.String(), out)

	results := map[string]childResult{}
	outputs := map[string]*strings.Builder{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct{ Action, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
			continue
		}
		if outputs[ev.Test] == nil {
			outputs[ev.Test] = &strings.Builder{}
		}
		switch ev.Action {
		case "output":
			outputs[ev.Test].WriteString(ev.Output)
		case "pass", "fail", "skip":
			results[ev.Test] = childResult{ev.Action, outputs[ev.Test].String()}
		}
	}
	return results
}

// copyModule copies the module at src to dst, leaving out what a fresh
// clone does not have: node_modules, version control, the runner's state
// and CI's installed tools.
func copyModule(t *testing.T, dst, src string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		switch e.Name() {
		case "node_modules", ".git", ".workbook", ".ci":
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() {
			require.NoError(t, os.CopyFS(to, os.DirFS(from)), "copying %s", from)
			continue
		}
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to, b, 0o644))
	}
}
