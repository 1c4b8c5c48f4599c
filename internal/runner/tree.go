package runner

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// skipDir reports whether a tree walk leaves out a directory entirely:
// version control, installed npm packages, the runner's own state.
func skipDir(name string) bool {
	return name == ".git" || name == "node_modules" || name == ".workbook"
}

// copyTree copies the directory src to dst (which may exist), leaving out the
// directories skipDir names, and links by those names too (a handout often
// links node_modules in rather than installing it). Other symbolic links are
// copied as links; a relative one is made absolute, so that it still points
// where it did from the copy's new place.
func copyTree(dst, src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if p != src && skipDir(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(link) {
				if link, err = filepath.Abs(filepath.Join(filepath.Dir(p), link)); err != nil {
					return err
				}
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(target, p)
		}
		return nil // sockets, devices: nothing a lesson needs
	})
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// isTestFile reports whether a file name is a Go test file.
func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.go") }

// skipSourceDir reports whether a walk for Go sources leaves out a directory,
// with the go command's rules: testdata, vendor, and names starting with '.'
// or '_' are not packages.
func skipSourceDir(name string) bool {
	return name == "testdata" || name == "vendor" || name == "node_modules" ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// testFiles returns the *_test.go files under root in fsys, recursively, and
// any file under a testdata directory beside them, keyed by their
// slash-separated path relative to root. A missing root is an empty set.
func testFiles(fsys fs.FS, root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		if d.IsDir() {
			if p != root && d.Name() != "testdata" && skipSourceDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !(isTestFile(d.Name()) || inTestdata(rel)) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	return files, err
}

// inTestdata reports whether a slash-separated path lies under a testdata
// directory.
func inTestdata(rel string) bool {
	return slices.Contains(strings.Split(path.Dir(rel), "/"), "testdata")
}

// diffFiles compares two sets of files and returns the sorted names that
// differ: present in one set only, or with different bytes.
func diffFiles(a, b map[string][]byte) []string {
	var names []string
	for name, data := range a {
		if other, ok := b[name]; !ok || !bytes.Equal(data, other) {
			names = append(names, name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// scratchCopy copies the root to a new temporary directory whose name
// starts with prefix, for grading or for making a sample, and returns it;
// the caller removes it. The npm packages are not copied (they are large,
// and nothing changes them) but linked, for the tests that drive the npm
// clients.
func (w *Workbook) scratchCopy(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	err = copyTree(dir, w.Root)
	if modules := w.path("node_modules"); err == nil && isDir(modules) {
		err = os.Symlink(modules, filepath.Join(dir, "node_modules"))
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
