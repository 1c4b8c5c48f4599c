package runner

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A TestFunc is one top-level test function of a lesson, as the source says.
type TestFunc struct {
	Name    string // "TestAppendAssignsIDs"
	Package string // its directory, relative to the root: "01-polling"
	File    string // relative to the root: "01-polling/log_test.go"
	Line    int

	// Exercise is the ID named by the exercise.Start call the test begins
	// with, or "" when it does not begin with one; Problem then says why.
	Exercise string
	Problem  string
}

// Pos is the test's position for messages: "01-polling/log_test.go:12".
func (f TestFunc) Pos() string { return fmt.Sprintf("%s:%d", f.File, f.Line) }

// ParseTests reads the test functions in the *_test.go files under the
// root-relative directory dir, subpackages included. Benchmarks, fuzz targets,
// examples and TestMain are not tests of an exercise and are left out.
func ParseTests(root, dir string) ([]TestFunc, error) {
	var tests []TestFunc
	fset := token.NewFileSet()
	base := filepath.Join(root, filepath.FromSlash(dir))
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != base && skipSourceDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !isTestFile(d.Name()) {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("reading the tests: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, fn := range testFuncs(f) {
			t := TestFunc{
				Name:    fn.Name.Name,
				Package: filepath.ToSlash(filepath.Dir(rel)),
				File:    rel,
				Line:    fset.Position(fn.Pos()).Line,
			}
			t.Exercise, t.Problem = startedExercise(f, fn)
			tests = append(tests, t)
		}
		return nil
	})
	return tests, err
}

// testFuncs returns the functions of a file that `go test` runs as tests:
// func TestXxx(t *testing.T), where Xxx does not start with a lower-case
// letter.
func testFuncs(f *ast.File) []*ast.FuncDecl {
	testing := importName(f, "testing")
	var fns []*ast.FuncDecl
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !isTestName(fn.Name.Name) || fn.Name.Name == "TestMain" {
			continue
		}
		params := fn.Type.Params.List
		if len(params) != 1 || len(params[0].Names) > 1 {
			continue
		}
		if star, ok := params[0].Type.(*ast.StarExpr); ok && isSelector(star.X, testing, "T") {
			fns = append(fns, fn)
		}
	}
	return fns
}

// isTestName applies go test's rule: "Test", then nothing or a character
// that is not a lower-case letter.
func isTestName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Test")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}

// startedExercise reads the first statement of a test, which must be
// exercise.Start(t, "ID"), and returns the ID, or a problem saying what is
// there instead.
func startedExercise(f *ast.File, fn *ast.FuncDecl) (id, problem string) {
	pkg := importName(f, "/internal/exercise")
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return "", "is empty; it must begin with exercise.Start(t, \"L.N\")"
	}
	if id, ok := startCall(fn.Body.List[0], pkg); ok {
		return id, ""
	}
	for _, stmt := range fn.Body.List[1:] {
		if _, ok := startCall(stmt, pkg); ok {
			return "", "calls exercise.Start, but not as its first statement"
		}
	}
	return "", "does not begin with exercise.Start(t, \"L.N\"), so it belongs to no exercise"
}

// startCall matches the statement  pkg.Start(t, "ID")  with a literal ID.
func startCall(stmt ast.Stmt, pkg string) (string, bool) {
	es, ok := stmt.(*ast.ExprStmt)
	if !ok {
		return "", false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || !isSelector(call.Fun, pkg, "Start") || len(call.Args) != 2 {
		return "", false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	id, err := strconv.Unquote(lit.Value)
	return id, err == nil
}

// isSelector matches the expression pkg.name.
func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg
}

// importName is the name a file uses for the package whose import path is
// path or ends with path: its explicit name, or the last path element.
func importName(f *ast.File, path string) string {
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil || !(p == path || strings.HasSuffix(p, path)) {
			continue
		}
		if spec.Name != nil {
			return spec.Name.Name
		}
		return p[strings.LastIndex(p, "/")+1:]
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// testsOf returns the tests that start the given exercise.
func testsOf(tests []TestFunc, id string) []TestFunc {
	var out []TestFunc
	for _, t := range tests {
		if t.Exercise == id {
			out = append(out, t)
		}
	}
	return out
}

// runPattern is the -run pattern that selects exactly the given tests.
func runPattern(tests []TestFunc) string {
	names := make([]string, 0, len(tests))
	for _, t := range tests {
		if !slices.Contains(names, t.Name) {
			names = append(names, t.Name)
		}
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

// packagePatterns are the go test package patterns that cover the tests:
// "./01-polling/" for one package, one pattern per package otherwise.
func packagePatterns(tests []TestFunc) []string {
	var pkgs []string
	for _, t := range tests {
		p := "./" + t.Package + "/"
		if !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	return pkgs
}
