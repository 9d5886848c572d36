package format

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decompressAll(input []byte) ([]byte, Compression, error) {
	rc, c, err := Decompress(bytes.NewReader(input))
	if err != nil {
		return nil, c, err
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	return out, c, err
}

func TestDecompress(t *testing.T) {
	// A payload larger than one flate window / zstd block, so truncation falls inside the data.
	payload := strings.Repeat(`{"event_id":"252212bf-cde2-43f9-b28f-33ea2b452b32","n":12345}`+"\n", 5000)
	g, z := gz(t, payload), zst(t, payload)
	multi := append(gz(t, payload[:1000]), gz(t, payload[1000:])...)
	multi = append(multi, gz(t, "")...) // an empty member is legal
	corrupt := bytes.Clone(g)
	corrupt[len(corrupt)/2] ^= 0xff
	badHeader := bytes.Clone(g)
	badHeader[2] = 7 // compression method other than deflate
	corruptZ := bytes.Clone(z)
	corruptZ[len(corruptZ)/2] ^= 0xff

	tests := []struct {
		name    string
		input   []byte
		comp    Compression
		want    string // expected output when errIs is nil
		errIs   []error
		errText string
	}{
		{name: "plain", input: []byte(payload), comp: None, want: payload},
		{name: "plain tiny", input: []byte("{}"), comp: None, want: "{}"},
		{name: "empty", input: nil, comp: None, want: ""},
		{name: "gzip", input: g, comp: Gzip, want: payload},
		{name: "multi-member gzip", input: multi, comp: Gzip, want: payload},
		{name: "zstd", input: z, comp: Zstd, want: payload},
		{name: "zstd two frames", input: append(zst(t, payload[:7]), zst(t, payload[7:])...), comp: Zstd, want: payload},
		{name: "truncated gzip", input: g[:len(g)/2], comp: Gzip, errIs: []error{ErrTruncated, io.ErrUnexpectedEOF}, errText: "gzip"},
		{name: "truncated gzip trailer", input: g[:len(g)-3], comp: Gzip, errIs: []error{ErrTruncated}, errText: "gzip"},
		{name: "truncated gzip header", input: g[:5], comp: Gzip, errIs: []error{ErrTruncated}, errText: "gzip"},
		{name: "gzip magic only", input: g[:2], comp: Gzip, errIs: []error{ErrTruncated}, errText: "gzip"},
		{name: "truncated second member", input: multi[:len(gz(t, payload[:1000]))+5], comp: Gzip, errIs: []error{ErrTruncated}, errText: "gzip"},
		{name: "truncated zstd", input: z[:len(z)/2], comp: Zstd, errIs: []error{ErrTruncated}, errText: "zstd"},
		{name: "truncated zstd header", input: z[:6], comp: Zstd, errIs: []error{ErrTruncated}, errText: "zstd"},
		{name: "corrupt gzip", input: corrupt, comp: Gzip, errIs: []error{ErrCorrupt}, errText: "gzip"},
		{name: "gzip bad header", input: badHeader, comp: Gzip, errIs: []error{ErrCorrupt, gzip.ErrHeader}, errText: "gzip"},
		{name: "corrupt zstd", input: corruptZ, comp: Zstd, errIs: []error{ErrCorrupt}, errText: "zstd"},
		{name: "gzip trailing garbage", input: append(bytes.Clone(g), "garbage"...), comp: Gzip, errIs: []error{ErrTrailingGarbage}, errText: "compressed offset " + strconv.Itoa(len(g))},
		{name: "gzip trailing byte", input: append(bytes.Clone(g), 1), comp: Gzip, errIs: []error{ErrTrailingGarbage}, errText: "gzip"},
		// Zero padding after the last member is ignored, as GNU gzip does (testdata/hostile/gzip-trailing-zeros).
		{name: "gzip zero padding", input: append(bytes.Clone(g), make([]byte, 100_000)...), comp: Gzip, want: payload},
		{name: "gzip one zero byte", input: append(bytes.Clone(g), 0), comp: Gzip, want: payload},
		{name: "gzip zeros then garbage", input: append(append(bytes.Clone(g), 0, 0, 0, 0), "x"...), comp: Gzip, errIs: []error{ErrTrailingGarbage}, errText: "compressed offset " + strconv.Itoa(len(g)+4)},
		{name: "gzip zeros then member", input: append(append(bytes.Clone(g), 0, 0), g...), comp: Gzip, errIs: []error{ErrTrailingGarbage}, errText: "compressed offset " + strconv.Itoa(len(g)+2)},
		{name: "zstd trailing garbage", input: append(bytes.Clone(z), "garbage!"...), comp: Zstd, errIs: []error{ErrCorrupt}, errText: "zstd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, c, err := decompressAll(tt.input)
			if c != tt.comp {
				t.Errorf("compression %v, want %v", c, tt.comp)
			}
			if tt.errIs == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if string(out) != tt.want {
					t.Fatalf("got %d bytes, want %d", len(out), len(tt.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error, got %d bytes", len(out))
			}
			for _, e := range tt.errIs {
				if !errors.Is(err, e) {
					t.Errorf("error %q does not wrap %q", err, e)
				}
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not mention %q", err, tt.errText)
			}
		})
	}
}

func TestDecompressSourceError(t *testing.T) {
	boom := errors.New("boom")
	g := gz(t, strings.Repeat("x", 100_000))
	for name, input := range map[string][]byte{"gzip": g[:len(g)/2], "zstd": zst(t, strings.Repeat("y", 100_000)), "plain": []byte("abc")} {
		rc, _, err := Decompress(&errAfter{bytes.NewReader(input), boom})
		if err != nil {
			if !errors.Is(err, boom) {
				t.Errorf("%s: Decompress error %v, want boom", name, err)
			}
			continue
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTruncated) {
			t.Errorf("%s: read error %v, want boom as itself", name, err)
		}
	}
	if _, _, err := Decompress(&errAfter{strings.NewReader(""), boom}); !errors.Is(err, boom) {
		t.Errorf("error while sniffing: %v", err)
	}
}

func TestDecompressCloseAndReuse(t *testing.T) {
	payload := strings.Repeat("abc\n", 10_000)
	// Pooled decoders must come back clean: interleave closes mid-stream with full reads.
	for i := range 6 {
		for _, input := range [][]byte{gz(t, payload), zst(t, payload)} {
			rc, _, err := Decompress(bytes.NewReader(input))
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				buf := make([]byte, 100)
				if _, err := io.ReadFull(rc, buf); err != nil {
					t.Fatal(err)
				}
				rc.Close()
				if err := rc.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
				if _, err := rc.Read(buf); err == nil {
					t.Error("Read after Close: want an error")
				}
				continue
			}
			out, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(out) != payload {
				t.Fatalf("round %d: %d bytes, %v", i, len(out), err)
			}
		}
	}
}
