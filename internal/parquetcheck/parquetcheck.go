// Package parquetcheck verifies that Parquet files are what a reader that
// trusts their metadata expects: column and offset indexes, chunk
// statistics, bloom filters and sorting_columns are checked against the
// values actually stored, page by page. It reads the files with Apache
// Arrow's Go Parquet implementation (not the library eventlake writes with,
// and not DuckDB, which ignores the page index), the way Spark, Trino or
// Athena use that metadata: a point lookup chooses candidate pages from
// the column index and must find every existing value in them.
package parquetcheck

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Options says what a lake's files must carry beyond valid metadata.
type Options struct {
	// Bloom lists, per table (the lake's top-level folder, e.g. "events"),
	// the columns that must have a bloom filter in every row group. Every
	// value of those columns must be "maybe present", and they are the
	// columns whose values are looked up through the column index.
	Bloom map[string][]string
	// Sorted lists, per table, the columns every file of that table must
	// declare in sorting_columns (ascending, in this order). A declaration
	// is always checked against the rows, whether required or not.
	Sorted map[string][]string
	// AbsentProbes is the number of random absent values probed per bloom
	// filter to measure its false-positive rate (default 200).
	AbsentProbes int
}

// Report sums what was checked.
type Report struct {
	Files, RowGroups, Chunks, Pages int
	// NoColumnIndex counts column chunks written without a column index
	// (allowed: a reader then cannot prune that column's pages).
	NoColumnIndex int
	// Lookups counts values of the Bloom columns looked up with page
	// pruning; each found its row.
	Lookups int
	// BloomValues counts present values checked against bloom filters;
	// AbsentProbes and FalsePositives measure the false-positive rate.
	BloomValues, AbsentProbes, FalsePositives int
	// SortedRowGroups counts row groups whose sorting_columns were verified.
	SortedRowGroups int
}

// FalsePositiveRate is FalsePositives / AbsentProbes.
func (r Report) FalsePositiveRate() float64 {
	if r.AbsentProbes == 0 {
		return 0
	}
	return float64(r.FalsePositives) / float64(r.AbsentProbes)
}

func (r *Report) add(o Report) {
	r.Files += o.Files
	r.RowGroups += o.RowGroups
	r.Chunks += o.Chunks
	r.Pages += o.Pages
	r.NoColumnIndex += o.NoColumnIndex
	r.Lookups += o.Lookups
	r.BloomValues += o.BloomValues
	r.AbsentProbes += o.AbsentProbes
	r.FalsePositives += o.FalsePositives
	r.SortedRowGroups += o.SortedRowGroups
}

// CheckLake checks every .parquet file of the lake's tables (folders whose
// names start with '_' or '.' are skipped, except _rejects). It returns
// every problem found, joined, not just the first.
func CheckLake(lake string, o Options) (Report, error) {
	var rep Report
	var errs []error
	err := filepath.WalkDir(lake, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lake, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && !strings.Contains(rel, "/") && (strings.HasPrefix(rel, "_") || strings.HasPrefix(rel, ".")) && rel != "_rejects" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".parquet") {
			return nil
		}
		table, _, _ := strings.Cut(rel, "/")
		r, err := CheckFile(path, o.Bloom[table], o.Sorted[table], o.AbsentProbes)
		rep.add(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if rep.Files == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no Parquet files under %s", lake))
	}
	return rep, errors.Join(errs...)
}

// column holds one column chunk's decoded values, by row (flat columns
// only: eventlake writes no nested columns).
type column struct {
	name   string
	desc   *schema.Column
	null   []bool
	values [][]byte // PLAIN encoding of each non-null value (as in statistics)
	cmp    func(a, b []byte) int
}

