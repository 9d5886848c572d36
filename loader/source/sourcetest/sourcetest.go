// Package sourcetest is the acceptance suite every source backend runs: the
// loader relies on exactly these behaviours (key order, StartAfter
// exclusivity, prefixes, not-found mapping, paging) whatever the protocol.
package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sort"
	"sync"
	"testing"

	"github.com/eventlake/eventlake/loader/source"
)

// Backend is what a backend test provides: a way to put objects and a
// source over them.
type Backend struct {
	// Put creates or overwrites an object at key (relative to the root the
	// source is opened on).
	Put func(t *testing.T, key string, data []byte)
	// Open returns a source rooted where Put writes. It is called after the
	// objects of a case have been put.
	Open func(t *testing.T) source.Source
}

// Options tune the suite for slow backends.
type Options struct {
	// ManyObjects is how many objects the paging case creates (default
	// 1,100: more than one S3 or GCS page of 1,000).
	ManyObjects int
}

// Run runs the suite. newBackend must return a backend over a fresh, empty
// root each time it is called.
func Run(t *testing.T, newBackend func(t *testing.T) Backend, o Options) {
	if o.ManyObjects == 0 {
		o.ManyObjects = 1100
	}
	ctx := context.Background()

	t.Run("Empty", func(t *testing.T) {
		b := newBackend(t)
		s := b.Open(t)
		defer s.Close()
		if got := list(t, s, source.ListOptions{}); len(got) != 0 {
			t.Fatalf("empty root listed %q", keysOf(got))
		}
	})

	t.Run("OrderAndContent", func(t *testing.T) {
		b := newBackend(t)
		keys := []string{
			"b", "a-b", "a.json", "a/b", "a/c/d", "a0", "main_stream/2024/02/01/09/x",
			"main_stream/2024/02/01/10/y", "Order/2024-06-05/22/ALL15.csv000", "z z", "é",
			"2024-02-01/part-0001.json.gz",
		}
		want := map[string][]byte{}
		for i, k := range shuffled(keys) {
			data := []byte(fmt.Sprintf("object %d %s\n", i, k))
			b.Put(t, k, data)
			want[k] = data
		}
		s := b.Open(t)
		defer s.Close()
		got := list(t, s, source.ListOptions{})
		sorted := append([]string(nil), keys...)
		sort.Strings(sorted)
		if !equal(keysOf(got), sorted) {
			t.Fatalf("listing order:\n got %q\nwant %q", keysOf(got), sorted)
		}
		for _, o := range got {
			if o.Size != int64(len(want[o.Key])) {
				t.Errorf("%s: listed size %d, want %d", o.Key, o.Size, len(want[o.Key]))
			}
			if o.Version == "" {
				t.Errorf("%s: empty version", o.Key)
			}
			rc, ro, err := s.Open(ctx, o.Key)
			if err != nil {
				t.Fatalf("open %s: %v", o.Key, err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read %s: %v", o.Key, err)
			}
			if !bytes.Equal(data, want[o.Key]) {
				t.Errorf("%s: got %q, want %q", o.Key, data, want[o.Key])
			}
			if ro.Version != o.Version {
				t.Errorf("%s: Open version %q, listed %q", o.Key, ro.Version, o.Version)
			}
			st, err := s.Stat(ctx, o.Key)
			if err != nil {
				t.Fatalf("stat %s: %v", o.Key, err)
			}
			if st.Key != o.Key || st.Size != o.Size || st.Version != o.Version {
				t.Errorf("stat %s = %+v, listed %+v", o.Key, st, o)
			}
		}
	})

	t.Run("StartAfterAndPrefix", func(t *testing.T) {
		b := newBackend(t)
		// No key is also a "folder" of another key: SFTP and local disks
		// cannot hold both "a/b" and "a/b/c".
		keys := []string{"a.txt", "a/b", "a/b.x/c", "a/c", "ab", "b/x", "b/y"}
		for _, k := range keys {
			b.Put(t, k, []byte(k))
		}
		s := b.Open(t)
		defer s.Close()
		cases := []struct {
			opts source.ListOptions
			want []string
		}{
			{source.ListOptions{StartAfter: "a/b"}, []string{"a/b.x/c", "a/c", "ab", "b/x", "b/y"}},
			{source.ListOptions{StartAfter: "a/"}, []string{"a/b", "a/b.x/c", "a/c", "ab", "b/x", "b/y"}},
			{source.ListOptions{StartAfter: "b/y"}, nil},
			{source.ListOptions{StartAfter: "0"}, keys},
			{source.ListOptions{Prefix: "a/"}, []string{"a/b", "a/b.x/c", "a/c"}},
			{source.ListOptions{Prefix: "b/"}, []string{"b/x", "b/y"}},
			{source.ListOptions{Prefix: "a/", StartAfter: "a/b"}, []string{"a/b.x/c", "a/c"}},
			{source.ListOptions{Prefix: "nothing/"}, nil},
		}
		for _, c := range cases {
			if got := keysOf(list(t, s, c.opts)); !equal(got, c.want) {
				t.Errorf("List(%+v) = %q, want %q", c.opts, got, c.want)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		b := newBackend(t)
		b.Put(t, "present", []byte("x"))
		s := b.Open(t)
		defer s.Close()
		if _, err := s.Stat(ctx, "absent"); !errors.Is(err, source.ErrNotFound) {
			t.Errorf("Stat(absent) error = %v, want ErrNotFound", err)
		}
		rc, _, err := s.Open(ctx, "absent/deeper")
		if err == nil {
			// Some protocols only report a missing object on the first read.
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if !errors.Is(err, source.ErrNotFound) {
			t.Errorf("Open(absent/deeper) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("VersionChanges", func(t *testing.T) {
		b := newBackend(t)
		b.Put(t, "obj", []byte("first"))
		s := b.Open(t)
		v1, err := s.Stat(ctx, "obj")
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		b.Put(t, "obj", []byte("second, longer"))
		s = b.Open(t)
		defer s.Close()
		v2, err := s.Stat(ctx, "obj")
		if err != nil {
			t.Fatal(err)
		}
		if v1.Version == v2.Version {
			t.Errorf("version did not change after overwrite: %q", v1.Version)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		b := newBackend(t)
		var want []string
		for i := 0; i < o.ManyObjects; i++ {
			k := fmt.Sprintf("main_stream/2024/02/%02d/%02d/obj-%05d", 1+i/400, (i/20)%24, i)
			b.Put(t, k, []byte{byte(i)})
			want = append(want, k)
		}
		sort.Strings(want)
		s := b.Open(t)
		defer s.Close()
		if got := keysOf(list(t, s, source.ListOptions{})); !equal(got, want) {
			t.Fatalf("paged listing: got %d keys, want %d (first diff at %d)", len(got), len(want), firstDiff(got, want))
		}
		mid := want[len(want)/2]
		if got := keysOf(list(t, s, source.ListOptions{StartAfter: mid})); !equal(got, want[len(want)/2+1:]) {
			t.Fatalf("paged listing after %q: got %d keys, want %d", mid, len(got), len(want)/2-1)
		}
	})

	t.Run("StopListing", func(t *testing.T) {
		b := newBackend(t)
		for _, k := range []string{"1", "2", "3"} {
			b.Put(t, k, []byte(k))
		}
		s := b.Open(t)
		defer s.Close()
		stop := errors.New("stop")
		n := 0
		err := s.List(ctx, source.ListOptions{}, func(source.Object) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("List returned %v after %d calls, want the callback's error after 1", err, n)
		}
	})

	t.Run("ConcurrentOpen", func(t *testing.T) {
		b := newBackend(t)
		const n = 8
		for i := 0; i < n; i++ {
			b.Put(t, fmt.Sprintf("k%d", i), bytes.Repeat([]byte{byte('a' + i)}, 64<<10))
		}
		s := b.Open(t)
		defer s.Close()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				rc, _, err := s.Open(ctx, fmt.Sprintf("k%d", i))
				if err != nil {
					errs <- err
					return
				}
				defer rc.Close()
				data, err := io.ReadAll(rc)
				if err != nil {
					errs <- err
					return
				}
				if len(data) != 64<<10 || data[0] != byte('a'+i) || data[len(data)-1] != byte('a'+i) {
					errs <- fmt.Errorf("k%d: wrong content (%d bytes)", i, len(data))
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func list(t *testing.T, s source.Source, o source.ListOptions) []source.Object {
	t.Helper()
	var got []source.Object
	if err := s.List(context.Background(), o, func(obj source.Object) error {
		got = append(got, obj)
		return nil
	}); err != nil {
		t.Fatalf("List(%+v): %v", o, err)
	}
	return got
}

func keysOf(objs []source.Object) []string {
	var k []string
	for _, o := range objs {
		k = append(k, o.Key)
	}
	return k
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDiff(a, b []string) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

func shuffled(keys []string) []string {
	out := append([]string(nil), keys...)
	r := rand.New(rand.NewSource(1))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
