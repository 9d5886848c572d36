package corpus

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func layoutSpec(layout string, gz bool) Spec {
	s := small()
	s.Layout, s.Gzip = layout, gz
	return s
}

// Every layout is deterministic: the same spec gives the same files.
func TestLayoutsAreDeterministic(t *testing.T) {
	for _, l := range Layouts {
		t.Run(l, func(t *testing.T) {
			s := layoutSpec(l, l == LayoutFulfillmenttools)
			d1, st1 := generate(t, s)
			d2, st2 := generate(t, s)
			a, b := readCorpus(t, d1, s), readCorpus(t, d2, s)
			if len(a) != s.Objects || len(a) != len(b) {
				t.Fatalf("%d and %d objects, want %d", len(a), len(b), s.Objects)
			}
			for i := range a {
				if a[i].key != b[i].key || !bytes.Equal(a[i].raw, b[i].raw) {
					t.Fatalf("object %d differs between two runs: %s, %s", i, a[i].key, b[i].key)
				}
			}
			if st1.Events != st2.Events || st1.RawBytes != st2.RawBytes {
				t.Fatalf("stats differ: %+v, %+v", st1, st2)
			}
			if m, err := filepath.Glob(s.Glob(d1)); err != nil || len(m) != s.Objects {
				t.Fatalf("Glob %s matches %d objects (%v), want %d", s.Glob(d1), len(m), err, s.Objects)
			}
		})
	}
}

// The records of each layout parse as the vendor's shape and land in the
// partitions Stats promise.
func TestLayoutRecordsMatchStats(t *testing.T) {
	for _, l := range []string{LayoutSubscriber, LayoutFulfillmenttools, LayoutJWO} {
		t.Run(l, func(t *testing.T) {
			s := layoutSpec(l, l == LayoutFulfillmenttools)
			dir, st := generate(t, s)
			parts := map[string]int64{}
			var events int64
			for _, o := range readCorpus(t, dir, s) {
				switch l {
				case LayoutSubscriber:
					if !strings.HasPrefix(o.key, "subscriber/") {
						t.Fatalf("key %s", o.key)
					}
					dec := json.NewDecoder(bytes.NewReader(o.raw))
					var inObject int64
					for {
						var e struct{ Domain, Timestamp string }
						if err := dec.Decode(&e); err == io.EOF {
							break
						} else if err != nil {
							t.Fatal(err)
						}
						ts, err := time.Parse(time.RFC3339, e.Timestamp)
						if err != nil {
							t.Fatal(err)
						}
						parts[partKey(e.Domain, ts)]++
						inObject++
					}
					events += inObject
					if n := int64(bytes.Count(o.raw, []byte("\n"))); n < 8*inObject {
						t.Fatalf("%d lines for %d events: not pretty-printed", n, inObject)
					}
				case LayoutFulfillmenttools:
					if !strings.HasSuffix(o.key, ".json.gz") {
						t.Fatalf("key %s", o.key)
					}
					for _, ln := range lines(o.raw) {
						var e struct{ ID, EventName, Created string }
						if err := json.Unmarshal(ln, &e); err != nil {
							t.Fatal(err)
						}
						ts, err := time.Parse("2006-01-02T15:04:05.000000-07:00", e.Created)
						if err != nil || e.ID == "" {
							t.Fatalf("%s: %v", ln, err)
						}
						dom, _, _ := strings.Cut(e.EventName, "-")
						if strings.ContainsAny(dom, "_") || !strings.Contains(e.EventName, "_event-v") {
							t.Fatalf("eventName %q", e.EventName)
						}
						parts[partKey(dom, ts)]++
						events++
					}
				case LayoutJWO:
					f := strings.Split(o.key, "/")
					if len(f) != 4 || f[0] != "Order" || !strings.HasPrefix(f[3], "ALL") || !strings.HasSuffix(f[3], ".csv000") {
						t.Fatalf("key %s", o.key)
					}
					recs, err := csv.NewReader(bytes.NewReader(o.raw)).ReadAll()
					if err != nil {
						t.Fatal(err)
					}
					if strings.Join(recs[0], ",")+"\n" != string(orderHeader) {
						t.Fatalf("header %v", recs[0])
					}
					parts["report_date="+f[1]] += int64(len(recs) - 1)
					events += int64(len(recs) - 1)
				}
			}
			if events != st.Events || len(parts) != st.Partitions {
				t.Fatalf("%d events in %d partitions, stats say %d in %d", events, len(parts), st.Events, st.Partitions)
			}
			for k, n := range parts {
				if st.PartitionRows[k] != n {
					t.Errorf("%s: %d rows, stats say %d", k, n, st.PartitionRows[k])
				}
			}
		})
	}
}
