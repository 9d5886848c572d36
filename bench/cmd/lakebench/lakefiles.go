package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// outputStats describes a Hive-partitioned Parquet folder as written.
type outputStats struct {
	Bytes         int64            // apparent size of every file (like du -b)
	Files         int              // Parquet files
	Rows          int64            // rows in the Parquet footers
	PartitionRows map[string]int64 // "domain=<d>/event_date=<date>" → rows
	MaxFiles      int              // the most Parquet files in one partition
}

// scanOutput walks dir, adds up file sizes and reads the row count of each
// Parquet footer (only the footer: cheap even for thousands of files). A
// Parquet file's partition is the folder path below dir.
func scanOutput(dir string) (outputStats, error) {
	st := outputStats{PartitionRows: map[string]int64{}}
	files := map[string]int{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st.Bytes += info.Size()
		if !strings.HasSuffix(d.Name(), ".parquet") || !info.Mode().IsRegular() {
			return nil
		}
		n, err := parquetRows(p, info.Size())
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err != nil {
			return err
		}
		st.Files++
		st.Rows += n
		st.PartitionRows[filepath.ToSlash(rel)] += n
		files[rel]++
		st.MaxFiles = max(st.MaxFiles, files[rel])
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("scan %s: %w", dir, err)
	}
	return st, nil
}

func parquetRows(path string, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("parquet footer of %s: %w", path, err)
	}
	return pf.NumRows(), nil
}

// diffPartitions lists up to max differences between the rows per partition
// a tool wrote and the corpus's, empty when they agree exactly.
func diffPartitions(got, want map[string]int64, max int) []string {
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var diffs []string
	for _, k := range sorted {
		if got[k] != want[k] {
			if len(diffs) == max {
				diffs = append(diffs, "…")
				break
			}
			diffs = append(diffs, fmt.Sprintf("%s: %d rows, want %d", k, got[k], want[k]))
		}
	}
	return diffs
}

// warmCache reads every file under dir once, so the first timed run does not
// pay for the disk while later ones read the page cache.
func warmCache(dir string) error {
	buf := make([]byte, 1<<20)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		for {
			_, err := f.Read(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
		}
	})
}
