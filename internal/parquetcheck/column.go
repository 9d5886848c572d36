package parquetcheck

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Column reads one column of a Parquet file with Apache Arrow's reader (not
// the library the lake's writers use, nor DuckDB) and returns its values in
// file order. T is the value type of the column's arrow arrays: string for
// text, int64 for INT64. A null reads as T's zero value.
func Column[T any](path, column string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(memory.DefaultAllocator), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("arrow read %s: %w", path, err)
	}
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices(column)
	if len(idx) != 1 {
		return nil, fmt.Errorf("%s: column %q not found in %s", path, column, tbl.Schema())
	}
	var out []T
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		a, ok := chunk.(interface {
			Value(int) T
			Len() int
		})
		if !ok {
			return nil, fmt.Errorf("%s: column %q is %T", path, column, chunk)
		}
		for i := range a.Len() {
			out = append(out, a.Value(i))
		}
	}
	if int64(len(out)) != tbl.NumRows() {
		return nil, fmt.Errorf("%s: %d values of %q, %d rows", path, len(out), column, tbl.NumRows())
	}
	return out, nil
}
