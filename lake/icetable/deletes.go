package icetable

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
)

// Superseded rows (a reprocess, a forget) stay in their Parquet files until
// compaction rewrites them; the shell hides them. The Iceberg table hides
// them with position deletes: for each live file holding superseded rows,
// a Parquet delete file (file_path, pos) names their positions, committed
// in the snapshot that publishes the superseding transaction. Each delete
// file applies to one data file (referenced_data_file, and file_path
// bounds equal to it); a later supersede of more rows of the same file adds
// a delete file of the new positions only. Delete files leave the table
// with the data file they apply to (a compaction, a retirement).

// Field ids of a position delete file's columns (Iceberg's reserved ids).
const (
	fieldDeleteFilePath = 2147483546
	fieldDeletePos      = 2147483545
)

// Superseded is what Sync needs to delete the superseded rows of the live
// files: per catalog path of a live file, how many of its rows are
// superseded, and the (object, load) pairs naming those rows.
type Superseded struct {
	Rows  map[string]int64
	Pairs func(context.Context) (map[catalog.ObjectLoad]bool, error)
}

// SupersededOf reads from the catalog the superseded rows of table's live
// files (committed or published supersedes: a writer after recovery).
func SupersededOf(ctx context.Context, c *catalog.Catalog, tableName string) (Superseded, error) {
	rows, err := c.SupersededRowsOf(ctx, tableName)
	if err != nil {
		return Superseded{}, err
	}
	return Superseded{Rows: rows, Pairs: func(ctx context.Context) (map[catalog.ObjectLoad]bool, error) {
		ps, err := c.SupersededPairs(ctx)
		if err != nil {
			return nil, err
		}
		out := make(map[catalog.ObjectLoad]bool, len(ps))
		for _, p := range ps {
			out[p] = true
		}
		return out, nil
	}}, nil
}

// currentDeletes lists the position delete files of tbl's current
// snapshot by the data file they apply to.
func (t *Table) currentDeletes(tbl *table.Table) (map[string][]iceberg.DataFile, error) {
	out := map[string][]iceberg.DataFile{}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return out, nil
	}
	mfs, err := snap.Manifests(t.fs)
	if err != nil {
		return nil, fmt.Errorf("icetable: snapshot %d: %w", snap.SnapshotID, err)
	}
	for _, mf := range mfs {
		if mf.ManifestContent() != iceberg.ManifestContentDeletes {
			continue
		}
		entries, err := mf.FetchEntries(t.fs, true)
		if err != nil {
			return nil, fmt.Errorf("icetable: manifest %s: %w", mf.FilePath(), err)
		}
		for _, e := range entries {
			df := e.DataFile()
			if df.ContentType() != iceberg.EntryContentPosDeletes {
				continue
			}
			target := deleteTarget(df)
			if target == "" {
				return nil, fmt.Errorf("icetable: delete file %s applies to no single data file", df.FilePath())
			}
			out[target] = append(out[target], df)
		}
	}
	return out, nil
}

// deleteTarget is the data file a position delete file applies to.
func deleteTarget(df iceberg.DataFile) string {
	if r := df.ReferencedDataFile(); r != nil && *r != "" {
		return *r
	}
	lo, hi := df.LowerBoundValues()[fieldDeleteFilePath], df.UpperBoundValues()[fieldDeleteFilePath]
	if len(lo) > 0 && bytes.Equal(lo, hi) {
		return string(lo)
	}
	return ""
}

