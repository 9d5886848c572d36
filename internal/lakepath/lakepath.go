// Package lakepath holds the one name of a lake's layout that the stores
// below the lake package must know without importing it: the folder that
// holds everything that is not table data. The catalog refuses to record a
// file in it and publishing refuses to move one into it. Every path of the
// layout is built by package lake from this name.
package lakepath

import "strings"

// MetaDir is the lake's metadata folder (catalog, lock, staging, query
// cache), relative to the lake root. It starts with '_' so Spark, Hive and
// Athena never list it.
const MetaDir = "_eventlake"

// InMetaDir reports whether the clean, '/'-separated lake-relative path rel
// is the metadata folder or lies in it.
func InMetaDir(rel string) bool {
	return rel == MetaDir || strings.HasPrefix(rel, MetaDir+"/")
}
