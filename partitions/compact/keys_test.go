package compact

import (
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// Pass 1 reads exactly the columns the de-duplication rule needs (the
// partition columns come from the folder), with the types EventRow writes.
func TestKeyRowIsTheDedupRule(t *testing.T) {
	want := []string{}
	for _, p := range schema.EventsDedup.PartitionBy {
		if !slices.ContainsFunc(schema.EventPartitions, func(c schema.Column) bool { return c.Name == p }) {
			want = append(want, p)
		}
	}
	for _, o := range schema.EventsDedup.OrderBy {
		want = append(want, o.Column)
	}
	stored := map[string]parquet.Field{}
	for _, f := range parquet.SchemaOf(partitions.EventRow{}).Fields() {
		stored[f.Name()] = f
	}
	var got []string
	for _, f := range parquet.SchemaOf(keyRow{}).Fields() {
		got = append(got, f.Name())
		s, ok := stored[f.Name()]
		if !ok {
			t.Errorf("keyRow reads %s, which EventRow does not write", f.Name())
			continue
		}
		if f.Type().String() != s.Type().String() || f.Optional() != s.Optional() {
			t.Errorf("keyRow reads %s as %s (optional %v); EventRow writes %s (optional %v)", f.Name(), f.Type(), f.Optional(), s.Type(), s.Optional())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keyRow reads %v; the rule needs %v", got, want)
	}
	for c := range eventColumns {
		if _, ok := stored[c]; !ok {
			t.Errorf("events column %s is not in EventRow", c)
		}
	}
}
