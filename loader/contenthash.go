package loader

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"

	"github.com/zeebo/xxh3"
)

// Content hashes identify an object's bytes, so that a copy delivered under
// another key (or a touched file) is recorded as a duplicate instead of
// being loaded twice. They are XXH3-128 digests written "xxh3-128:<32 hex>":
// the hash is not a defence against forged content (an object that forges
// another's hash could only hide itself), and it runs at memory speed where
// SHA-256 cost 8-10 % of a load's CPU on raw JSON. Catalogs written before
// hold bare SHA-256 hex; see legacyContentHash.
const contentHashPrefix = "xxh3-128:"

// contentHasher hashes an object's raw bytes as they are read.
type contentHasher struct {
	h      *xxh3.Hasher
	legacy hash.Hash // also SHA-256, when the object's earlier version was hashed so
}

func newContentHasher(legacy bool) *contentHasher {
	c := &contentHasher{h: xxh3.New()}
	if legacy {
		c.legacy = sha256.New()
	}
	return c
}

func (c *contentHasher) Write(p []byte) (int, error) {
	c.h.Write(p)
	if c.legacy != nil {
		c.legacy.Write(p)
	}
	return len(p), nil
}

var _ io.Writer = (*contentHasher)(nil)

// sums returns the content hash, and the SHA-256 one ("" unless legacy).
func (c *contentHasher) sums() (hash, legacy string) {
	b := c.h.Sum128().Bytes()
	hash = contentHashPrefix + hex.EncodeToString(b[:])
	if c.legacy != nil {
		legacy = hex.EncodeToString(c.legacy.Sum(nil))
	}
	return hash, legacy
}

// legacyContentHash reports whether h is a content hash of an older
// eventlake: bare SHA-256 hex. A new version of such an object (a touched
// or changed file) is hashed both ways, so that the same bytes are still
// recognised; a copy of it under another key, loaded after the upgrade, is
// loaded once more (the events views de-duplicate its events).
func legacyContentHash(h string) bool {
	return len(h) == 64 && !strings.Contains(h, ":")
}