// CheckFile checks one file. bloom are the columns that must carry bloom
// filters (and are looked up through the column index), sorted the
// columns it must declare as sorted.
func CheckFile(path string, bloom, sorted []string, absentProbes int) (Report, error) {
	rep := Report{Files: 1}
	if absentProbes <= 0 {
		absentProbes = 200
	}
	f, err := file.OpenParquetFile(path, false)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	md := f.MetaData()
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	pir := f.GetPageIndexReader()
	bfr := f.GetBloomFilterReader()
	rnd := rand.New(rand.NewSource(int64(len(path))))
	for rg := 0; rg < f.NumRowGroups(); rg++ {
		rep.RowGroups++
		rgr := f.RowGroup(rg)
		rgmd := rgr.MetaData()
		nrows := rgmd.NumRows()
		cols := make([]*column, rgr.NumColumns())
		for ci := range cols {
			c, err := readColumn(rgr, ci)
			if err != nil {
				return rep, fmt.Errorf("row group %d column %d: %w", rg, ci, err)
			}
			cols[ci] = c
			if int64(len(c.null)) != nrows {
				fail("row group %d column %s: %d values for %d rows", rg, c.name, len(c.null), nrows)
			}
		}
		pidx, err := pir.RowGroup(rg)
		if err != nil {
			return rep, fmt.Errorf("row group %d: page index: %w", rg, err)
		}
		pages := make([][]int64, len(cols)) // first row of each page, plus nrows
		for ci, c := range cols {
			rep.Chunks++
			where := fmt.Sprintf("row group %d column %s", rg, c.name)
			cc, err := rgmd.ColumnChunk(ci)
			if err != nil {
				return rep, err
			}
			checkChunkStats(cc, c, where, fail)
			starts, err := pageStarts(rgr, pidx, ci, nrows)
			if err != nil {
				fail("%s: %v", where, err)
				continue
			}
			pages[ci] = starts
			rep.Pages += len(starts) - 1
			if cc.GetColumnIndexLocation() == nil {
				rep.NoColumnIndex++
				continue
			}
			ci2, err := pidx.GetColumnIndex(ci)
			if err != nil {
				fail("%s: column index: %v", where, err)
				continue
			}
			checkColumnIndex(ci2, c, starts, where, fail)
		}
		// Lookups through the column index, and bloom filters.
		var bf *metadata.RowGroupBloomFilterReader
		if len(bloom) > 0 {
			if bf, err = bfr.RowGroup(rg); err != nil {
				return rep, err
			}
		}
		for _, name := range bloom {
			ci := slices.IndexFunc(cols, func(c *column) bool { return c.name == name })
			if ci < 0 {
				fail("row group %d: no column %s", rg, name)
				continue
			}
			c := cols[ci]
			where := fmt.Sprintf("row group %d column %s", rg, name)
			if pages[ci] != nil {
				if ix, err := pidx.GetColumnIndex(ci); err == nil && ix != nil {
					rep.Lookups += lookups(ix, c, pages[ci], where, fail)
				}
			}
			filter, err := bf.GetColumnBloomFilter(ci)
			if err != nil {
				fail("%s: bloom filter: %v", where, err)
				continue
			}
			if filter == nil {
				fail("%s: no bloom filter", where)
				continue
			}
			present := map[string]bool{}
			h := filter.Hasher()
			for i, v := range c.values {
				if c.null[i] {
					continue
				}
				present[string(v)] = true
				rep.BloomValues++
				if !filter.CheckHash(h.Sum64(v)) {
					fail("%s: bloom filter says %q is absent, but row %d holds it", where, clip(v), i)
				}
			}
			for range absentProbes {
				v := fmt.Appendf(nil, "absent-%d-%x", rnd.Int63(), rnd.Int63())
				if present[string(v)] {
					continue
				}
				rep.AbsentProbes++
				if filter.CheckHash(h.Sum64(v)) {
					rep.FalsePositives++
				}
			}
		}
		// sorting_columns.
		sc := rgmd.SortingColumns()
		if len(sorted) > 0 {
			var got []string
			for _, s := range sc {
				if int(s.ColumnIdx) < len(cols) && !s.Descending {
					got = append(got, cols[s.ColumnIdx].name)
				}
			}
			if !slices.Equal(got, sorted) {
				fail("row group %d: sorting_columns = %v (%d declared), want %v ascending", rg, got, len(sc), sorted)
			}
		}
		if len(sc) > 0 {
			rep.SortedRowGroups++
			checkSorted(cols, sc, nrows, rg, fail)
		}
	}
	_ = md
	return rep, errors.Join(errs...)
}

