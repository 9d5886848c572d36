//go:build !linux

package main

// trimBinary is a no-op where /proc/self/maps does not exist.
func trimBinary() {}
