package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/loader/watch/internal/fakesqs"
)

// queueEnv is a queue with a dead-letter queue on a fake SQS server.
type queueEnv struct {
	sqs      *fakesqs.Server
	url, dlq string
}

func newQueue(t *testing.T, vt time.Duration, maxReceive int) *queueEnv {
	t.Helper()
	s := fakesqs.New()
	t.Cleanup(s.Close)
	dlq := s.CreateQueue("events-dlq", fakesqs.QueueOptions{})
	url := s.CreateQueue("events", fakesqs.QueueOptions{VisibilityTimeout: vt, DeadLetter: "events-dlq", MaxReceiveCount: maxReceive})
	return &queueEnv{sqs: s, url: url, dlq: dlq}
}

// deleted reports whether the message was deleted from the queue.
func (q *queueEnv) deleted(id string) bool { return slices.Contains(q.sqs.Deleted(q.url), id) }

func (q *queueEnv) message(id string) (fakesqs.Message, bool) {
	for _, m := range q.sqs.Messages(q.url) {
		if m.ID == id {
			return m, true
		}
	}
	return fakesqs.Message{}, false
}

// scrape fetches the watcher's metrics over HTTP.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func watchStatus(t *testing.T, lake string) catalog.WatchStatus {
	t.Helper()
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	ws, err := cat.WatchStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// A stream of files arrives in S3 with notifications in every supported
// format, some duplicated, one out of order (before its object), some
// lost, plus poison: the lake converges to exactly the events sent, every
// good message is deleted once its object committed, the poison ends in
// the dead-letter queue, and the metrics and status say so.
func TestNotificationsConverge(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "vendor", "vendor2")
	q := newQueue(t, 30*time.Second, 3)
	lake := t.TempDir()
	main := s3.sourceURL("vendor", "main_stream/")
	second := s3.sourceURL("vendor2", "")
	mainSrc, secondSrc := "s3://vendor/main_stream/", "s3://vendor2/"

	var sent []string
	put := func(bucket, key, name string) []byte {
		data, ids := pismoFile(name, 3)
		s3.put(t, bucket, key, data)
		sent = append(sent, ids...)
		return data
	}
	// A is there before the watcher starts: the start-up backfill loads it.
	put("vendor", "main_stream/2024/02/01/09/a", "a")

	m := NewMetrics()
	mctx, mcancel := context.WithCancel(context.Background())
	defer mcancel()
	addr, err := ServeMetrics(mctx, "127.0.0.1:0", false, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := start(t, Options{
		Load:              loader.Options{Lake: lake, Profile: "pismo"},
		Sources:           []loader.SourceSpec{{URL: main}, {URL: second}},
		Queue:             q.url,
		VisibilityTimeout: 30 * time.Second,
		Backfill:          300 * time.Millisecond,
		Metrics:           m,
	})
	waitFor(t, "A loaded by the start-up backfill", func() bool { return objectStatus(t, lake, mainSrc, "2024/02/01/09/a") == "committed" })

	// A notification for an object a listing loaded already.
	msgA := q.sqs.Send(q.url, sns(s3Records("vendor", "main_stream/2024/02/01/09/a")))

	// F's notification arrives before F exists (the message is received
	// while the object is not there yet): missing, left for redelivery.
	msgF := q.sqs.Send(q.url, pismoNotice("vendor", "main_stream/2024/02/01/11/f"))

	bData := put("vendor", "main_stream/2024/02/01/10/b", "b")
	put("vendor", "main_stream/2024/02/01/10/c file", "c")
	put("vendor2", "2024-02-01/d.json", "d")
	put("vendor", "main_stream/2024/02/01/11/e", "e")
	// H is a re-delivered copy of B under another name: no new rows.
	s3.put(t, "vendor", "main_stream/2024/02/01/12/h", bData)
	// G is a late file in an old folder whose notification is lost.
	put("vendor", "main_stream/2024/01/31/23/g", "g")

	good := []string{
		msgA,
		// Out of order: E before B, C and D.
		q.sqs.Send(q.url, sns(pismoNotice("vendor", "main_stream/2024/02/01/11/e"))),
		q.sqs.Send(q.url, s3Records("vendor", "main_stream/2024/02/01/10/b")),
		q.sqs.Send(q.url, s3Records("vendor", "main_stream/2024/02/01/10/c+file")),
		q.sqs.Send(q.url, eventBridge("vendor2", "2024-02-01/d.json")),
		q.sqs.Send(q.url, sns(s3Records("vendor", "main_stream/2024/02/01/10/b"))), // duplicate of B
		q.sqs.Send(q.url, s3Records("vendor", "main_stream/2024/02/01/12/h")),
	}
	ignored := q.sqs.Send(q.url, `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"vendor"}`)
	poison := []string{
		q.sqs.Send(q.url, "this is not JSON"),
		q.sqs.Send(q.url, s3Records("unknown-bucket", "main_stream/x")),
	}

	waitFor(t, "the good messages deleted", func() bool {
		for _, id := range append(good, ignored) {
			if !q.deleted(id) {
				return false
			}
		}
		return true
	})
	waitFor(t, "F's first delivery found its object missing", func() bool {
		m, ok := q.message(msgF)
		return ok && m.ReceiveCount == 1 && !m.Visible && strings.Contains(w.logs.String(), "does not exist (missing)")
	})
	if q.deleted(msgF) {
		t.Fatal("the message of a missing object was deleted")
	}
	put("vendor", "main_stream/2024/02/01/11/f", "f")

	// Let visibility timeouts pass until F is loaded and the poison has
	// been received maxReceiveCount times and moved to the dead-letter queue.
	for round := 0; len(q.sqs.Messages(q.dlq)) < len(poison) || !q.deleted(msgF); round++ {
		if round == 6 {
			t.Fatalf("after %d rounds: dead-letter queue %+v, F deleted %v", round, q.sqs.Messages(q.dlq), q.deleted(msgF))
		}
		q.sqs.Advance(31 * time.Second)
		waitFor(t, "the queue's visible messages received", func() bool {
			for _, m := range q.sqs.Messages(q.url) {
				if m.Visible {
					return false
				}
			}
			return true
		})
		// Every delivery is settled (deleted, released, or a copy of a
		// message in hand) before the next round, so that each round
		// delivers each waiting message exactly once more.
		waitFor(t, "every delivery settled", func() bool { return settled(t, m) == q.sqs.Receives(q.url) })
	}
	waitFor(t, "G loaded by a periodic backfill", func() bool { return objectStatus(t, lake, mainSrc, "2024/01/31/23/g") == "committed" })
	// The catalog shows an object committed a moment before the load
	// returns and is counted.
	waitFor(t, "G's load counted", func() bool {
		return metricNum(scrapeRegistry(t, m), `eventlake_objects_total{status="committed"}`) == 7
	})
	metrics := scrape(t, addr.String())
	if err := w.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil after a clean stop", err)
	}

	wantExactly(t, lake, sent)
	if left := q.sqs.Messages(q.url); len(left) != 0 {
		t.Errorf("messages left in the queue: %+v", left)
	}
	var dlq []string
	for _, m := range q.sqs.Messages(q.dlq) {
		dlq = append(dlq, m.ID)
	}
	slices.Sort(dlq)
	slices.Sort(poison)
	if !slices.Equal(dlq, poison) {
		t.Errorf("dead-letter queue = %v, want the poison messages %v", dlq, poison)
	}
	if d := q.sqs.Deleted(q.url); len(d) != len(good)+2 {
		t.Errorf("%d deletions %v, want each of the %d good messages, F and the test event deleted once", len(d), d, len(good))
	}
	if st := objectStatus(t, lake, mainSrc, "2024/02/01/12/h"); st != "duplicate" {
		t.Errorf("H status = %q, want duplicate", st)
	}
	if st := objectStatus(t, lake, secondSrc, "2024-02-01/d.json"); st != "committed" {
		t.Errorf("D status = %q, want committed", st)
	}

	// Metrics: seven objects committed (A–G) and H a duplicate, 21 records;
	// eight messages deleted after their objects loaded (the seven good
	// ones and F), one ignored, and poison received 3+3 times plus F once.
	for name, want := range map[string]float64{
		`eventlake_objects_total{status="committed"}`: 7,
		`eventlake_objects_total{status="duplicate"}`: 1,
		`eventlake_objects_total{status="failed"}`:    0,
		`eventlake_records_total`:                     21,
		`eventlake_rejects_total`:                     0,
		`eventlake_messages_total{outcome="loaded"}`:  8,
		`eventlake_messages_total{outcome="ignored"}`: 1,
		`eventlake_messages_total{outcome="poison"}`:  7,
		`eventlake_messages_total{outcome="retry"}`:   0,
		`eventlake_notification_lag_seconds_count`:    7, // A B C D E F H, first notifications
		`eventlake_errors_total{op="load"}`:           0,
	} {
		if got := metricNum(metrics, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := metricNum(metrics, `eventlake_objects_total{status="missing"}`); got < 1 {
		t.Errorf("missing objects = %v, want at least F's first delivery", got)
	}
	if got := metricNum(metrics, `eventlake_bytes_total`); got <= 0 {
		t.Errorf("bytes = %v, want > 0", got)
	}
	if got := metricNum(metrics, `eventlake_last_load_timestamp_seconds`); got < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last load timestamp = %v, want within the last minute", got)
	}

	ws := watchStatus(t, lake)
	if len(ws.Watchers) != 1 || ws.Watchers[0].Name != "sqs:events" || ws.Watchers[0].Mode != "notification" ||
		ws.Watchers[0].State != catalog.WatcherStopped || ws.Watchers[0].Queue != q.url || ws.Watchers[0].LastLoadAt.IsZero() {
		t.Errorf("watchers = %+v", ws.Watchers)
	}
	// Notified: A B C D E F H. F was notified twice (redelivered), B twice.
	if ws.NotifiedObjects != 7 || ws.Notifications != 9 || ws.NotifiedNotLoaded != 0 {
		t.Errorf("notified %d objects by %d messages, %d not loaded; want 7, 9, 0", ws.NotifiedObjects, ws.Notifications, ws.NotifiedNotLoaded)
	}
	if ws.NeverNotified != 1 || len(ws.NeverNotifiedObjects) != 1 || ws.NeverNotifiedObjects[0].Key != "2024/01/31/23/g" {
		t.Errorf("never notified = %d %+v, want G only", ws.NeverNotified, ws.NeverNotifiedObjects)
	}
	// A was loaded by listing before its notification; a periodic backfill
	// may have beaten the notifications of others too.
	if ws.LoadedBeforeNotified < 1 || ws.LoadedBeforeNotified > 7 {
		t.Errorf("loaded before notified = %d, want A at least", ws.LoadedBeforeNotified)
	}
	if ws.NotificationLag.Samples != 7 {
		t.Errorf("notification lag samples = %d, want 7", ws.NotificationLag.Samples)
	}
}

