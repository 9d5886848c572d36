package watch

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
)

func TestRoutes(t *testing.T) {
	since := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	routes, err := newRoutes([]loader.SourceSpec{
		{URL: "s3://vendor/?region=us-east-1"},
		{URL: "s3://vendor/main_stream", Profile: "pismo"},
		{URL: "s3://vendor/main_stream/deep/"},
		{URL: "s3://jwo/Order/", Since: since},
		{URL: "./local/folder"},
		{URL: "gs://bucket/x/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 4 {
		t.Fatalf("%d routes, want 4 (S3 sources only)", len(routes))
	}
	tests := []struct {
		bucket, key string
		wantURL     string // "" means no route
		wantKey     string
	}{
		{"vendor", "main_stream/2024/02/01/09/x", "s3://vendor/main_stream/", "2024/02/01/09/x"},
		{"vendor", "main_stream/deep/y", "s3://vendor/main_stream/deep/", "y"},
		{"vendor", "main_stream2/z", "s3://vendor/", "main_stream2/z"}, // the prefix is a folder
		{"vendor", "top", "s3://vendor/", "top"},
		{"jwo", "Order/2024-06-05/22/ALL15.csv000", "s3://jwo/Order/", "2024-06-05/22/ALL15.csv000"},
		{"jwo", "Refund/2024-06-05/x", "", ""},
		{"jwo", "Order/", "", ""},
		{"other", "main_stream/x", "", ""},
	}
	for _, tc := range tests {
		r, key, ok := match(routes, tc.bucket, tc.key)
		switch {
		case tc.wantURL == "" && ok:
			t.Errorf("match(%s, %s) = %s %s, want no route", tc.bucket, tc.key, r.url, key)
		case tc.wantURL != "" && (!ok || r.url != tc.wantURL || key != tc.wantKey):
			t.Errorf("match(%s, %s) = %v %q %v, want %s %q", tc.bucket, tc.key, r, key, ok, tc.wantURL, tc.wantKey)
		}
	}
	r, _, _ := match(routes, "vendor", "main_stream/x")
	if r.spec.Profile != "pismo" {
		t.Errorf("route keeps the source's profile: got %q", r.spec.Profile)
	}
	r, key, _ := match(routes, "jwo", "Order/2024-01-31/23/ALL45.csv000")
	if !r.dated || r.filter.Keep(key) {
		t.Errorf("a key before the source's since must be filtered out")
	}

	if _, err := newRoutes([]loader.SourceSpec{{URL: "s3://b/p"}, {URL: "s3://b/p/?region=eu-west-1"}}); err == nil || !strings.Contains(err.Error(), "same S3 location") {
		t.Errorf("two sources on one location: err = %v", err)
	}
	if _, err := newRoutes([]loader.SourceSpec{{URL: "s3://user:pw@b/p"}}); err == nil {
		t.Error("a malformed s3 URL must be rejected")
	}
}

func TestSpecsGroupBySource(t *testing.T) {
	routes, _ := newRoutes([]loader.SourceSpec{{URL: "s3://a/p/", Profile: "pismo"}, {URL: "s3://b/"}})
	ps := []*pending{
		{objs: []objRef{{routes[0], "k2"}, {routes[1], "x"}}},
		{objs: []objRef{{routes[0], "k1"}, {routes[0], "k2"}}},
		{}, // ignored message
	}
	got := specs(ps)
	if len(got) != 2 || got[0].URL != "s3://a/p/" || got[0].Profile != "pismo" || strings.Join(got[0].Keys, ",") != "k1,k2" ||
		got[1].URL != "s3://b/" || strings.Join(got[1].Keys, ",") != "x" {
		t.Fatalf("specs = %+v", got)
	}
}

func TestCheckMetricsAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"127.0.0.1:9464", false, true},
		{"127.0.0.2:9464", false, true},
		{"localhost:9464", false, true},
		{"[::1]:9464", false, true},
		{":9464", false, false},
		{"0.0.0.0:9464", false, false},
		{"10.1.2.3:9464", false, false},
		{"metrics.example.com:9464", false, false},
		{"0.0.0.0:9464", true, true},
		{":9464", true, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1:", false, false},
	} {
		err := CheckMetricsAddr(tc.addr, tc.public)
		if (err == nil) != tc.ok {
			t.Errorf("CheckMetricsAddr(%q, public=%v) = %v, want ok=%v", tc.addr, tc.public, err, tc.ok)
		}
	}
}

