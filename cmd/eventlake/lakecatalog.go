package main

import (
	"context"
	"fmt"
	"os"

	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
)

// writerCatalog resolves the catalog a writer command opens: for a lake in
// a folder, catalogFlag or the lake's own, which must exist; for a lake in
// a bucket none ("": the writer syncs it from the bucket's commit log, and
// --catalog does not apply).
func writerCatalog(lake, catalogFlag string) (string, error) {
	loc, err := parseLake(lake)
	if err != nil {
		return "", err
	}
	if loc.IsBucket() {
		if catalogFlag != "" {
			return "", usagef("--catalog does not apply to a lake in a bucket (%s): its catalog is kept in the bucket", lake)
		}
		return "", nil
	}
	path := first(catalogFlag, loader.CatalogPath(lake))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no catalog at %s: nothing has been loaded into this lake yet", path)
	}
	return path, nil
}

// readCatalog opens a lake's catalog for reading only: the file at path for
// a lake in a folder, or a copy synced from the bucket's commit log (no
// lease, nothing written to the bucket). close releases it.
func readCatalog(ctx context.Context, lake, path string) (cat *catalog.Catalog, close func(), err error) {
	loc, err := parseLake(lake)
	if err != nil {
		return nil, nil, err
	}
	if loc.IsBucket() {
		cat, _, _, cleanup, err := lk.OpenBucketReader(ctx, loc)
		return cat, cleanup, err
	}
	if cat, err = catalog.Open(path, catalog.Options{ReadOnly: true}); err != nil {
		return nil, nil, err
	}
	return cat, func() { cat.Close() }, nil
}
