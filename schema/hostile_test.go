package schema

import (
	"strings"
	"testing"
)

// Regression (testdata/hostile, class deep-nesting-10000): Members counts
// the record's own object as a nesting level, as Validate does, so a record
// one level deeper than MaxDepth is rejected by both.
func TestMembersDepthLimit(t *testing.T) {
	rec := func(dataDepth int) []byte {
		return []byte(`{"event_id":"x","data":` + strings.Repeat("[", dataDepth) + strings.Repeat("]", dataDepth) + `}`)
	}
	for _, tc := range []struct {
		dataDepth int
		ok        bool
	}{{MaxDepth - 1, true}, {MaxDepth, false}, {MaxDepth + 1, false}} {
		b := rec(tc.dataDepth)
		verr := Validate(b)
		merr := Members(b, func(k, v []byte) error { return nil })
		if (verr == nil) != tc.ok || (merr == nil) != tc.ok {
			t.Errorf("data nested %d deep: Validate = %v, Members = %v, want ok %v", tc.dataDepth, verr, merr, tc.ok)
		}
		if merr != nil && !strings.Contains(merr.Error(), "nesting deeper than 10000") {
			t.Errorf("data nested %d deep: Members error %q does not name the limit", tc.dataDepth, merr)
		}
	}
}
