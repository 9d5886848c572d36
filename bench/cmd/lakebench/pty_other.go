//go:build !unix

package main

import (
	"context"
	"errors"
)

func interactiveStart(ctx context.Context, bin, lake string) (float64, float64, error) {
	return 0, 0, errors.New("no pseudo-terminals on this platform")
}
