package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
)

// superseding works out what a transaction that supersedes rows (a load of
// objects marked for reprocessing, a forget) does to the lake's files: the
// (object, load) pairs it supersedes, how many rows of each live file are
// superseded once it is published (counting earlier supersedes too), and
// which files have no row left and are retired by the transaction. Only
// the files that can hold rows of the superseded loads are read, and of
// them only the object and _load_id columns.
func (w *Writer) superseding(ctx context.Context, ch Changes) ([]catalog.Superseded, []catalog.SupersededFile, []string, error) {
	plan, err := w.Catalog.SupersedePlan(ctx, ch.Objects, ch.Forget)
	if err != nil || len(plan) == 0 {
		return nil, nil, nil, err
	}
	old, err := w.Catalog.SupersededPairs(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	pairs := make(map[catalog.ObjectLoad]bool, len(old)+len(plan))
	for _, p := range old {
		pairs[p] = true
	}
	var loads []string
	seen := map[string]bool{}
	for _, s := range plan {
		pairs[catalog.ObjectLoad{Object: s.URL(), LoadID: s.OldLoad}] = true
		if !seen[s.OldLoad] {
			seen[s.OldLoad] = true
			loads = append(loads, s.OldLoad)
		}
	}
	files, err := w.Catalog.FilesHoldingLoads(ctx, loads)
	if err != nil {
		return nil, nil, nil, err
	}
	var counts []catalog.SupersededFile
	var retires []string
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		local, err := w.localFile(ctx, f.Path)
		if err != nil {
			return nil, nil, nil, err
		}
		n, err := countSuperseded(local, f.Table, pairs)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("counting superseded rows of %s: %w", f.Path, err)
		}
		if n == f.Superseded {
			continue
		}
		counts = append(counts, catalog.SupersededFile{Path: f.Path, Rows: n})
		if n == f.Rows {
			retires = append(retires, f.Path)
		}
	}
	return plan, counts, retires, nil
}

// countSuperseded counts the rows of a lake file whose (object, _load_id)
// is one of pairs. The object column is "_object", or "object" in the
// rejects table.
func countSuperseded(path, table string, pairs map[catalog.ObjectLoad]bool) (int64, error) {
	var n int64
	err := supersededRows(path, table, pairs, func(int64) { n++ })
	return n, err
}

// SupersededPositions returns the positions (0-based row numbers in the
// file) of the rows of a lake file whose (object, _load_id) is one of
// pairs, in order: what a table format's position deletes name.
func SupersededPositions(path, table string, pairs map[catalog.ObjectLoad]bool) ([]int64, error) {
	var out []int64
	err := supersededRows(path, table, pairs, func(pos int64) { out = append(out, pos) })
	return out, err
}

func supersededRows(path, table string, pairs map[catalog.ObjectLoad]bool, row func(pos int64)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return supersededRowsIn(f, st.Size(), table, pairs, row)
}

// SupersededPositionsIn is SupersededPositions of a Parquet file read
// through r (size bytes): a file in a bucket, read by ranges.
func SupersededPositionsIn(r io.ReaderAt, size int64, table string, pairs map[catalog.ObjectLoad]bool) ([]int64, error) {
	var out []int64
	err := supersededRowsIn(r, size, table, pairs, func(pos int64) { out = append(out, pos) })
	return out, err
}

func supersededRowsIn(f io.ReaderAt, size int64, table string, pairs map[catalog.ObjectLoad]bool, row func(pos int64)) (err error) {
	objCol := "_object"
	if table == partitions.RejectsTable {
		objCol = "object"
	}
	defer func() {
		// parquet-go panics on some malformed inputs.
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable Parquet: %v", r)
		}
	}()
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return err
	}
	oc, ok1 := pf.Schema().Lookup(objCol)
	lc, ok2 := pf.Schema().Lookup("_load_id")
	if !ok1 || !ok2 {
		return fmt.Errorf("no %s or _load_id column", objCol)
	}
	var pos int64
	for _, rg := range pf.RowGroups() {
		chunks := rg.ColumnChunks()
		objs, err := columnStrings(chunks[oc.ColumnIndex])
		if err != nil {
			return fmt.Errorf("column %s: %w", objCol, err)
		}
		ids, err := columnStrings(chunks[lc.ColumnIndex])
		if err != nil {
			return fmt.Errorf("column _load_id: %w", err)
		}
		if len(objs) != len(ids) {
			return fmt.Errorf("columns %s and _load_id have %d and %d values", objCol, len(objs), len(ids))
		}
		for i := range objs {
			if pairs[catalog.ObjectLoad{Object: objs[i], LoadID: ids[i]}] {
				row(pos + int64(i))
			}
		}
		pos += int64(len(objs))
	}
	return nil
}

// columnStrings reads every value of a string column chunk (a null as "").
func columnStrings(cc parquet.ColumnChunk) ([]string, error) {
	pages := cc.Pages()
	defer pages.Close()
	var out []string
	buf := make([]parquet.Value, 1024)
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		r := p.Values()
		for {
			k, err := r.ReadValues(buf)
			for _, v := range buf[:k] {
				if v.IsNull() {
					out = append(out, "")
				} else {
					out = append(out, string(v.ByteArray()))
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(p)
				return nil, err
			}
		}
		parquet.Release(p)
	}
}

// localFile returns the local path of a lake file to read: in the lake's
// folder, or, for a lake in a bucket, a copy downloaded into the cache
// folder (kept there: a path is never reused for other contents).
func (w *Writer) localFile(ctx context.Context, path string) (string, error) {
	dst := w.Layout.File(path)
	if w.bucket == nil {
		return dst, nil
	}
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := catalog.CheckFilePath(path); err != nil {
		return "", err
	}
	if err := downloadFile(ctx, w.bucket.store, path, dst); err != nil {
		return "", fmt.Errorf("lake %s: download %s: %w", w.bucket.store.URL(), path, err)
	}
	return dst, nil
}

// MarkReprocess marks objects (selected with SelectObjects) for
// reprocessing in a transaction of its own (a commit with only
// Changes.Reprocess, crash points "reprocess-"), so the marks are in the
// commit's manifest or, in a bucket, in the commit log the next runner
// replays. With nothing selected it commits nothing.
func (w *Writer) MarkReprocess(ctx context.Context, objs []catalog.SelectedObject, hook func(string)) error {
	if len(objs) == 0 {
		return nil
	}
	ch := Changes{}
	for _, o := range objs {
		ch.Reprocess = append(ch.Reprocess, o.ObjectVersion)
	}
	tx, err := w.Begin(ctx, TxOptions{Command: catalog.ReprocessCommand, StepPrefix: ReprocessStepPrefix, Hook: hook})
	if err != nil {
		return err
	}
	return tx.Commit(ctx, ch)
}

// ReprocessStepPrefix prefixes the crash points of a reprocess marking.
const ReprocessStepPrefix = "reprocess-"