// readColumn decodes one column chunk.
func readColumn(rgr *file.RowGroupReader, i int) (*column, error) {
	cr, err := rgr.Column(i)
	if err != nil {
		return nil, err
	}
	desc := cr.Descriptor()
	if desc.MaxRepetitionLevel() > 0 {
		return nil, errors.New("repeated columns are not supported")
	}
	c := &column{name: desc.Path(), desc: desc}
	n := rgr.NumRows()
	defs := make([]int16, n)
	maxDef := desc.MaxDefinitionLevel()
	appendVals := func(read int64, get func(k int) []byte) {
		k := 0
		for _, d := range defs[:read] {
			if d < maxDef {
				c.null = append(c.null, true)
				c.values = append(c.values, nil)
			} else {
				c.null = append(c.null, false)
				c.values = append(c.values, get(k))
				k++
			}
		}
	}
	switch r := cr.(type) {
	case *file.ByteArrayColumnChunkReader:
		c.cmp = bytes.Compare
		vals := make([]parquet.ByteArray, n)
		for r.HasNext() {
			read, _, err := r.ReadBatch(n, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			appendVals(read, func(k int) []byte { return bytes.Clone(vals[k]) })
		}
	case *file.Int64ColumnChunkReader:
		c.cmp = func(a, b []byte) int {
			return cmp.Compare(int64(binary.LittleEndian.Uint64(a)), int64(binary.LittleEndian.Uint64(b)))
		}
		vals := make([]int64, n)
		for r.HasNext() {
			read, _, err := r.ReadBatch(n, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			appendVals(read, func(k int) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(vals[k])) })
		}
	case *file.Int32ColumnChunkReader:
		c.cmp = func(a, b []byte) int {
			return cmp.Compare(int32(binary.LittleEndian.Uint32(a)), int32(binary.LittleEndian.Uint32(b)))
		}
		vals := make([]int32, n)
		for r.HasNext() {
			read, _, err := r.ReadBatch(n, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			appendVals(read, func(k int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(vals[k])) })
		}
	default:
		return nil, fmt.Errorf("column %s: physical type %s is not supported", c.name, desc.PhysicalType())
	}
	return c, nil
}

// pageStarts returns the first row of every data page of column i (from
// the offset index, checked against the pages themselves), plus nrows.
func pageStarts(rgr *file.RowGroupReader, pidx *metadata.RowGroupPageIndexReader, i int, nrows int64) ([]int64, error) {
	oi, err := pidx.GetOffsetIndex(i)
	if err != nil {
		return nil, fmt.Errorf("offset index: %w", err)
	}
	if oi == nil {
		return nil, errors.New("no offset index")
	}
	var starts []int64
	for _, loc := range oi.GetPageLocations() {
		starts = append(starts, loc.FirstRowIndex)
	}
	// The pages as the page reader sees them: a flat column has one value
	// (null or not) per row.
	pr, err := rgr.GetColumnPageReader(i)
	if err != nil {
		return nil, err
	}
	var counts []int64
	for pr.Next() {
		switch p := pr.Page().(type) {
		case *file.DataPageV1:
			counts = append(counts, int64(p.NumValues()))
		case *file.DataPageV2:
			counts = append(counts, int64(p.NumValues()))
		}
	}
	if err := pr.Err(); err != nil {
		return nil, err
	}
	if len(counts) != len(starts) {
		return nil, fmt.Errorf("offset index lists %d pages, the column chunk has %d data pages", len(starts), len(counts))
	}
	var row int64
	for p, n := range counts {
		if starts[p] != row {
			return nil, fmt.Errorf("offset index: page %d starts at row %d, the pages say %d", p, starts[p], row)
		}
		row += n
	}
	if row != nrows {
		return nil, fmt.Errorf("pages hold %d rows, the row group %d", row, nrows)
	}
	return append(starts, nrows), nil
}

// checkColumnIndex checks null_pages, null_counts and that each non-null
// page's min and max bound every value in it.
func checkColumnIndex(ix metadata.ColumnIndex, c *column, starts []int64, where string, fail func(string, ...any)) {
	np, mins, maxs := ix.GetNullPages(), ix.GetMinValues(), ix.GetMaxValues()
	npages := len(starts) - 1
	if len(np) != npages || len(mins) != npages || len(maxs) != npages {
		fail("%s: column index has %d/%d/%d null_pages/min/max entries for %d pages", where, len(np), len(mins), len(maxs), npages)
		return
	}
	var counts []int64
	if ix.IsSetNullCounts() {
		counts = ix.GetNullCounts()
	}
	for p := range npages {
		var nulls int64
		var lo, hi []byte
		for r := starts[p]; r < starts[p+1]; r++ {
			if c.null[r] {
				nulls++
				continue
			}
			v := c.values[r]
			if lo == nil || c.cmp(v, lo) < 0 {
				lo = v
			}
			if hi == nil || c.cmp(v, hi) > 0 {
				hi = v
			}
		}
		rows := starts[p+1] - starts[p]
		if np[p] != (nulls == rows) {
			fail("%s page %d: null_pages=%v, but %d of %d values are null", where, p, np[p], nulls, rows)
		}
		if counts != nil && p < len(counts) && counts[p] != nulls {
			fail("%s page %d: null_counts=%d, the page has %d nulls", where, p, counts[p], nulls)
		}
		if np[p] || lo == nil {
			continue
		}
		if !validPlain(c, mins[p]) || !validPlain(c, maxs[p]) {
			fail("%s page %d: min/max %q/%q are not %s values", where, p, clip(mins[p]), clip(maxs[p]), c.desc.PhysicalType())
			continue
		}
		if c.cmp(mins[p], lo) > 0 {
			fail("%s page %d: column index min %q > smallest value %q", where, p, clip(mins[p]), clip(lo))
		}
		if c.cmp(maxs[p], hi) < 0 {
			fail("%s page %d: column index max %q < largest value %q", where, p, clip(maxs[p]), clip(hi))
		}
	}
}

