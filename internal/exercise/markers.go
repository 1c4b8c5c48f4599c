package exercise

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A Marker is one exercise.TODO (or TODOHandler) call found in source.
type Marker struct {
	ID   string // the exercise it names, "1.3"
	File string // slash-separated, relative to the directory searched
	Line int
}

// FindMarkers lists the marker calls in the non-test Go files under dir,
// subdirectories included (but not testdata, vendor, node_modules or hidden
// directories).
//
// It reads tokens, not text: a marker inside a comment or a string does not
// count, so commenting a marker out is the same as deleting it. A marker is
// the token sequence  exercise . TODO… ( "ID"  where TODO… is any identifier
// that starts with TODO.
func FindMarkers(dir string) ([]Marker, error) {
	var found []Marker
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (name == "testdata" || name == "vendor" || name == "node_modules" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		for _, m := range scanMarkers(src) {
			m.File = filepath.ToSlash(rel)
			found = append(found, m)
		}
		return nil
	})
	return found, err
}

// scanMarkers finds the marker calls in one Go source file.
func scanMarkers(src []byte) []Marker {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0) // comments are skipped; errors are ignored

	type tok struct {
		pos token.Pos
		tok token.Token
		lit string
	}
	var window [5]tok // the last five tokens: exercise . TODO ( "ID"
	var found []Marker
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			return found
		}
		copy(window[:], window[1:])
		window[4] = tok{pos, t, lit}
		if window[0].tok == token.IDENT && window[0].lit == "exercise" &&
			window[1].tok == token.PERIOD &&
			window[2].tok == token.IDENT && strings.HasPrefix(window[2].lit, "TODO") &&
			window[3].tok == token.LPAREN &&
			window[4].tok == token.STRING {
			id, err := strconv.Unquote(window[4].lit)
			if err != nil {
				continue
			}
			found = append(found, Marker{ID: id, Line: fset.Position(window[0].pos).Line})
		}
	}
}
