package partitions

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// byteArrayBoundsOracle is upstream parquet-go v0.32.0's byteArrayPage
// bounds, kept as the oracle of the copy's (third_party/parquet-go).
func byteArrayBoundsOracle(values []byte, offsets []uint32) (min, max []byte) {
	index := func(i int) []byte { j, k := offsets[i], offsets[i+1]; return values[j:k:k] }
	if n := len(offsets) - 1; n > 0 {
		min = index(0)
		max = min
		for i := 1; i < n; i++ {
			v := index(i)
			switch {
			case bytes.Compare(v, min) < 0:
				min = v
			case bytes.Compare(v, max) > 0:
				max = v
			}
		}
	}
	return min, max
}

// FuzzByteArrayPageBounds checks the bounds of BYTE_ARRAY pages against
// the oracle: values of 0–19 bytes cut from data (short ones, empty ones,
// zero bytes, shared prefixes), near the end of the page's buffer or not.
func FuzzByteArrayPageBounds(f *testing.F) {
	f.Add([]byte("2024-06-04-00000001OPENUSD\x00\x00a\xffab"), []byte{10, 9, 4, 3, 0, 1, 1, 2, 1, 2, 0})
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaa"), []byte{8, 9, 7, 0, 1, 19, 8})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{1, 0, 2, 8, 9, 3})
	f.Fuzz(func(t *testing.T, data, lens []byte) {
		if len(data) == 0 || len(lens) == 0 {
			return
		}
		var values []byte
		offsets := []uint32{0}
		p := 0
		for _, l := range lens {
			for range int(l % 20) {
				values = append(values, data[p%len(data)])
				p++
			}
			offsets = append(offsets, uint32(len(values)))
		}
		page := parquet.ByteArrayType.NewPage(0, len(lens), encoding.ByteArrayValues(values, offsets))
		gotMin, gotMax, ok := page.Bounds()
		if !ok {
			t.Fatal("no bounds")
		}
		wantMin, wantMax := byteArrayBoundsOracle(values, offsets)
		if !bytes.Equal(gotMin.ByteArray(), wantMin) || !bytes.Equal(gotMax.ByteArray(), wantMax) {
			t.Fatalf("bounds %q, %q, want %q, %q", gotMin.ByteArray(), gotMax.ByteArray(), wantMin, wantMax)
		}
	})
}

// BenchmarkByteArrayPageBounds compares the bounds of BYTE_ARRAY pages of
// CSV-like values (ids sharing a long prefix, store codes, amounts, UUIDs)
// by upstream's code (the oracle) and by the copy's.
func BenchmarkByteArrayPageBounds(b *testing.B) {
	shapes := map[string]func(i int) string{
		"order_id": func(i int) string { return fmt.Sprintf("2024-06-04-%08d", i*7919%100000) },
		"store":    func(i int) string { return fmt.Sprintf("STORE-%d", i*31%97) },
		"amount":   func(i int) string { return fmt.Sprintf("%d.%02d", i*13%500, i%100) },
		"uuid":     func(i int) string { return fmt.Sprintf("%08x-%04x-4000-8000-%012x", uint32(i*2654435761), i%65536, i) },
	}
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		var values []byte
		offsets := []uint32{0}
		for i := range 8192 {
			values = append(values, shapes[name](i)...)
			offsets = append(offsets, uint32(len(values)))
		}
		page := parquet.ByteArrayType.NewPage(0, len(offsets)-1, encoding.ByteArrayValues(values, offsets))
		b.Run(name+"/upstream", func(b *testing.B) {
			for b.Loop() {
				byteArrayBoundsOracle(values, offsets)
			}
		})
		b.Run(name+"/copy", func(b *testing.B) {
			for b.Loop() {
				page.Bounds()
			}
		})
	}
}
