package parquet

// Patched in eventlake's copy: this file is not in upstream parquet-go.

import (
	"github.com/parquet-go/bitpack/unsafecast"
	"github.com/parquet-go/parquet-go/bloom/xxhash"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
)

// bloomHashes is an encoding that appends the split-block filter hash of
// every value it is given to hashes, the same hash splitBlockEncoding
// inserts into a filter. ColumnWriter.hashPageForFilter uses it to collect
// the hashes of a page whose filter is not allocated yet.
type bloomHashes struct {
	encoding.NotSupported
	hashes []uint64
}

var _ encoding.Encoding = (*bloomHashes)(nil)

// appendMultiSum appends the hashes of values computed n at a time by sum.
func appendMultiSum[T any](hashes []uint64, values []T, sum func([]uint64, []T) int) []uint64 {
	for len(values) > 0 {
		hashes = growHashes(hashes, len(values))
		n := sum(hashes[len(hashes):cap(hashes)], values)
		hashes = hashes[:len(hashes)+n]
		values = values[n:]
	}
	return hashes
}

// growHashes returns hashes with room for n more.
func growHashes(hashes []uint64, n int) []uint64 {
	if cap(hashes)-len(hashes) < n {
		grown := make([]uint64, len(hashes), max(2*cap(hashes), len(hashes)+n, 1024))
		copy(grown, hashes)
		hashes = grown
	}
	return hashes
}

func (e *bloomHashes) EncodeBoolean(dst []byte, src []byte) ([]byte, error) {
	e.hashes = appendMultiSum(e.hashes, src, xxhash.MultiSum64Uint8)
	return dst, nil
}

func (e *bloomHashes) EncodeInt32(dst []byte, src []int32) ([]byte, error) {
	e.hashes = appendMultiSum(e.hashes, unsafecast.Slice[uint32](src), xxhash.MultiSum64Uint32)
	return dst, nil
}

func (e *bloomHashes) EncodeInt64(dst []byte, src []int64) ([]byte, error) {
	e.hashes = appendMultiSum(e.hashes, unsafecast.Slice[uint64](src), xxhash.MultiSum64Uint64)
	return dst, nil
}

func (e *bloomHashes) EncodeInt96(dst []byte, src []deprecated.Int96) ([]byte, error) {
	e.appendFixedLenByteArray(unsafecastInt96ToBytes(src), 12)
	return dst, nil
}

func (e *bloomHashes) EncodeFloat(dst []byte, src []float32) ([]byte, error) {
	e.hashes = appendMultiSum(e.hashes, unsafecast.Slice[uint32](src), xxhash.MultiSum64Uint32)
	return dst, nil
}

func (e *bloomHashes) EncodeDouble(dst []byte, src []float64) ([]byte, error) {
	e.hashes = appendMultiSum(e.hashes, unsafecast.Slice[uint64](src), xxhash.MultiSum64Uint64)
	return dst, nil
}

func (e *bloomHashes) EncodeByteArray(dst []byte, src []byte, offsets []uint32) ([]byte, error) {
	if len(offsets) < 2 {
		return dst, nil
	}
	hashes := growHashes(e.hashes, len(offsets)-1)
	baseOffset := offsets[0]
	for _, endOffset := range offsets[1:] {
		hashes = append(hashes, xxhash.Sum64(src[baseOffset:endOffset:endOffset]))
		baseOffset = endOffset
	}
	e.hashes = hashes
	return dst, nil
}

func (e *bloomHashes) EncodeFixedLenByteArray(dst []byte, src []byte, size int) ([]byte, error) {
	if size == 16 {
		e.hashes = appendMultiSum(e.hashes, unsafecast.Slice[[16]byte](src), xxhash.MultiSum64Uint128)
	} else {
		e.appendFixedLenByteArray(src, size)
	}
	return dst, nil
}

func (e *bloomHashes) appendFixedLenByteArray(data []byte, size int) {
	if size <= 0 {
		return
	}
	hashes := growHashes(e.hashes, len(data)/size)
	for i, j := 0, size; j <= len(data); i, j = i+size, j+size {
		hashes = append(hashes, xxhash.Sum64(data[i:j]))
	}
	e.hashes = hashes
}