func validPlain(c *column, v []byte) bool {
	switch c.desc.PhysicalType() {
	case parquet.Types.Int64:
		return len(v) == 8
	case parquet.Types.Int32:
		return len(v) == 4
	}
	return true
}

// checkChunkStats checks the column chunk's statistics, when present.
func checkChunkStats(cc *metadata.ColumnChunkMetaData, c *column, where string, fail func(string, ...any)) {
	set, err := cc.StatsSet()
	if err != nil || !set {
		return
	}
	st, err := cc.Statistics()
	if err != nil || st == nil {
		return
	}
	var nulls int64
	for _, n := range c.null {
		if n {
			nulls++
		}
	}
	if st.HasNullCount() && st.NullCount() != nulls {
		fail("%s: statistics null_count=%d, the chunk has %d nulls", where, st.NullCount(), nulls)
	}
	if !st.HasMinMax() {
		return
	}
	lo, hi := st.EncodeMin(), st.EncodeMax()
	for r, v := range c.values {
		if c.null[r] {
			continue
		}
		if c.cmp(v, lo) < 0 || c.cmp(v, hi) > 0 {
			fail("%s: row %d value %q outside statistics [%q, %q]", where, r, clip(v), clip(lo), clip(hi))
			return
		}
	}
}

// lookups looks every non-null value of c up the way a page-pruning
// reader does: it keeps the pages whose [min, max] may hold the value and
// reads only those. Every row holding the value must be in them. It
// returns the number of distinct values looked up.
func lookups(ix metadata.ColumnIndex, c *column, starts []int64, where string, fail func(string, ...any)) int {
	np, mins, maxs := ix.GetNullPages(), ix.GetMinValues(), ix.GetMaxValues()
	npages := len(starts) - 1
	if len(np) != npages || len(mins) != npages || len(maxs) != npages {
		return 0 // reported by checkColumnIndex
	}
	rowsOf := map[string][]int64{}
	for r, v := range c.values {
		if !c.null[r] {
			rowsOf[string(v)] = append(rowsOf[string(v)], int64(r))
		}
	}
	for v, rows := range rowsOf {
		key := []byte(v)
		found := 0
		for p := range npages {
			if np[p] || c.cmp(key, mins[p]) < 0 || c.cmp(key, maxs[p]) > 0 {
				continue // pruned
			}
			for r := starts[p]; r < starts[p+1]; r++ {
				if !c.null[r] && bytes.Equal(c.values[r], key) {
					found++
				}
			}
		}
		if found != len(rows) {
			fail("%s: a lookup of %q through the column index finds %d of its %d rows", where, clip(key), found, len(rows))
		}
	}
	return len(rowsOf)
}

// checkSorted checks that the rows of a row group are in the order its
// sorting_columns declare.
func checkSorted(cols []*column, sc []parquet.SortingColumn, nrows int64, rg int, fail func(string, ...any)) {
	for _, s := range sc {
		if int(s.ColumnIdx) >= len(cols) {
			fail("row group %d: sorting column %d does not exist", rg, s.ColumnIdx)
			return
		}
	}
	for r := int64(1); r < nrows; r++ {
		for _, s := range sc {
			c := cols[s.ColumnIdx]
			a, b := r-1, r
			var d int
			switch {
			case c.null[a] && c.null[b]:
				d = 0
			case c.null[a] || c.null[b]:
				d = 1 // a null after a value: wrong with nulls_first
				if c.null[a] == s.NullsFirst {
					d = -1
				}
			default:
				d = c.cmp(c.values[a], c.values[b])
				if s.Descending {
					d = -d
				}
			}
			if d < 0 {
				break
			}
			if d > 0 {
				fail("row group %d: rows %d and %d are not in the declared order of %s", rg, a, b, c.name)
				return
			}
		}
	}
}

func clip(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}
