package runner

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// The API of a lesson is what its package exports, and the solution is the
// same package completed: a learner who finishes the stubs must end with
// the reference's API, no more and no less, or the next lesson (which
// imports the solution) would need something the learner never wrote.
// verifyExports compares the two, name by name and signature by signature.
//
// An exported declaration is one line of the API, written as Go would print
// it without parameter names:
//
//	func NewServer(Options) *Server
//	method (*Server) Attach(Transport, *http.Request, []string) (string, error)
//	type Options struct
//	field Options.PingInterval time.Duration
//	var ErrServerClosed
//
// Methods count when their receiver's type is exported; fields and the
// methods of interfaces when their type is. Unexported helpers, the bodies
// of functions and the values of variables may differ: that is what the
// exercises fill in. Commands (package main) have no API and are skipped.
func (w *Workbook) verifyExports(c *checklist, l catalog.Lesson) {
	lesson, err := packageAPIs(w.path(l.Dir))
	if err != nil {
		c.gap([]string{err.Error()}, "cannot read the API of %s", l.Dir)
		return
	}
	solution, err := packageAPIs(w.path(l.SolutionDir()))
	if os.IsNotExist(err) {
		return // the handout: no solutions to compare with
	}
	if err != nil {
		c.gap([]string{err.Error()}, "cannot read the API of %s", l.SolutionDir())
		return
	}
	var detail []string
	names := 0
	both := maps.Clone(lesson)
	maps.Copy(both, solution)
	for _, dir := range slices.Sorted(maps.Keys(both)) {
		lapi, inLesson := lesson[dir]
		sapi, inSolution := solution[dir]
		where := joinDir(l.Dir, dir)
		switch {
		case !inSolution:
			detail = append(detail, fmt.Sprintf("%s is a package the solution does not have", where))
			continue
		case !inLesson:
			detail = append(detail, fmt.Sprintf("%s is a package only the solution has", joinDir(l.SolutionDir(), dir)))
			continue
		}
		names += len(lapi)
		for _, decl := range onlyIn(sapi, lapi) {
			detail = append(detail, fmt.Sprintf("only the solution exports %s", decl))
		}
		for _, decl := range onlyIn(lapi, sapi) {
			detail = append(detail, fmt.Sprintf("only the lesson exports %s", decl))
		}
	}
	if len(detail) > 0 {
		c.gap(detail, "%s and %s export different APIs", l.Dir, l.SolutionDir())
		return
	}
	c.ok("%s and its solution export the same API: %s", l.Dir, plural(names, "declaration"))
}

// joinDir joins a lesson directory and a package directory inside it.
func joinDir(dir, sub string) string {
	if sub == "." {
		return dir
	}
	return dir + "/" + sub
}

// onlyIn returns the lines of a that b does not have; both are sorted.
func onlyIn(a, b []string) []string {
	var out []string
	for _, s := range a {
		if _, found := slices.BinarySearch(b, s); !found {
			out = append(out, s)
		}
	}
	return out
}

// packageAPIs returns the API of every library package under root (root
// itself is "."), each as a sorted list of declaration lines. Test files,
// package main and testdata are left out.
func packageAPIs(root string) (map[string][]string, error) {
	if _, err := os.Stat(root); err != nil {
		return nil, err
	}
	apis := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		apis[rel] = append(apis[rel], fileAPI(fset, f)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for dir, api := range apis {
		slices.Sort(api)
		apis[dir] = slices.Compact(api)
	}
	return apis, nil
}

// fileAPI returns the exported declarations of one file.
func fileAPI(fset *token.FileSet, f *ast.File) []string {
	var api []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				api = append(api, "func "+d.Name.Name+signature(fset, d.Type))
				continue
			}
			recv := d.Recv.List[0].Type
			if !ast.IsExported(receiverName(recv)) {
				continue
			}
			api = append(api, fmt.Sprintf("method (%s) %s%s", typeString(fset, recv), d.Name.Name, signature(fset, d.Type)))
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						api = append(api, typeAPI(fset, s)...)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							api = append(api, d.Tok.String()+" "+n.Name)
						}
					}
				}
			}
		}
	}
	return api
}

// typeAPI returns the lines of an exported type: the type, and its exported
// fields or interface methods.
func typeAPI(fset *token.FileSet, s *ast.TypeSpec) []string {
	name := s.Name.Name
	head := "type " + name + typeParams(fset, s.TypeParams) + " "
	if s.Assign.IsValid() {
		head += "= "
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		api := []string{head + "struct"}
		for _, f := range t.Fields.List {
			for _, n := range fieldNames(f) {
				if ast.IsExported(n) {
					api = append(api, fmt.Sprintf("field %s.%s %s", name, n, typeString(fset, f.Type)))
				}
			}
		}
		return api
	case *ast.InterfaceType:
		api := []string{head + "interface"}
		for _, m := range t.Methods.List {
			ft, isMethod := m.Type.(*ast.FuncType)
			if !isMethod { // an embedded interface or a type constraint
				api = append(api, fmt.Sprintf("embedded %s.%s", name, typeString(fset, m.Type)))
				continue
			}
			for _, n := range m.Names {
				if n.IsExported() {
					api = append(api, fmt.Sprintf("method %s.%s%s", name, n.Name, signature(fset, ft)))
				}
			}
		}
		return api
	default:
		return []string{head + typeString(fset, s.Type)}
	}
}

// typeParams prints the type parameters of a generic type, "[K comparable,
// V any]", or "" for a type that has none.
func typeParams(fset *token.FileSet, fl *ast.FieldList) string {
	if fl == nil || len(fl.List) == 0 {
		return ""
	}
	var ps []string
	for _, f := range fl.List {
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		ps = append(ps, strings.Join(names, ", ")+" "+typeString(fset, f.Type))
	}
	return "[" + strings.Join(ps, ", ") + "]"
}

// fieldNames returns the names of a struct field; an embedded field is
// named by its type.
func fieldNames(f *ast.Field) []string {
	if len(f.Names) == 0 {
		return []string{receiverName(f.Type)}
	}
	var names []string
	for _, n := range f.Names {
		names = append(names, n.Name)
	}
	return names
}

// receiverName is the name of the type in a receiver or embedded field:
// T, *T, T[K] and pkg.T all give T.
func receiverName(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.SelectorExpr:
			return t.Sel.Name
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// signature prints a function type without its parameter names, so that
// renaming a parameter does not change the API: "(string, ...any) error".
func signature(fset *token.FileSet, ft *ast.FuncType) string {
	params := fieldTypes(fset, ft.Params)
	results := fieldTypes(fset, ft.Results)
	s := "(" + strings.Join(params, ", ") + ")"
	switch len(results) {
	case 0:
	case 1:
		s += " " + results[0]
	default:
		s += " (" + strings.Join(results, ", ") + ")"
	}
	return s
}

// fieldTypes lists the type of each parameter of fl, once per name.
func fieldTypes(fset *token.FileSet, fl *ast.FieldList) []string {
	if fl == nil {
		return nil
	}
	var types []string
	for _, f := range fl.List {
		n := max(len(f.Names), 1)
		for range n {
			types = append(types, typeString(fset, f.Type))
		}
	}
	return types
}

// typeString prints a type expression as gofmt would.
func typeString(fset *token.FileSet, e ast.Expr) string {
	if ft, ok := e.(*ast.FuncType); ok {
		return "func" + signature(fset, ft)
	}
	var b bytes.Buffer
	_ = printer.Fprint(&b, fset, e)
	return strings.Join(strings.Fields(b.String()), " ")
}
