package partitions_test

import (
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// parquetType is the lake column type a Parquet leaf stores, or 0 when it
// is none of the lake's.
func parquetType(f parquet.Field) schema.ColumnType {
	t := f.Type()
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch v := lt.(type) {
	case nil:
		switch t.Kind() {
		case parquet.Int32:
			return schema.TypeInt32
		case parquet.Int64:
			return schema.TypeInt64
		}
	case *format.IntType:
		switch {
		case v.IsSigned && v.BitWidth == 32 && t.Kind() == parquet.Int32:
			return schema.TypeInt32
		case v.IsSigned && v.BitWidth == 64 && t.Kind() == parquet.Int64:
			return schema.TypeInt64
		}
	case *format.StringType:
		if t.Kind() == parquet.ByteArray {
			return schema.TypeString
		}
	case *format.JsonType:
		if t.Kind() == parquet.ByteArray {
			return schema.TypeJSON
		}
	case *format.DateType:
		if t.Kind() == parquet.Int32 {
			return schema.TypeDate
		}
	case *format.TimestampType:
		if _, micros := v.Unit.Value.(*format.MicroSeconds); micros && v.IsAdjustedToUTC && t.Kind() == parquet.Int64 {
			return schema.TypeTimestamp
		}
	}
	return 0
}

// EventRow, the type the writer stores, has exactly the declared events
// columns: same names in the same order, same logical types, optional
// exactly where nullable.
func TestEventRowMatchesSchema(t *testing.T) {
	fields := parquet.SchemaOf(partitions.EventRow{}).Fields()
	if len(fields) != len(schema.EventColumns) {
		t.Fatalf("EventRow has %d columns, schema.EventColumns %d", len(fields), len(schema.EventColumns))
	}
	for i, f := range fields {
		c := schema.EventColumns[i]
		if f.Name() != c.Name {
			t.Errorf("column %d: EventRow has %s, schema %s", i, f.Name(), c.Name)
		}
		if got := parquetType(f); got != c.Type {
			t.Errorf("column %s: EventRow stores %v (%s), schema says %v", c.Name, got, f.Type(), c.Type)
		}
		if f.Optional() != c.Nullable {
			t.Errorf("column %s: EventRow optional=%v, schema nullable=%v", c.Name, f.Optional(), c.Nullable)
		}
	}
}
