//go:build unix && !linux

package loader

// adviseHugePages does nothing where madvise has no MADV_HUGEPAGE.
func adviseHugePages([]byte) {}