// newDeletes writes the position delete files that the live files need
// beyond those of the current snapshot (deletes, by data file): one per
// file holding more superseded rows than its delete files name.
func (t *Table) newDeletes(ctx context.Context, spec iceberg.PartitionSpec, files []catalog.FileRecord, sup Superseded, deletes map[string][]iceberg.DataFile) ([]iceberg.DataFile, error) {
	var pairs map[catalog.ObjectLoad]bool
	var out []iceberg.DataFile
	for _, f := range files {
		n := sup.Rows[f.Path]
		if n == 0 {
			continue
		}
		abs := t.location(f.Path)
		var named int64
		for _, d := range deletes[abs] {
			named += d.Count()
		}
		if named >= n {
			continue
		}
		if pairs == nil {
			var err error
			if pairs, err = sup.Pairs(ctx); err != nil {
				return nil, err
			}
		}
		pos, err := t.supersededPositions(abs, pairs)
		if err != nil {
			return nil, fmt.Errorf("icetable: superseded rows of %s: %w", f.Path, err)
		}
		done := map[int64]bool{}
		for _, d := range deletes[abs] {
			if err := t.readDeletes(d.FilePath(), abs, done); err != nil {
				return nil, err
			}
		}
		pos = slices.DeleteFunc(pos, func(p int64) bool { return done[p] })
		if len(pos) == 0 {
			continue
		}
		part, err := t.kind.partition(f)
		if err != nil {
			return nil, err
		}
		df, err := t.writeDeletes(spec, part, abs, pos)
		if err != nil {
			return nil, err
		}
		out = append(out, df)
	}
	return out, nil
}

// supersededPositions reads the positions of the superseded rows of data
// file abs (a local path, or a URL in the bucket) through the table's IO.
func (t *Table) supersededPositions(abs string, pairs map[catalog.ObjectLoad]bool) ([]int64, error) {
	f, err := t.fs.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	return lake.SupersededPositionsIn(f, size, t.name, pairs)
}

// deleteRow is a row of a position delete file.
type deleteRow struct {
	FilePath string `parquet:"file_path"`
	Pos      int64  `parquet:"pos"`
}

var deleteSchema = parquet.NewSchema("delete", parquet.Group{
	"file_path": parquet.FieldID(parquet.String(), fieldDeleteFilePath),
	"pos":       parquet.FieldID(parquet.Int(64), fieldDeletePos),
})

// writeDeletes writes a position delete file naming positions pos (sorted)
// of data file target, in the table's metadata folder, and describes it.
func (t *Table) writeDeletes(spec iceberg.PartitionSpec, part map[int]any, target string, pos []int64) (iceberg.DataFile, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[deleteRow](&buf, deleteSchema, parquet.Compression(&parquet.Zstd))
	rows := make([]deleteRow, len(pos))
	for i, p := range pos {
		rows[i] = deleteRow{target, p}
	}
	if _, err := w.Write(rows); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	// (Not path.Join: it would fold a URL's "//".)
	name := strings.TrimSuffix(t.store.Dir(), "/") + "/deletes-" + hex.EncodeToString(id[:]) + ".parquet"
	wfs, ok := t.fs.(iceio.WriteFileIO)
	if !ok {
		return nil, fmt.Errorf("icetable: write %s: the table's file system cannot write", name)
	}
	if err := wfs.WriteFile(name, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("icetable: write %s: %w", name, err)
	}
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentPosDeletes, name, iceberg.ParquetFile, part, nil, nil, int64(len(pos)), int64(buf.Len()))
	if err != nil {
		return nil, err
	}
	lo, hi := make([]byte, 8), make([]byte, 8)
	binary.LittleEndian.PutUint64(lo, uint64(pos[0]))
	binary.LittleEndian.PutUint64(hi, uint64(pos[len(pos)-1]))
	b.ReferencedDataFile(target).
		ValueCounts(map[int]int64{fieldDeleteFilePath: int64(len(pos)), fieldDeletePos: int64(len(pos))}).
		NullValueCounts(map[int]int64{fieldDeleteFilePath: 0, fieldDeletePos: 0}).
		LowerBoundValues(map[int][]byte{fieldDeleteFilePath: []byte(target), fieldDeletePos: lo}).
		UpperBoundValues(map[int][]byte{fieldDeleteFilePath: []byte(target), fieldDeletePos: hi})
	return b.Build(), nil
}

// readDeletes adds to done the positions of target that delete file name
// holds.
func (t *Table) readDeletes(name, target string, done map[int64]bool) error {
	f, err := t.fs.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	r := parquet.NewGenericReader[deleteRow](readerAt{f, size})
	defer r.Close()
	buf := make([]deleteRow, 1024)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			if row.FilePath == target {
				done[row.Pos] = true
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("icetable: read %s: %w", name, err)
		}
	}
}

type readerAt struct {
	io.ReaderAt
	size int64
}

func (r readerAt) Size() int64 { return r.size }
