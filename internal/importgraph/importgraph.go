// Package importgraph reads which of this module's packages a package links,
// from the import clauses of its source (go/build, no go command), so tests can
// hold the module's layering rules (the SQL shell does not link the loader).
package importgraph

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Module is this module's path.
const Module = "github.com/eventlake/eventlake"

// Root returns the module's root directory: the nearest parent of the
// working directory holding go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("importgraph: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Packages returns the import paths of the module's packages under rel
// (a slash-separated directory relative to root, e.g. "sql"), rel included:
// what ./rel/... names to the go command.
func Packages(root, rel string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); p != filepath.Join(root, filepath.FromSlash(rel)) && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		pkg, err := load(root, p)
		if err != nil {
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			return err
		}
		out = append(out, pkg.ImportPath)
		return nil
	})
	return out, err
}

// Deps returns the module packages that the packages given (import paths of
// this module) import, directly or through others, sorted. Test files do not
// count; files of every platform and build tag do.
func Deps(root string, pkgs ...string) ([]string, error) {
	seen := map[string]bool{}
	var visit func(path string) error
	visit = func(path string) error {
		rel, ok := strings.CutPrefix(path, Module)
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
			return nil // another module's package: it cannot import this one
		}
		pkg, err := load(root, filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(rel, "/"))))
		if err != nil {
			return fmt.Errorf("importgraph: %s: %w", path, err)
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, Module+"/") && !seen[imp] {
				seen[imp] = true
				if err := visit(imp); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, p := range pkgs {
		if err := visit(p); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

func load(root, dir string) (*build.Package, error) {
	ctxt := build.Default
	ctxt.UseAllFiles = true // every platform's files, whatever their tags
	pkg, err := ctxt.ImportDir(dir, build.ImportComment)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return nil, err
	}
	pkg.ImportPath = Module
	if rel != "." {
		pkg.ImportPath += "/" + filepath.ToSlash(rel)
	}
	return pkg, nil
}