// settled counts the messages the watcher has settled, by any outcome.
func settled(t *testing.T, m *Metrics) int {
	text := scrapeRegistry(t, m)
	n := 0.0
	for _, o := range messageOutcomes {
		n += metricNum(text, `eventlake_messages_total{outcome="`+o+`"}`)
	}
	return int(n)
}

// Listing mode loads new files every interval, including late files in old
// folders (a full listing, no high-water mark), and records its heartbeat.
func TestListingMode(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "jwo")
	lake := t.TempDir()
	src := s3.sourceURL("jwo", "main_stream/")
	var sent []string
	put := func(key, name string) {
		data, ids := pismoFile(name, 2)
		s3.put(t, "jwo", key, data)
		sent = append(sent, ids...)
	}
	put("main_stream/2024/02/01/10/x1", "x1")
	m := NewMetrics()
	w := start(t, Options{
		Load:     loader.Options{Lake: lake, Profile: "pismo"},
		Sources:  []loader.SourceSpec{{URL: src}},
		Interval: 30 * time.Millisecond,
		Metrics:  m,
	})
	waitFor(t, "x1 loaded", func() bool { return objectStatus(t, lake, "s3://jwo/main_stream/", "2024/02/01/10/x1") == "committed" })
	put("main_stream/2024/02/01/11/x2", "x2")
	put("main_stream/2024/01/15/03/late", "late") // an old folder, written now
	waitFor(t, "x2 and the late file loaded", func() bool {
		return objectStatus(t, lake, "s3://jwo/main_stream/", "2024/02/01/11/x2") == "committed" &&
			objectStatus(t, lake, "s3://jwo/main_stream/", "2024/01/15/03/late") == "committed"
	})
	waitFor(t, "the loads counted", func() bool {
		return metricNum(scrapeRegistry(t, m), `eventlake_objects_total{status="committed"}`) == 3
	})
	waitFor(t, "a heartbeat after a load", func() bool {
		ws := watchStatus(t, lake)
		return len(ws.Watchers) == 1 && ws.Watchers[0].State == catalog.WatcherRunning && !ws.Watchers[0].LastLoadAt.IsZero() &&
			ws.Watchers[0].HeartbeatAt.After(ws.Watchers[0].StartedAt)
	})
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	wantExactly(t, lake, sent)
	ws := watchStatus(t, lake)
	if ws.Watchers[0].Name != "listing" || ws.Watchers[0].Mode != "listing" || ws.Watchers[0].State != catalog.WatcherStopped {
		t.Errorf("watcher = %+v", ws.Watchers[0])
	}
	if ws.NeverNotified != 0 || ws.NotifiedObjects != 0 {
		t.Errorf("listing mode reports notifications: %+v", ws)
	}
	text := scrapeRegistry(t, m)
	if got := metricNum(text, `eventlake_objects_total{status="committed"}`); got != 3 {
		t.Errorf("committed objects = %v, want 3", got)
	}
	if got := metricNum(text, `eventlake_loads_total{kind="listing"}`); got < 2 {
		t.Errorf("listing loads = %v, want several", got)
	}
}

