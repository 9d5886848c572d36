//go:build !(cgo && (linux || darwin || freebsd))

package native

import "errors"

func loadDeflate() string { return "" }
func loadZstd() string    { return "" }

// Gunzipper is unavailable without cgo.
type Gunzipper struct{}

// NewGunzipper returns nil: there is no native inflater without cgo.
func NewGunzipper() *Gunzipper { return nil }

// Member is never called (NewGunzipper returns nil).
func (g *Gunzipper) Member(out, src []byte) (used, n int, r Result) { return 0, 0, BadData }

// ZstdCompress is never called (HasZstd reports false).
func ZstdCompress(dst, src []byte, level int) ([]byte, error) {
	return nil, errors.New("zstd: no native library")
}
