package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/cputime"
)

// classifyBefore is classify as it was before its fast paths (a value
// without a space at either end is not trimmed; ASCII true and false are
// matched without case folding of Unicode): the oracle they are checked
// against, besides the regular expressions.
func classifyBefore(v string) (colKind, int) {
	v = strings.TrimSpace(v)
	if v == "" {
		return kNull, 0
	}
	switch v[0] | 0x20 {
	case 't', 'f':
		if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
			return kBool, 0
		}
		return kString, 0
	}
	if k, s, ok := scanCSVNumber(v); ok {
		return k, s
	}
	if k, ok := scanDateTime(v); ok {
		return k, 0
	}
	return kString, 0
}

// checkObserveRow observes rows with ObserveRow and field by field with
// Observe and requires the same types.
func checkObserveRow(t *testing.T, names []string, rows [][]string) {
	t.Helper()
	a, b := NewColumnTypes(names), NewColumnTypes(names)
	for _, r := range rows {
		a.ObserveRow(r)
		for i, v := range r {
			b.Observe(i, v)
		}
	}
	for i := range a.cols {
		if a.cols[i].kind != b.cols[i].kind || a.cols[i].Scale != b.cols[i].Scale {
			t.Fatalf("rows %q: column %d: ObserveRow %d,%d, Observe %d,%d", rows, i, a.cols[i].kind, a.cols[i].Scale, b.cols[i].kind, b.cols[i].Scale)
		}
	}
}

func TestObserveRow(t *testing.T) {
	names := []string{"a", "b", "c"}
	for _, v := range classifySeeds {
		for _, w := range classifySeeds[:20] {
			checkObserveRow(t, names, [][]string{{v}, {v, w}, {w, v, v, "beyond"}, {}})
		}
	}
}

// FuzzObserveRow compares ObserveRow with Observe over rows cut from the
// fuzzer's text (at '|', rows at '\n'), and classify with its former
// version on every field.
func FuzzObserveRow(f *testing.F) {
	for _, v := range classifySeeds {
		f.Add(v + "|" + v + "\n1|" + v)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var rows [][]string
		for _, line := range strings.Split(text, "\n") {
			row := strings.Split(line, "|")
			rows = append(rows, row)
			for _, v := range row {
				gk, gs := classify(v)
				wk, ws := classifyBefore(v)
				if gk != wk || gs != ws {
					t.Fatalf("classify(%q) = %d, %d; before %d, %d", v, gk, gs, wk, ws)
				}
			}
		}
		checkObserveRow(t, []string{"a", "b", "c", "d"}, rows)
	})
}

// BenchmarkColumnTypes observes JWO-like order rows with the former
// classify field by field and with ObserveRow, in turns, and reports both
// CPU times per row.
func BenchmarkColumnTypes(b *testing.B) {
	names := strings.Split("order_id,store_id,order_status,order_total,currency,item_count,is_refund,order_date,updated_at,customer_id,payment_method,card_last4,tax_amount,discount_amount,shopper_session_id,entry_gate,exit_gate", ",")
	var rows [][]string
	for i := range 1000 {
		rows = append(rows, []string{fmt.Sprint(101680748 + 7*i), fmt.Sprint("STORE-", i%12), "COMPLETED", fmt.Sprintf("%d.%02d", i%90, i%100), "USD",
			fmt.Sprint(i%12 + 1), []string{"false", "true"}[i%7/6], "2024-01-01", fmt.Sprintf("2024-01-01T23:%02d:%02dZ", i%60, i%59), fmt.Sprintf("C%07d", i*37),
			"CREDIT_CARD", fmt.Sprintf("%04d", i%9999), fmt.Sprintf("%d.%02d", i%9, i%100), []string{"", "1.99"}[i%3/2],
			"e9d457bf-5f76-4199-a412-2dbd21e9bf31", "G2", "G4"})
	}
	observeBefore := func(c *ColumnTypes, r []string) {
		for i, v := range r {
			if i >= len(c.cols) || c.cols[i].kind == kString {
				continue
			}
			k, s := classifyBefore(v)
			c.cols[i].kind, c.cols[i].Scale = widen(c.cols[i].kind, c.cols[i].Scale, k, s)
		}
	}
	cputime.InTurns(b, len(rows), "row", func() {
		c := NewColumnTypes(names)
		for _, r := range rows {
			observeBefore(c, r)
		}
	}, func() {
		c := NewColumnTypes(names)
		for _, r := range rows {
			c.ObserveRow(r)
		}
	})
}
