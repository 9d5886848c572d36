package profile

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/eventlake/eventlake/schema"
)

// typesObserver is a DataObserver like the loader's: one type per (domain,
// event type), validated and widened by ObserveStrictAt. It remembers the
// keys it typed under.
type typesObserver struct {
	types map[string]*schema.Type
	keys  []string
}

func obsKey(domain, eventType []byte) string { return string(domain) + "\x00" + string(eventType) }

func (o *typesObserver) ObserveData(domain, eventType, b []byte, i int) (int, error) {
	k := obsKey(domain, eventType)
	t := o.types[k]
	if t == nil {
		t = &schema.Type{}
		o.types[k] = t
	}
	end, _, err := t.ObserveStrictAt(b, i, schema.MaxDepth-1)
	if err != nil {
		return 0, err
	}
	o.keys = append(o.keys, k)
	return end, nil
}

func eventText(ev *Event) string {
	return fmt.Sprintf("id=%q type=%q domain=%q org=%q cid=%q time=%d version=%d/%v data=%q",
		ev.EventID, ev.EventType, ev.Domain, ev.OrgID, ev.CID, ev.EventTime, ev.SchemaVersion, ev.HasSchemaVersion, ev.Data)
}

// checkObserving: MapObserving accepts exactly the records Map accepts and
// maps them to the same event; when it took the data, it typed it under the
// event's own domain and event type, as observing the mapped data does.
func checkObserving(t *testing.T, p Profile, rec []byte) {
	t.Helper()
	om, ok := p.(ObservingMapper)
	if !ok {
		t.Fatalf("%s does not implement ObservingMapper", p.Name())
	}
	var plain, observed Event
	errPlain := p.Map(rec, &plain)
	obs := &typesObserver{types: map[string]*schema.Type{}}
	errObs := om.MapObserving(rec, &observed, obs)
	if errObs != nil {
		// The loader then maps the record again with Map, which names the
		// reason; but a record Map takes must not need that second walk.
		if errPlain == nil {
			t.Fatalf("%s: MapObserving refused %q (%v), Map took it", p.Name(), rec, errObs)
		}
		return
	}
	if errPlain != nil {
		t.Fatalf("%s: MapObserving took %q, Map refused it: %v", p.Name(), rec, errPlain)
	}
	if a, b := eventText(&plain), eventText(&observed); a != b {
		t.Fatalf("%s: %q\nMap:          %s\nMapObserving: %s", p.Name(), rec, a, b)
	}
	if !observed.DataObserved {
		if len(obs.keys) != 0 {
			t.Fatalf("%s: %q: data typed (%q) but DataObserved is false", p.Name(), rec, obs.keys)
		}
		return
	}
	if len(obs.keys) != 1 || obs.keys[0] != obsKey(observed.Domain, observed.EventType) {
		t.Fatalf("%s: %q: data typed under %q, the event is %q", p.Name(), rec, obs.keys, obsKey(observed.Domain, observed.EventType))
	}
	var want schema.Type
	if err := want.Observe(observed.Data); err != nil {
		t.Fatal(err)
	}
	if got := obs.types[obs.keys[0]]; !got.Equal(&want) {
		t.Fatalf("%s: %q: typed %v while mapping, %v from the mapped data", p.Name(), rec, got, &want)
	}
}

var observingSeeds = []string{
	`{"id":"a","eventName":"order-created_event-v1","payload":{"x":1,"y":"z"},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"PICK_JOB_CREATED","payload":{"x":[1,2.5]},"created":"2024-01-02T03:04:05+00:00"}`,
	`{"id":"a","payload":{"x":1},"eventName":"order-created","created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"Order\u002dcreated","payload":{"x":1},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"order-created","eventName":"other","payload":{"x":1},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"order-created","payload":{"x":1},"payload":{"y":2},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"","payload":{"x":1},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":7,"payload":{"x":1},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"order-created","payload":{"x":"\ud800"},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"order-created","payload":{"x":1,},"created":"2024-01-02T03:04:05Z"}`,
	`{"id":"a","eventName":"order-created","payload":{"x":1}}`,
	`{"eventName":"order-created","payload":null,"created":"2024-01-02T03:04:05Z"}`,
	`{"event_id":"e","domain":"d","event_type":"t-1","timestamp":"2024-01-02T03:04:05Z","data":{"a":[{"b":null}]}}`,
	`{"event_id":"e","data":{"a":1},"domain":"d","event_type":"t-1","timestamp":"2024-01-02T03:04:05Z"}`,
	`{"event_id":"e","domain":"d","event_type":"t-1","timestamp":"2024-01-02T03:04:05Z","data":{"a":1},"data":2}`,
}

func TestMapObservingMatchesMap(t *testing.T) {
	for _, s := range observingSeeds {
		for _, p := range []Profile{Pismo{}, Fulfillmenttools{}} {
			checkObserving(t, p, []byte(s))
		}
	}
}

func FuzzMapObserving(f *testing.F) {
	for _, s := range observingSeeds {
		f.Add([]byte(s))
	}
	for _, s := range pismoSeeds(f) {
		f.Add(bytes.Clone(s))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, p := range []Profile{Pismo{}, Fulfillmenttools{}} {
			checkObserving(t, p, rec)
		}
	})
}
