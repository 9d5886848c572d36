package fsync

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want bool
	}{
		{"5.8.0", true}, {"5.7.19", false}, {"6.1.0-18-amd64", true}, {"4.19.0", false},
		{"5.10-rc1", true}, {"5.8+", true}, {"x.y", false}, {"5", false}, {"10.0", true},
	} {
		if got := kernelAtLeast(c.rel, 5, 8); got != c.want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", c.rel, got, c.want)
		}
	}
}
