package importgraph

import (
	"slices"
	"strings"
	"testing"
)

// The module's layering: reading the lake does not link loading it, and the
// schemas everyone shares depend on none of their users.
func TestLayers(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	rules := []struct {
		pkgs      string   // a directory, as ./dir/... names it
		forbidden []string // directories none of its dependencies may be in
	}{
		{"sql", []string{"loader"}},
		{"schema", []string{"loader", "catalog", "partitions", "sql", "config"}},
		{"config", []string{"loader", "catalog", "partitions", "sql"}},
		// The lake's transaction sits below the writers and the shell.
		{"lake", []string{"loader", "sql", "cmd"}},
	}
	for _, r := range rules {
		pkgs, err := Packages(root, r.pkgs)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) == 0 {
			t.Fatalf("no packages under %s", r.pkgs)
		}
		deps, err := Deps(root, pkgs...)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			for _, f := range r.forbidden {
				if p := Module + "/" + f; d == p || strings.HasPrefix(d, p+"/") {
					t.Errorf("./%s/... depends on %s", r.pkgs, d)
				}
			}
		}
	}
}

// The stores below the lake's transaction know nothing of it or of each
// other: the catalog (SQL) links no other package of the module but the
// small internal helpers, and the Parquet writers (partitions, compaction
// aside) link neither the catalog nor the lake.
func TestStoresStandAlone(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := Deps(root, Module+"/catalog")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		if !strings.HasPrefix(d, Module+"/internal/") {
			t.Errorf("catalog depends on %s", d)
		}
	}
	deps, err = Deps(root, Module+"/partitions")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		for _, f := range []string{"catalog", "lake"} {
			if p := Module + "/" + f; d == p || strings.HasPrefix(d, p+"/") {
				t.Errorf("partitions depends on %s", d)
			}
		}
	}
}

// The walk finds indirect dependencies: the loader reaches the schema
// through its profiles too.
func TestDepsFindsIndirect(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := Deps(root, Module+"/loader/profile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{Module + "/schema", Module + "/config", Module + "/internal/jsonstr"} {
		if !slices.Contains(deps, want) {
			t.Errorf("loader/profile deps %v lack %s", deps, want)
		}
	}
	pkgs, err := Packages(root, "sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{Module + "/sql/views", Module + "/sql/shell", Module + "/sql/ddl"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("packages under sql %v lack %s", pkgs, want)
		}
	}
}

// The runtime settings of eventlake's program (internal/runtimesetup: GC,
// a spare Go processor) are applied by importing the package: only the
// program may, not a library package its tests or other programs link.
func TestRuntimeSetupOnlyInTheProgram(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	setup := Module + "/internal/runtimesetup"
	for _, dir := range []string{"bench", "bucketstore", "catalog", "config", "internal", "lake", "loader", "partitions", "schema", "sql"} {
		pkgs, err := Packages(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = slices.DeleteFunc(pkgs, func(p string) bool { return p == setup })
		deps, err := Deps(root, pkgs...)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(deps, setup) {
			t.Errorf("a package under ./%s/... links %s", dir, setup)
		}
	}
	deps, err := Deps(root, Module+"/cmd/eventlake")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(deps, setup) {
		t.Errorf("cmd/eventlake does not link %s", setup)
	}
}