// scrapeRegistry renders metrics without a server.
func scrapeRegistry(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := &responseRecorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	m.Handler().ServeHTTP(rec, req)
	return rec.body.String()
}

type responseRecorder struct {
	header http.Header
	body   strings.Builder
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *responseRecorder) WriteHeader(int)             {}

// A load that runs longer than half the visibility timeout keeps its
// messages invisible: the watcher extends them, and the message is
// received once and deleted after the commit.
func TestVisibilityExtendedDuringSlowLoad(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "b")
	q := newQueue(t, 30*time.Second, 5)
	lake := t.TempDir()
	data, ids := pismoFile("slow", 2)
	s3.put(t, "b", "p/slow", data)
	release := s3.hold("b", "p/slow")
	start(t, Options{
		Load:              loader.Options{Lake: lake, Profile: "pismo"},
		Sources:           []loader.SourceSpec{{URL: s3.sourceURL("b", "p/")}},
		Queue:             q.url,
		Backfill:          -1,
		VisibilityTimeout: 2 * time.Second,
	})
	id := q.sqs.Send(q.url, s3Records("b", "p/slow"))
	waitFor(t, "the load reading the object", func() bool { return s3.heldGets("b", "p/slow") > 0 })
	waitFor(t, "two visibility extensions", func() bool { m, _ := q.message(id); return m.VisibilityChanges >= 2 })
	if m, _ := q.message(id); m.Visible || m.ReceiveCount != 1 {
		t.Fatalf("message during the load = %+v, want in flight, received once", m)
	}
	release()
	waitFor(t, "the message deleted", func() bool { return q.deleted(id) })
	wantExactly(t, lake, ids)
}

