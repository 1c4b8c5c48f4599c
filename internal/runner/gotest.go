package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// An Outcome is what `go test` said about one test.
type Outcome string

// The outcomes of a test. A test that reported nothing did not run: -run
// left it out, or the test binary stopped (a panic, a timeout) before it.
const (
	Passed  Outcome = "pass"
	Failed  Outcome = "fail"
	Skipped Outcome = "skip"
	NotRun  Outcome = ""
)

// A TestResult is one top-level test as `go test -json` reported it.
type TestResult struct {
	Name    string
	Outcome Outcome
	Output  []string // its lines and its subtests', without newlines
}

// A PackageResult is one package of a `go test -json` run.
type PackageResult struct {
	ImportPath string
	Outcome    Outcome
	Tests      map[string]*TestResult // top-level tests, by name

	// BuildFailed is set when the package or its test binary did not
	// compile (or could not even be set up); BuildOutput is what the
	// compiler said.
	BuildFailed bool
	BuildOutput []string

	// Output is what the package printed outside any test: the final
	// FAIL line, a timeout's stack, a crash in TestMain.
	Output []string
}

// Test returns the result of the named top-level test; a test that never
// reported has the outcome NotRun.
func (p *PackageResult) Test(name string) *TestResult {
	if t, ok := p.Tests[name]; ok {
		return t
	}
	return &TestResult{Name: name}
}

// A TestRun is the parsed result of one `go test -json` command.
type TestRun struct {
	Packages map[string]*PackageResult // by import path
	Stderr   string                    // what go itself printed outside the JSON stream
}

// Package returns the result of a package; a package that go never mentioned
// comes back empty, with every test NotRun.
func (r *TestRun) Package(importPath string) *PackageResult {
	if p, ok := r.Packages[importPath]; ok {
		return p
	}
	return &PackageResult{ImportPath: importPath, Tests: map[string]*TestResult{}}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action      string
	Package     string
	ImportPath  string // of build-output and build-fail events
	Test        string
	Output      string
	FailedBuild string
}

// goTest runs `go test -json args...` in dir with the given environment
// additions and parses its events. A non-zero exit of go is not an error:
// failing tests and broken builds are results. It is an error when go could
// not run at all, or ran and said nothing in JSON (a bad pattern, a broken
// go.mod): then its stderr is the message.
func (w *Workbook) goTest(ctx context.Context, dir string, extraEnv []string, args ...string) (*TestRun, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(w.environ(), extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting go test: %w", err)
	}
	run, parseErr := parseEvents(stdout)
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	run.Stderr = stderr.String()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if parseErr != nil {
		return nil, fmt.Errorf("reading go test -json: %w", parseErr)
	}
	var exit *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exit) {
		return nil, fmt.Errorf("running go test: %w", waitErr)
	}
	if waitErr != nil && len(run.Packages) == 0 {
		return nil, fmt.Errorf("go test %s failed:\n%s", strings.Join(args, " "), strings.TrimSpace(run.Stderr))
	}
	return run, nil
}

// environ is the environment go commands run in.
func (w *Workbook) environ() []string {
	if w.Env != nil {
		return append([]string(nil), w.Env...)
	}
	return os.Environ()
}

// parseEvents reads a `go test -json` stream.
func parseEvents(r io.Reader) (*TestRun, error) {
	run := &TestRun{Packages: map[string]*PackageResult{}}
	build := map[string][]string{} // build output by import path, "pkg [pkg.test]" form
	pkg := func(path string) *PackageResult {
		p, ok := run.Packages[path]
		if !ok {
			p = &PackageResult{ImportPath: path, Tests: map[string]*TestResult{}}
			run.Packages[path] = p
		}
		return p
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue // not an event: go test can interleave plain lines
		}
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			return run, fmt.Errorf("%w in %q", err, line)
		}
		switch {
		case ev.Action == "build-output":
			build[ev.ImportPath] = append(build[ev.ImportPath], lines(ev.Output)...)
		case ev.Package == "":
			// build-fail and anything new without a package
		case ev.Test == "":
			p := pkg(ev.Package)
			switch ev.Action {
			case "output":
				p.Output = append(p.Output, lines(ev.Output)...)
			case "pass", "fail", "skip":
				p.Outcome = Outcome(ev.Action)
				if ev.FailedBuild != "" {
					p.BuildFailed = true
					p.BuildOutput = buildOutput(build, ev.FailedBuild)
				}
			}
		default:
			p := pkg(ev.Package)
			name, _, sub := strings.Cut(ev.Test, "/")
			t, ok := p.Tests[name]
			if !ok {
				t = &TestResult{Name: name}
				p.Tests[name] = t
			}
			switch ev.Action {
			case "output":
				t.Output = append(t.Output, lines(ev.Output)...)
			case "pass", "fail", "skip":
				if !sub {
					t.Outcome = Outcome(ev.Action)
				}
			}
		}
	}
	for _, p := range run.Packages {
		if !p.BuildFailed && p.Outcome == Failed && isSetupFailure(p.Output) {
			p.BuildFailed = true
			p.BuildOutput = buildOutput(build, p.ImportPath)
		}
	}
	return run, sc.Err()
}

// buildOutput is the compiler output for the package that failed to build,
// or all of the build output when none is filed under its name.
func buildOutput(build map[string][]string, failed string) []string {
	paths := slices.Sorted(maps.Keys(build))
	var out []string
	for _, path := range paths {
		if path == failed || strings.HasPrefix(path, failed+" ") || strings.HasPrefix(failed, path+" ") {
			out = append(out, build[path]...)
		}
	}
	if len(out) == 0 {
		for _, path := range paths {
			out = append(out, build[path]...)
		}
	}
	// Drop go's "# pkg" headers: the file names in the lines say enough.
	return slices.DeleteFunc(out, func(l string) bool { return strings.HasPrefix(l, "# ") || l == "" })
}

// isSetupFailure recognises the line go prints for a package it could not
// even set up (a missing import, an import cycle): "FAIL pkg [setup failed]".
func isSetupFailure(output []string) bool {
	for _, l := range output {
		if strings.HasPrefix(l, "FAIL") && strings.HasSuffix(l, "[setup failed]") {
			return true
		}
	}
	return false
}

// lines splits output into lines without their newlines.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return []string{""}
	}
	return strings.Split(s, "\n")
}
