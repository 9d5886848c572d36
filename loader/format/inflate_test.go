package format

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/eventlake/eventlake/internal/native"
)

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func growHeap(keep []byte, n int) []byte {
	b := make([]byte, n)
	copy(b, keep)
	return b
}

// TestInflateAllAgreesWithDecompress: whatever InflateAll accepts, it
// inflates to exactly what the streaming Decompress reads; whatever
// Decompress refuses, InflateAll leaves to it (ok false).
func TestInflateAllAgreesWithDecompress(t *testing.T) {
	g := native.NewGunzipper()
	if g == nil {
		t.Skip("libdeflate not loaded")
	}
	big := strings.Repeat(`{"event_id":"e1","data":{"n":12345}}`+"\n", 50000) // 1.8 MB, ratio ≫ 2
	good := gzipOf(t, "hello\n")
	trunc := gzipOf(t, big)
	trunc = trunc[:len(trunc)/2]
	corrupt := gzipOf(t, big)
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := gzipOf(t, "checksum\n")
	badCRC[len(badCRC)-8] ^= 1
	cases := []struct {
		name   string
		src    []byte
		wantOK bool
	}{
		{"one member", good, true},
		{"empty content", gzipOf(t, ""), true},
		{"large, ratio above the first guess", gzipOf(t, big), true},
		{"members", cat(gzipOf(t, "a\n"), gzipOf(t, ""), gzipOf(t, big), gzipOf(t, "z\n")), true},
		{"last member small (its ISIZE misleads the guess)", cat(gzipOf(t, big), gzipOf(t, "z\n")), true},
		{"NUL padding", cat(good, make([]byte, 512)), true},
		{"garbage after member", cat(good, []byte("junk")), false},
		{"NUL then garbage", cat(good, []byte{0, 0, 'x'}), false},
		{"half a magic after member", cat(good, []byte{0x1f}), false},
		{"truncated", trunc, false},
		{"corrupt block", corrupt, false},
		{"bad checksum", badCRC, false},
		{"magic only", []byte{0x1f, 0x8b}, false},
		{"not gzip", []byte("plain text that is long enough"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := InflateAll(g, nil, c.src, 64<<20, growHeap)
			if ok != c.wantOK {
				t.Fatalf("ok = %v, want %v", ok, c.wantOK)
			}
			d, _, err := Decompress(bytes.NewReader(c.src))
			var want []byte
			if err == nil {
				want, err = io.ReadAll(d)
				d.Close()
			}
			if ok {
				if err != nil {
					t.Fatalf("InflateAll accepted what Decompress refuses: %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("InflateAll gave %d bytes, Decompress %d", len(got), len(want))
				}
			} else if c.name != "not gzip" && c.name != "magic only" && err == nil {
				t.Fatalf("InflateAll refused what Decompress reads cleanly")
			}
		})
	}
}

func TestInflateAllLimit(t *testing.T) {
	g := native.NewGunzipper()
	if g == nil {
		t.Skip("libdeflate not loaded")
	}
	src := gzipOf(t, strings.Repeat("x", 1<<20))
	if _, ok := InflateAll(g, nil, src, 1<<20, growHeap); !ok {
		t.Error("exactly the limit: refused")
	}
	if _, ok := InflateAll(g, nil, src, 1<<20-1, growHeap); ok {
		t.Error("one byte over the limit: accepted")
	}
	if _, ok := InflateAll(nil, nil, src, 1<<30, growHeap); ok {
		t.Error("no gunzipper: accepted")
	}
}