// Shutdown in the middle of a load (no grace) abandons it cleanly: nothing
// of it is visible, the catalog records it failed, staging is empty, and
// the message goes back to the queue at once; the next watcher loads it.
func TestShutdownMidLoadAbandons(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "b")
	q := newQueue(t, 30*time.Second, 5)
	lake := t.TempDir()
	data, ids := pismoFile("mid", 3)
	s3.put(t, "b", "p/mid", data)
	release := s3.hold("b", "p/mid")
	o := Options{
		Load:     loader.Options{Lake: lake, Profile: "pismo"},
		Sources:  []loader.SourceSpec{{URL: s3.sourceURL("b", "p/")}},
		Queue:    q.url,
		Backfill: -1,
	}
	w := start(t, o)
	id := q.sqs.Send(q.url, s3Records("b", "p/mid"))
	waitFor(t, "the load reading the object", func() bool { return s3.heldGets("b", "p/mid") > 0 })
	if err := w.stop(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	release()

	if got := lakeEvents(t, lake); len(got) != 0 {
		t.Errorf("an abandoned load left rows in the lake: %v", got)
	}
	staging := filepath.Join(lake, "_eventlake", "staging")
	if ents, err := os.ReadDir(staging); err == nil && len(ents) > 0 {
		t.Errorf("staging not empty after shutdown: %v", ents)
	}
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cat.Status(context.Background())
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.LastLoad == nil || st.LastLoad.Status != "failed" || !strings.Contains(st.LastLoad.Error, "interrupted") || st.Files != 0 || len(st.Objects) != 0 {
		t.Errorf("catalog after shutdown: last load %+v, files %d, objects %v; want one failed load and nothing else", st.LastLoad, st.Files, st.Objects)
	}
	m, ok := q.message(id)
	if !ok || !m.Visible || m.ReceiveCount != 1 {
		t.Fatalf("message after shutdown = %+v (present %v), want visible again at once", m, ok)
	}

	start(t, o)
	waitFor(t, "the message deleted by the next watcher", func() bool { return q.deleted(id) })
	wantExactly(t, lake, ids)
}