func TestServeMetrics(t *testing.T) {
	m := NewMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := ServeMetrics(ctx, "0.0.0.0:0", false, m, nil); err == nil {
		t.Fatal("ServeMetrics on all interfaces without public: want an error")
	}
	addr, err := ServeMetrics(ctx, "127.0.0.1:0", false, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.loaded("listing", &loader.Summary{Records: 5, Rejects: 1, Bytes: 100, Outcomes: []loader.Outcome{{Status: "committed"}, {Status: "known"}}}, time.Unix(1700000000, 0))
	m.lag(3)
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for name, want := range map[string]float64{
		`eventlake_objects_total{status="committed"}`:       1,
		`eventlake_objects_total{status="missing"}`:         0, // exported before the first event
		`eventlake_records_total`:                           5,
		`eventlake_rejects_total`:                           1,
		`eventlake_bytes_total`:                             100,
		`eventlake_loads_total{kind="listing"}`:             1,
		`eventlake_last_load_timestamp_seconds`:             1.7e9,
		`eventlake_notification_lag_seconds_count`:          1,
		`eventlake_notification_lag_seconds_bucket{le="5"}`: 1,
		`eventlake_messages_total{outcome="poison"}`:        0,
		`eventlake_errors_total{op="receive"}`:              0,
	} {
		if got := metricNum(text, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if !strings.Contains(text, "go_goroutines") {
		t.Error("the Go runtime collector is missing")
	}
}

func TestNewSQSClientEndpoints(t *testing.T) {
	setEnv(t)
	ctx := context.Background()
	for _, bad := range []string{"", "sqs://x/y", "https://sqs.us-east-1.amazonaws.com", "https://user:pw@sqs.us-east-1.amazonaws.com/1/q"} {
		if _, err := NewSQSClient(ctx, bad, SQSOptions{}); err == nil {
			t.Errorf("NewSQSClient(%q): want an error", bad)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := NewSQSClient(ctx, "https://sqs.eu-west-1.amazonaws.com/1/q", SQSOptions{Endpoint: "ftp://x"}); err == nil {
		t.Error("a non-http endpoint must be rejected")
	}
	c, err := NewSQSClient(ctx, "https://sqs.eu-west-1.amazonaws.com/123456789012/q", SQSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Options().Region; r != "eu-west-1" {
		t.Errorf("region from the queue URL = %q, want eu-west-1", r)
	}
	c, err = NewSQSClient(ctx, "http://127.0.0.1:4566/000000000000/q", SQSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Options().BaseEndpoint; e == nil || *e != "http://127.0.0.1:4566" {
		t.Errorf("endpoint of a local queue URL = %v, want http://127.0.0.1:4566", e)
	}
	for host, want := range map[string]string{
		"sqs.us-east-2.amazonaws.com": "us-east-2", "eu-central-1.queue.amazonaws.com": "eu-central-1",
		"sqs.cn-north-1.amazonaws.com.cn": "cn-north-1", "queue.amazonaws.com": "",
	} {
		if got := regionOf(host); got != want {
			t.Errorf("regionOf(%s) = %q, want %q", host, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := &backoff{min: 10 * time.Millisecond, max: 80 * time.Millisecond}
	for i, nominal := range []time.Duration{10, 20, 40, 80, 80} {
		nominal *= time.Millisecond
		if d := b.next(); d < nominal/2 || d > nominal {
			t.Errorf("attempt %d: %s, want between %s and %s", i+1, d, nominal/2, nominal)
		}
	}
	b.reset()
	if d := b.next(); d > 10*time.Millisecond {
		t.Errorf("after reset: %s, want at most 10ms", d)
	}
}

func TestOptionsValidate(t *testing.T) {
	base := func() Options {
		return Options{Load: loader.Options{Lake: "x"}, Sources: []loader.SourceSpec{{URL: "s3://b/"}}}
	}
	for name, tweak := range map[string]func(*Options){
		"no lake":               func(o *Options) { o.Load.Lake = "" },
		"no source":             func(o *Options) { o.Sources = nil },
		"fractional timeout":    func(o *Options) { o.VisibilityTimeout = 1500 * time.Millisecond },
		"long poll above 20s":   func(o *Options) { o.WaitTime = 21 * time.Second },
		"negative grace":        func(o *Options) { o.ShutdownGrace = -time.Second },
		"backoff max below min": func(o *Options) { o.BackoffMin, o.BackoffMax = time.Minute, time.Second },
	} {
		o := base()
		tweak(&o)
		o.defaults()
		if err := o.validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	o := base()
	o.Queue = "https://sqs.us-east-1.amazonaws.com/1/my-queue"
	o.defaults()
	if err := o.validate(); err != nil || o.Name != "sqs:my-queue" || o.Backfill != time.Hour || o.Load.Command != "watch" {
		t.Errorf("defaults: err %v, name %q, backfill %s, command %q", err, o.Name, o.Backfill, o.Load.Command)
	}
	setEnv(t)
	o = base()
	o.Load.Lake = t.TempDir()
	o.Sources = []loader.SourceSpec{{URL: "./only/local"}}
	o.Queue = "http://127.0.0.1:1/000000000000/q"
	if err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "needs at least one s3:// source") {
		t.Errorf("notification mode without S3 sources: err = %v", err)
	}
}

// The catalog's watch bookkeeping, through its public API.
func TestCatalogWatchStatus(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "_eventlake", "catalog.db")
	cat, err := catalog.Open(path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	if err := cat.StartWatcher(ctx, catalog.WatcherState{Name: "sqs:q", Mode: catalog.WatchNotification, Queue: "https://q", StartedAt: t0, HeartbeatInterval: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := cat.StartWatcher(ctx, catalog.WatcherState{Name: "listing", Mode: catalog.WatchListing, HeartbeatInterval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := cat.StartWatcher(ctx, catalog.WatcherState{Name: "x", Mode: "bogus", HeartbeatInterval: time.Second}); err == nil {
		t.Error("StartWatcher with an invalid mode: want an error")
	}
	if err := cat.WatcherHeartbeat(ctx, "nobody", catalog.Heartbeat{}); err == nil {
		t.Error("heartbeat of an unknown watcher: want an error")
	}
	if err := cat.WatcherHeartbeat(ctx, "sqs:q", catalog.Heartbeat{At: t0.Add(time.Minute), LastLoadAt: t0.Add(30 * time.Second), LastError: "boom", LastErrorAt: t0.Add(40 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	// A later heartbeat without an error keeps the last one.
	if err := cat.WatcherHeartbeat(ctx, "sqs:q", catalog.Heartbeat{At: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}

	src := "s3://b/p/"
	first, err := cat.RecordNotifications(ctx, []catalog.Notification{
		{Source: src, Key: "a", NotifiedAt: t0.Add(10 * time.Second), EventTime: t0, MessageID: "m1"},
		{Source: src, Key: "b", NotifiedAt: t0.Add(10 * time.Second), EventTime: t0.Add(8 * time.Second), MessageID: "m2"},
		{Source: src, Key: "a", NotifiedAt: t0.Add(11 * time.Second), MessageID: "m3"}, // duplicate in the same call
		{Source: src, Key: "c", NotifiedAt: t0.Add(12 * time.Second), MessageID: "m4"}, // never loaded
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, true}; !slices.Equal(first, want) {
		t.Errorf("first = %v, want %v", first, want)
	}
	// Objects: a committed after its notification, b committed before it
	// (a listing found it first), d found by listing and never notified,
	// e loaded before notifications started (not counted).
	commitAt := func(id string, at time.Time, keys ...string) {
		t.Helper()
		if err := cat.BeginLoad(ctx, catalog.LoadInfo{ID: id, StartedAt: at}); err != nil {
			t.Fatal(err)
		}
		cm := catalog.Commit{LoadID: id, FinishedAt: at}
		for _, k := range keys {
			cm.Objects = append(cm.Objects, catalog.ObjectRecord{Source: src, Key: k, Version: "v1", Size: 1, Status: catalog.ObjectCommitted})
		}
		if err := cat.Commit(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	commitAt("L0", t0.Add(-time.Minute), "e")
	commitAt("L1", t0.Add(9*time.Second), "b")
	commitAt("L2", t0.Add(14*time.Second), "a", "d")

	ro, err := catalog.Open(path, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ws, err := ro.WatchStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Watchers) != 2 {
		t.Fatalf("watchers = %+v", ws.Watchers)
	}
	q := ws.Watchers[1]
	if ws.Watchers[0].Name != "listing" || ws.Watchers[0].State != catalog.WatcherRunning {
		t.Errorf("listing watcher = %+v, want running", ws.Watchers[0])
	}
	if q.Name != "sqs:q" || q.State != catalog.WatcherStale || q.Queue != "https://q" || q.LastError != "boom" ||
		!q.LastErrorAt.Equal(t0.Add(40*time.Second)) || !q.LastLoadAt.Equal(t0.Add(30*time.Second)) || !q.HeartbeatAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("queue watcher = %+v", q)
	}
	if ws.NotifiedObjects != 3 || ws.Notifications != 4 || ws.NotifiedNotLoaded != 1 || ws.LoadedBeforeNotified != 1 {
		t.Errorf("counts = notified %d, notifications %d, not loaded %d, loaded before %d; want 3, 4, 1, 1",
			ws.NotifiedObjects, ws.Notifications, ws.NotifiedNotLoaded, ws.LoadedBeforeNotified)
	}
	if ws.NeverNotified != 1 || len(ws.NeverNotifiedObjects) != 1 || ws.NeverNotifiedObjects[0].Key != "d" {
		t.Errorf("never notified = %d %+v, want d only", ws.NeverNotified, ws.NeverNotifiedObjects)
	}
	// Notification lag: a 10s, b 2s. Commit lag: a 4s (b was loaded first).
	if l := ws.NotificationLag; l.Samples != 2 || l.P50 != 2 || l.Max != 10 {
		t.Errorf("notification lag = %+v, want 2 samples, p50 2s, max 10s", l)
	}
	if l := ws.CommitLag; l.Samples != 1 || l.P50 != 4 || l.Max != 4 {
		t.Errorf("commit lag = %+v, want 1 sample of 4s", l)
	}
	if err := cat.WatcherHeartbeat(ctx, "sqs:q", catalog.Heartbeat{Stopped: true}); err != nil {
		t.Fatal(err)
	}
	if ws, _ := ro.WatchStatus(ctx); ws.Watchers[1].State != catalog.WatcherStopped || ws.Watchers[1].StoppedAt.IsZero() {
		t.Errorf("after a stop: %+v", ws.Watchers[1])
	}
}
