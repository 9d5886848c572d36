package partitions

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// writeTestFiles writes a few event files (several row groups each) and
// returns them.
func writeTestFiles(t *testing.T) (*Stage, []File) {
	t.Helper()
	stage, err := NewStage(t.TempDir(), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{RowGroupRows: 100, MaxFileRows: 700})
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		if err := w.Write([]EventRow{pismoRow(r, i, fmt.Sprint("d", i%3), day0+int64(i)*1000)}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("%d files, want at least 3", len(files))
	}
	return stage, files
}

// The checksum recorded at write is the xxhash64 of the whole file as it
// is on disk, and Bytes its size.
func TestFileChecksumRecordedAtWrite(t *testing.T) {
	stage, files := writeTestFiles(t)
	for _, f := range files {
		b, err := os.ReadFile(stage.Staged(f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("xxh64:%016x", xxhash.Sum64(b)); f.Checksum != want {
			t.Errorf("%s: checksum %q, want %q", f.Path, f.Checksum, want)
		}
		if f.Bytes != int64(len(b)) {
			t.Errorf("%s: %d bytes recorded, file has %d", f.Path, f.Bytes, len(b))
		}
	}
}

func TestVerifyFile(t *testing.T) {
	stage, files := writeTestFiles(t)
	f := files[0]
	p := stage.Staged(f.Path)
	if err := VerifyFile(p, f.Bytes, f.Checksum); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	if err := VerifyFile(p, f.Bytes, ""); err != nil {
		t.Fatalf("intact file without a checksum: %v", err)
	}
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	kind := func(err error) string {
		var pe *FileProblem
		if !errors.As(err, &pe) {
			return fmt.Sprintf("not a FileProblem: %v", err)
		}
		return pe.Kind
	}
	restore := func() {
		if err := os.WriteFile(p, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// 4-byte flips at several offsets, same size: only the checksum sees
	// the ones inside data pages.
	flipped := append([]byte(nil), orig...)
	for _, frac := range []int{10, 30, 50, 70} {
		off := len(flipped) * frac / 100
		for i := range 4 {
			flipped[off+i] ^= 0xff
		}
	}
	if err := os.WriteFile(p, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(p, f.Bytes, f.Checksum); kind(err) != ProblemChecksum {
		t.Errorf("bit flips: %v, want a checksum problem", err)
	}

	// A damaged footer is found without a checksum too.
	bad := append([]byte(nil), orig...)
	copy(bad[len(bad)-12:], "\xff\xff\xff\xff\xff\xff\xff\xff")
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(p, f.Bytes, ""); kind(err) != ProblemFooter {
		t.Errorf("damaged footer, no checksum: %v, want a footer problem", err)
	}

	// Truncated.
	if err := os.WriteFile(p, orig[:len(orig)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(p, f.Bytes, f.Checksum); kind(err) != ProblemSize {
		t.Errorf("truncated: %v, want a size problem", err)
	}
	if err := StatFile(p, f.Bytes); kind(err) != ProblemSize {
		t.Errorf("StatFile truncated: %v, want a size problem", err)
	}
	restore()
	if err := StatFile(p, f.Bytes); err != nil {
		t.Errorf("StatFile intact: %v", err)
	}

	// Missing.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(p, f.Bytes, f.Checksum); kind(err) != ProblemMissing {
		t.Errorf("missing: %v, want a missing problem", err)
	}
	if err := StatFile(p, f.Bytes); kind(err) != ProblemMissing {
		t.Errorf("StatFile missing: %v, want a missing problem", err)
	}
}
