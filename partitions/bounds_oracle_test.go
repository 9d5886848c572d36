package partitions

import (
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// The former page bounds, kept as the oracle of boundedPage.bounds: every
// value compared whole by parquet-go's byteArrayPage.Bounds, then the min
// and max truncated.

func oracleBounds(page parquet.Page) (lo, hi parquet.Value, ok bool) {
	lo, hi, ok = page.Bounds()
	if !ok {
		return lo, hi, ok
	}
	return parquet.ByteArrayValue(oracleTruncateMin(lo.ByteArray())).Level(lo.RepetitionLevel(), lo.DefinitionLevel(), lo.Column()),
		parquet.ByteArrayValue(oracleTruncateMax(hi.ByteArray())).Level(hi.RepetitionLevel(), hi.DefinitionLevel(), hi.Column()),
		true
}

func oracleTruncateMin(v []byte) []byte {
	if len(v) <= pageBoundBytes {
		return append([]byte(nil), v...)
	}
	return append([]byte(nil), v[:oracleRuneCut(v)]...)
}

func oracleRuneCut(v []byte) int {
	n := pageBoundBytes
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(v[n]); k++ {
		n--
	}
	return n
}

func oracleTruncateMax(v []byte) []byte {
	if len(v) <= pageBoundBytes {
		return append([]byte(nil), v...)
	}
	if n := oracleRuneCut(v); utf8.Valid(v[:n]) {
		p := []rune(string(v[:n]))
		for i := len(p) - 1; i >= 0; i-- {
			r := p[i] + 1
			if r == 0xD800 {
				r = 0xE000 // surrogates are not valid runes
			}
			if r <= utf8.MaxRune {
				p[i] = r
				return []byte(string(p[:i+1]))
			}
		}
		return append([]byte(nil), v...)
	}
	p := append([]byte(nil), v[:pageBoundBytes]...)
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			p[i]++
			return p[:i+1]
		}
	}
	return append([]byte(nil), v...)
}
