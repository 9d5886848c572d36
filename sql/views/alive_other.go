//go:build !unix

package views

// processAlive cannot tell here: leftovers are kept.
func processAlive(int) bool { return true }
