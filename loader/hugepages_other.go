//go:build unix && !linux

package loader

const hugePage = 2 << 20

// adviseHugePages does nothing where madvise has no MADV_HUGEPAGE.
func adviseHugePages([]byte) {}
