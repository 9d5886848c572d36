package profile

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/cputime"
)

func micros(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

func TestParseTimestamp(t *testing.T) {
	good := []struct{ in, want string }{
		{"2019-07-20T19:03:00.000Z", "2019-07-20T19:03:00Z"},
		{"2024-02-01T09:20:39.411067+00:00", "2024-02-01T09:20:39.411067Z"},
		{"2024-02-01T09:20:39.411067891+00:00", "2024-02-01T09:20:39.411067Z"},
		{"2024-02-01T09:20:39.4+02:00", "2024-02-01T07:20:39.4Z"},
		{"2024-02-01T09:20:39-03:30", "2024-02-01T12:50:39Z"},
		{"2024-02-01T09:20:39-0330", "2024-02-01T12:50:39Z"},
		{"2024-02-01T09:20:39+05", "2024-02-01T04:20:39Z"},
		{"2024-02-01 09:20:39Z", "2024-02-01T09:20:39Z"},
		{"2024-02-01t09:20:39z", "2024-02-01T09:20:39Z"},
		{"2024-02-01T09:20:39,5Z", "2024-02-01T09:20:39.5Z"},
		{"2024-02-01T09:20:39", "2024-02-01T09:20:39Z"},
		{"2024-02-01T09:20Z", "2024-02-01T09:20:00Z"},
		{"2024-02-01", "2024-02-01T00:00:00Z"},
		{"2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"},
		{"2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"},
		{"2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"},
		{"2024-01-01T24:00:00Z", "2024-01-02T00:00:00Z"},
		{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
		{"1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z"},
	}
	for _, c := range good {
		got, err := ParseTimestamp([]byte(c.in))
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", c.in, err)
			continue
		}
		if want := micros(c.want); got != want {
			t.Errorf("ParseTimestamp(%q) = %v, want %v", c.in, time.UnixMicro(got).UTC(), c.want)
		}
	}
	bad := []string{
		"", "2023-06-22T22:69:36Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
		"2024-00-10T00:00:00Z", "2024-01-32", "0000-01-01T00:00:00Z", "2024-01-01T25:00:00Z",
		"2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234567890Z", "2024-01-01T10:00:00+25:00",
		"2024-01-01T10:00:00 UTC", "20240101T100000Z", "yesterday", "2024-1-1", "2024-01-01T10",
		"2024-01-01T10:00:00Zjunk", "２０２４-01-01",
	}
	for _, in := range bad {
		if got, err := ParseTimestamp([]byte(in)); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want an error", in, time.UnixMicro(got).UTC())
		} else if !strings.Contains(err.Error(), "timestamp") {
			t.Errorf("ParseTimestamp(%q) error %q does not say timestamp", in, err)
		}
	}
}

func TestEpochToMicros(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{1706779239, "2024-02-01T09:20:39Z"},
		{1706779239.5, "2024-02-01T09:20:39.5Z"},
		{1706779239123, "2024-02-01T09:20:39.123Z"},
		{1706779239123456, "2024-02-01T09:20:39.123456Z"},
		{1706779239123456789, "2024-02-01T09:20:39.123456Z"},
		{0, "1970-01-01T00:00:00Z"},
	}
	for _, c := range cases {
		got, err := EpochToMicros(c.in)
		if err != nil {
			t.Fatalf("EpochToMicros(%v): %v", c.in, err)
		}
		if d := got - micros(c.want); d < -1 || d > 1 {
			t.Errorf("EpochToMicros(%v) = %v, want %v", c.in, time.UnixMicro(got).UTC(), c.want)
		}
	}
}