// With a shutdown grace, a running load commits and its messages are
// deleted before Run returns.
func TestShutdownGraceLetsLoadCommit(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "b")
	q := newQueue(t, 30*time.Second, 5)
	lake := t.TempDir()
	data, ids := pismoFile("grace", 2)
	s3.put(t, "b", "p/grace", data)
	release := s3.hold("b", "p/grace")
	w := start(t, Options{
		Load:          loader.Options{Lake: lake, Profile: "pismo"},
		Sources:       []loader.SourceSpec{{URL: s3.sourceURL("b", "p/")}},
		Queue:         q.url,
		Backfill:      -1,
		ShutdownGrace: 20 * time.Second,
	})
	id := q.sqs.Send(q.url, s3Records("b", "p/grace"))
	waitFor(t, "the load reading the object", func() bool { return s3.heldGets("b", "p/grace") > 0 })
	w.cancel()
	waitFor(t, "the watcher waiting for the load", func() bool { return strings.Contains(w.logs.String(), "waiting for the running load to commit") })
	release()
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	if !q.deleted(id) {
		t.Error("the message of a load committed during the grace was not deleted")
	}
	wantExactly(t, lake, ids)
}

// Every error is survived: failed receives (backoff), a failed delete (the
// message comes back and finds its object known), a lake locked by another
// loader (waited out), and an object the load cannot read, which must not
// hold back the other objects of its batch.
func TestErrorsAreSurvived(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "b")
	q := newQueue(t, 30*time.Second, 5)
	lake := t.TempDir()
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(q.sqs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), RetryMaxAttempts: 1})
	m := NewMetrics()
	var sent []string
	put := func(key, name string) {
		data, ids := pismoFile(name, 2)
		s3.put(t, "b", "p/"+key, data)
		sent = append(sent, ids...)
	}

	q.sqs.Fail("ReceiveMessage", 3)
	q.sqs.Fail("DeleteMessageBatch", 1)
	w := start(t, Options{
		Load:              loader.Options{Lake: lake, Profile: "pismo", LockWait: 10 * time.Millisecond},
		Sources:           []loader.SourceSpec{{URL: s3.sourceURL("b", "p/")}},
		Queue:             q.url,
		SQS:               client,
		VisibilityTimeout: 30 * time.Second,
		Backfill:          -1,
		Metrics:           m,
	})

	// Receives fail three times, then the message gets through; its first
	// delete fails.
	put("one", "one")
	first := q.sqs.Send(q.url, s3Records("b", "p/one"))
	waitFor(t, "one committed", func() bool { return objectStatus(t, lake, "s3://b/p/", "one") == "committed" })
	waitFor(t, "the delete attempted", func() bool { return q.sqs.Calls("DeleteMessageBatch") >= 1 })
	waitFor(t, "the failed delete released", func() bool {
		m, _ := q.message(first)
		return strings.Contains(w.logs.String(), "delete failed") && m.ReceiveCount == 1
	})
	if q.deleted(first) {
		t.Fatal("the delete was injected to fail")
	}
	q.sqs.Advance(31 * time.Second) // it comes back: the object is known now
	waitFor(t, "the redelivered message deleted", func() bool { return q.deleted(first) })

	// Another loader holds the lake: the load waits it out.
	lock, err := lk.AcquireLock(lake, time.Second, "test holder")
	if err != nil {
		t.Fatal(err)
	}
	put("two", "two")
	second := q.sqs.Send(q.url, s3Records("b", "p/two"))
	waitFor(t, "a load refused by the lock", func() bool { return strings.Contains(w.logs.String(), "locked by another writer") })
	lock.Release()
	waitFor(t, "two loaded after the lock was released", func() bool { return q.deleted(second) })
	if m, _ := q.message(second); m.ReceiveCount > 1 {
		t.Errorf("the message was redelivered while the lake was locked: %+v", m)
	}

	// An object the loader may not read fails alone (its Stat error is its
	// outcome); the readable object's message is deleted.
	put("three", "three")
	put("denied", "denied-never-loaded")
	sent = slices.DeleteFunc(sent, func(id string) bool { return strings.HasPrefix(id, "denied-never-loaded") })
	s3.setDeny("b", "p/denied", true)
	both := q.sqs.Send(q.url, s3Records("b", "p/three", "p/denied"))
	three := q.sqs.Send(q.url, s3Records("b", "p/three"))
	denied := q.sqs.Send(q.url, s3Records("b", "p/denied"))
	waitFor(t, "three's own message deleted", func() bool { return q.deleted(three) })
	// "both" and "denied" are left for redelivery, after the split.
	waitFor(t, "the denied messages released", func() bool {
		return metricNum(scrapeRegistry(t, m), `eventlake_messages_total{outcome="retry"}`) == 2
	})
	if q.deleted(denied) || q.deleted(both) {
		t.Error("a message naming an object that cannot be read was deleted")
	}
	text := scrapeRegistry(t, m)
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	wantExactly(t, lake, sent)
	for name, want := range map[string]float64{
		`eventlake_errors_total{op="receive"}`:        3,
		`eventlake_errors_total{op="delete"}`:         1,
		`eventlake_objects_total{status="committed"}`: 3,
	} {
		if got := metricNum(text, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := metricNum(text, `eventlake_errors_total{op="load"}`); got < 1 {
		t.Errorf("load errors = %v, want at least the lock", got)
	}
	ws := watchStatus(t, lake)
	if ws.Watchers[0].LastError == "" || ws.Watchers[0].LastErrorAt.IsZero() {
		t.Errorf("status does not show the last error: %+v", ws.Watchers[0])
	}
}

// The JSON form of WatchStatus is part of `eventlake status --json`.
func TestWatchStatusJSON(t *testing.T) {
	b, err := json.Marshal(catalog.WatchStatus{Watchers: []catalog.WatcherState{{Name: "w", Mode: "listing", State: "running", HeartbeatInterval: 30 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"watchers"`, `"heartbeat_at"`, `"heartbeat_interval_seconds":30`, `"never_notified"`, `"never_notified_objects"`, `"notification_lag"`, `"commit_lag"`, `"p95_seconds"`, `"notified_not_loaded"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s: %s", field, b)
		}
	}
}

// Files keep arriving while the watcher runs; every fifth notification is
// lost, every third is delivered twice, and they come in every supported
// format. The lake converges to exactly the events sent, each message is
// deleted, and the metrics count every object, record and message once.
func TestStreamConverges(t *testing.T) {
	setEnv(t)
	s3 := newS3(t, "stream")
	q := newQueue(t, 30*time.Second, 5)
	lake := t.TempDir()
	m := NewMetrics()
	w := start(t, Options{
		Load:            loader.Options{Lake: lake, Profile: "pismo"},
		Sources:         []loader.SourceSpec{{URL: s3.sourceURL("stream", "main_stream/")}},
		Queue:           q.url,
		Backfill:        200 * time.Millisecond,
		BatchMaxObjects: 4,
		Metrics:         m,
	})
	const files = 30
	var sent, msgs []string
	for i := range files {
		key := fmt.Sprintf("main_stream/2024/02/%02d/%02d/batch-%03d", 1+i/24, i%24, i)
		data, ids := pismoFile(fmt.Sprintf("s%03d", i), 1+i%4)
		s3.put(t, "stream", key, data)
		sent = append(sent, ids...)
		if i%5 == 4 {
			continue // lost: the backfill must find it
		}
		var body string
		switch i % 4 {
		case 0:
			body = s3Records("stream", key)
		case 1:
			body = sns(s3Records("stream", key))
		case 2:
			body = eventBridge("stream", key)
		case 3:
			body = sns(pismoNotice("stream", key))
		}
		for range 1 + btoi(i%3 == 0) {
			msgs = append(msgs, q.sqs.Send(q.url, body))
		}
		if i%7 == 0 {
			// Let the watcher catch up now and then, so batches of
			// several sizes form.
			waitFor(t, "the messages so far deleted", func() bool { return len(q.sqs.Deleted(q.url)) == len(msgs) })
		}
	}
	waitFor(t, "every object counted as committed", func() bool {
		return metricNum(scrapeRegistry(t, m), `eventlake_objects_total{status="committed"}`) == files
	})
	waitFor(t, "every message deleted", func() bool { return len(q.sqs.Deleted(q.url)) == len(msgs) })
	text := scrapeRegistry(t, m)
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	wantExactly(t, lake, sent)
	if left := q.sqs.Messages(q.url); len(left) != 0 {
		t.Errorf("messages left: %+v", left)
	}
	for name, want := range map[string]float64{
		`eventlake_objects_total{status="committed"}`: files,
		`eventlake_objects_total{status="missing"}`:   0,
		`eventlake_records_total`:                     float64(len(sent)),
		`eventlake_messages_total{outcome="loaded"}`:  float64(len(msgs)),
		`eventlake_messages_total{outcome="poison"}`:  0,
		`eventlake_messages_total{outcome="retry"}`:   0,
		`eventlake_notification_lag_seconds_count`:    files - files/5,
	} {
		if got := metricNum(text, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	ws := watchStatus(t, lake)
	if ws.NeverNotified != files/5 || ws.NotifiedObjects != files-files/5 || ws.NotifiedNotLoaded != 0 {
		t.Errorf("status: never notified %d, notified %d, not loaded %d; want %d, %d, 0", ws.NeverNotified, ws.NotifiedObjects, ws.NotifiedNotLoaded, files/5, files-files/5)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
