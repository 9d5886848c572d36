package loader_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/xxh3"
	_ "modernc.org/sqlite"

	"github.com/eventlake/eventlake/loader"
)

const hashEvents = `{"event_id":"e1","domain":"cards","event_type":"card_blocked","schema_version":1,"org_id":"o","cid":"c","timestamp":"2024-01-02T10:00:00Z","data":{"a":1}}
{"event_id":"e2","domain":"cards","event_type":"card_blocked","schema_version":1,"org_id":"o","cid":"c","timestamp":"2024-01-02T11:00:00Z","data":{"a":2}}
`

func hashLoad(t *testing.T, lake, dir string) *loader.Summary {
	t.Helper()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, Settle: 0}, []loader.SourceSpec{{URL: dir}})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func objectHashes(t *testing.T, lake string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(lake, "_eventlake", "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT "key", COALESCE(content_hash, '') FROM objects WHERE superseded_by IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, h string
		if err := rows.Scan(&k, &h); err != nil {
			t.Fatal(err)
		}
		out[k] = h
	}
	return out
}

// Objects are identified by an XXH3-128 hash of their bytes; a copy under
// another key is a duplicate.
func TestContentHashIdentifiesCopies(t *testing.T) {
	dir, lake := t.TempDir(), t.TempDir()
	writeOld(t, filepath.Join(dir, "a.json"), []byte(hashEvents))
	if sum := hashLoad(t, lake, dir); sum.Committed != 1 || sum.Records != 2 {
		t.Fatalf("first load: %+v", sum)
	}
	sum128 := xxh3.Hash128([]byte(hashEvents)).Bytes()
	if got, want := objectHashes(t, lake)["a.json"], "xxh3-128:"+hex.EncodeToString(sum128[:]); got != want {
		t.Fatalf("content_hash = %q, want %q", got, want)
	}
	writeOld(t, filepath.Join(dir, "b.json"), []byte(hashEvents))
	if sum := hashLoad(t, lake, dir); sum.Duplicates != 1 || sum.Records != 0 {
		t.Fatalf("copy under another key: %+v, want a duplicate and no rows", sum)
	}
}

// A catalog written by an older build holds SHA-256 content hashes: a
// touched file (new version, same bytes) is still recognised as the same
// content, not loaded twice; a changed one is loaded.
func TestContentHashLegacyCatalog(t *testing.T) {
	dir, lake := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "a.json")
	writeOld(t, path, []byte(hashEvents))
	hashLoad(t, lake, dir)

	// What an older build recorded: bare SHA-256 hex.
	legacy := sha256.Sum256([]byte(hashEvents))
	db, err := sql.Open("sqlite", filepath.Join(lake, "_eventlake", "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE objects SET content_hash = ?`, hex.EncodeToString(legacy[:])); err != nil {
		t.Fatal(err)
	}
	db.Close()

	touched := time.Now().Add(-30 * time.Minute)
	if err := os.Chtimes(path, touched, touched); err != nil {
		t.Fatal(err)
	}
	sum := hashLoad(t, lake, dir)
	if sum.Duplicates != 1 || sum.Records != 0 {
		t.Fatalf("touched file of a legacy catalog: %+v, want a duplicate of itself and no rows", sum)
	}
	if h := objectHashes(t, lake)["a.json"]; !strings.HasPrefix(h, "xxh3-128:") {
		t.Fatalf("the new version's content_hash = %q, want an xxh3-128 hash", h)
	}

	writeOld(t, path, []byte(strings.Replace(hashEvents, `"a":2`, `"a":3`, 1)))
	if sum := hashLoad(t, lake, dir); sum.Committed != 1 || sum.Records != 2 {
		t.Fatalf("changed file: %+v, want it loaded", sum)
	}
}