func strp(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

func TestPismo(t *testing.T) {
	rec := `{
    "event_id": "252212bf-cde2-43f9-b28f-33ea2b452b32",
    "domain": "account",
    "event_type": "customer-creation-1",
    "schema_version": "2",
    "org_id": "TN-1",
    "cid": "7c77",
    "timestamp": "2019-07-20T19:03:00.000Z",
    "data": {"a": [1, {"b": "}"}], "s": "x\"y"}
}`
	var ev Event
	if err := (Pismo{}).Map([]byte(rec), &ev); err != nil {
		t.Fatal(err)
	}
	got := []string{strp(ev.EventID), strp(ev.Domain), strp(ev.EventType), strp(ev.OrgID), strp(ev.CID), strp(ev.Data)}
	want := []string{"252212bf-cde2-43f9-b28f-33ea2b452b32", "account", "customer-creation-1", "TN-1", "7c77", `{"a": [1, {"b": "}"}], "s": "x\"y"}`}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	if !ev.HasSchemaVersion || ev.SchemaVersion != 2 {
		t.Errorf("schema_version = %v %v, want 2", ev.SchemaVersion, ev.HasSchemaVersion)
	}
	if ev.EventTime != micros("2019-07-20T19:03:00Z") {
		t.Errorf("event_time = %v", ev.EventTime)
	}
}

func TestPismoVariants(t *testing.T) {
	cases := []struct {
		name, rec string
		err       error
		check     func(*Event) string
	}{
		{"version from suffix", `{"event_id":"a","event_type":"limit-change-3","timestamp":"2024-01-01T00:00:00Z"}`, nil,
			func(e *Event) string {
				if !e.HasSchemaVersion || e.SchemaVersion != 3 {
					return "want schema_version 3"
				}
				if string(e.Data) != "null" || e.OrgID != nil || e.Domain != nil {
					return "want null data, nil org and domain"
				}
				return ""
			}},
		{"escaped id", `{"event_id":"a\u0041\n","timestamp":"2024-01-01T00:00:00Z","data":"str"}`, nil,
			func(e *Event) string {
				if string(e.EventID) != "aA\n" || string(e.Data) != `"str"` {
					return "got id " + string(e.EventID) + " data " + string(e.Data)
				}
				return ""
			}},
		{"numeric id", `{"event_id":12345678901234567890,"timestamp":1706779239}`, nil,
			func(e *Event) string {
				if string(e.EventID) != "12345678901234567890" || e.EventTime != micros("2024-02-01T09:20:39Z") {
					return "numeric id or epoch wrong"
				}
				return ""
			}},
		{"no event_id", `{"timestamp":"2024-01-01T00:00:00Z"}`, ErrMissingField, nil},
		{"empty event_id", `{"event_id":"","timestamp":"2024-01-01T00:00:00Z"}`, ErrMissingField, nil},
		{"no timestamp", `{"event_id":"a"}`, ErrMissingField, nil},
		{"null timestamp", `{"event_id":"a","timestamp":null}`, ErrMissingField, nil},
		{"bad timestamp", `{"event_id":"a","timestamp":"2023-06-22T22:69:36Z"}`, errTimestamp, nil},
		{"duplicate key", `{"event_id":"a","event_id":"b","timestamp":"2024-01-01T00:00:00Z"}`, ErrDuplicateField, nil},
		{"invalid json", `{"event_id":"a","timestamp":"2024-01-01T00:00:00Z","data":{"x":tru}}`, ErrInvalidJSON, nil},
		{"array", `[1,2]`, ErrNotObject, nil},
		{"invalid utf8", "{\"event_id\":\"a\xff\",\"timestamp\":\"2024-01-01T00:00:00Z\"}", ErrInvalidUTF8, nil},
		{"object id", `{"event_id":{"x":1},"timestamp":"2024-01-01T00:00:00Z"}`, ErrBadField, nil},
	}
	for _, c := range cases {
		var ev Event
		err := (Pismo{}).Map([]byte(c.rec), &ev)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if msg := c.check(&ev); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
}

func TestFulfillmenttools(t *testing.T) {
	rec := `{"id":"e1","eventName":"order-created_event-v1","payload":{"orderId":"o1","lines":[{"qty":2}]},"created":"2024-02-01T09:20:39.411067+00:00"}`
	var ev Event
	if err := (Fulfillmenttools{}).Map([]byte(rec), &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.EventID) != "e1" || string(ev.EventType) != "order-created_event-v1" || string(ev.Domain) != "order" ||
		!ev.HasSchemaVersion || ev.SchemaVersion != 1 || string(ev.Data) != `{"orderId":"o1","lines":[{"qty":2}]}` ||
		ev.EventTime != micros("2024-02-01T09:20:39.411067Z") {
		t.Errorf("mapped %+v", ev)
	}
	var ev2 Event
	if err := (Fulfillmenttools{}).Map([]byte(`{"id":"e2","eventName":"PICK_JOB_CREATED","created":"2024-02-01T09:20:39Z"}`), &ev2); err != nil {
		t.Fatal(err)
	}
	if string(ev2.Domain) != "pick" || ev2.HasSchemaVersion || string(ev2.Data) != "null" {
		t.Errorf("mapped %+v", ev2)
	}
}

// The domain is the event name up to its first '-' or '_', lower-cased when
// it holds an ASCII capital (then Unicode ones too; a name without one is
// kept as it is, as it always was), without an allocation per record once
// the event's scratch has grown.
func TestFulfillmenttoolsDomain(t *testing.T) {
	for name, want := range map[string]string{
		"order-created_event-v1": "order",
		"PICK_JOB_CREATED":       "pick",
		"Handover-done":          "handover",
		"ÖRDER_created":          "örder",
		"Ärger":                  "Ärger",
		"plain":                  "plain",
		"-leading":               "",
		"_":                      "",
	} {
		ev := Event{EventType: []byte(name)}
		got := ftDomain(&ev)
		if string(got) != want || (want == "" && got != nil) {
			t.Errorf("%q: domain %q, want %q", name, got, want)
		}
	}
	ev := Event{EventType: []byte("PICK_JOB_CREATED"), scratch: make([]byte, 0, 64)}
	if n := testing.AllocsPerRun(100, func() { ev.scratch = ev.scratch[:0]; ftDomain(&ev) }); n != 0 {
		t.Errorf("%v allocations per record", n)
	}
}

func TestGeneric(t *testing.T) {
	g, err := NewGeneric("acme", config.Mapping{EventID: "meta.id", Timestamp: "meta.ts", EventType: "kind", Domain: "=shop", OrgID: "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"meta":{"id":"x1","ts":"2024-05-05T10:00:00+02:00"},"kind":"sale","tenant":"t9","amount":3}`
	if !g.Match([]byte(rec)) {
		t.Fatal("no match")
	}
	var ev Event
	if err := g.Map([]byte(rec), &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.EventID) != "x1" || string(ev.Domain) != "shop" || string(ev.EventType) != "sale" || string(ev.OrgID) != "t9" ||
		string(ev.Data) != rec || ev.EventTime != micros("2024-05-05T08:00:00Z") {
		t.Errorf("mapped %+v", ev)
	}
	if err := g.Map([]byte(`{"meta":{"ts":"2024-05-05T10:00:00Z"}}`), &ev); !errors.Is(err, ErrMissingField) {
		t.Errorf("missing id: %v", err)
	}
	if _, err := NewGeneric("x", config.Mapping{EventID: "id"}); err == nil {
		t.Error("mapping without timestamp accepted")
	}
}

func TestDetect(t *testing.T) {
	cands := []Profile{Pismo{}, Fulfillmenttools{}}
	if p := Detect([]byte(`{"event_id":"a","timestamp":"x"}`), cands); p == nil || p.Name() != "pismo" {
		t.Errorf("pismo record detected as %v", p)
	}
	if p := Detect([]byte(`{"id":"a","eventName":"x","created":"y","payload":{}}`), cands); p == nil || p.Name() != "fulfillmenttools" {
		t.Errorf("ft record detected as %v", p)
	}
	if p := Detect([]byte(`{"foo":1}`), cands); p != nil {
		t.Errorf("unknown record detected as %v", p.Name())
	}
}

func BenchmarkPismoMap(b *testing.B) {
	rec := []byte(`{"event_id":"252212bf-cde2-43f9-b28f-33ea2b452b32","domain":"account","event_type":"customer-creation-1","schema_version":1,"org_id":"TN-a1db4e4e-315f-4a67-9036-ecacd370b561","cid":"8a3f650b-c80c-451f-993d-7368dba4c715","timestamp":"2019-07-20T19:03:00.000Z","data":{"account_id":123456,"customer":{"name":"Jane Doe","document":"12345678900","emails":["a@b.c"]},"limits":[{"kind":"credit","amount":1500.5}],"status":"NORMAL"}}`)
	var ev Event
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for i := 0; i < b.N; i++ {
		if err := (Pismo{}).Map(rec, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// config rejects profiles: entries named like a built-in profile; its list
// of those names is this package's.
func TestBuiltinNamesAreConfigs(t *testing.T) {
	if !slices.Equal(Names(), config.BuiltinProfiles) {
		t.Errorf("built-in profiles %v, config.BuiltinProfiles %v", Names(), config.BuiltinProfiles)
	}
}
