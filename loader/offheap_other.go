//go:build !unix

package loader

func allocOffHeap(n int) []byte { return make([]byte, n) }

func freeOffHeap([]byte) {}
