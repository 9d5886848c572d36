// Package watch is eventlake's continuous loading (`eventlake watch`): it
// keeps a lake up to date with its sources, in one of two modes.
//
// Listing mode lists every source each Interval and loads what is new.
//
// Notification mode long-polls an SQS queue that receives storage
// notifications (S3 event records, directly or through SNS; EventBridge S3
// events; Pismo dataplatform/new_bucket_object events), batches them into
// loads of the objects they name (up to BatchMaxObjects objects, or
// BatchMaxWait after the first message), and deletes a message only once
// every object it names is in the catalog (committed, duplicate,
// quarantined, or known from before). A message it cannot use — not
// parseable, naming a bucket/prefix no source covers, or an object that
// does not exist — is logged and left alone: it comes back after its
// visibility timeout and the queue's redrive policy eventually moves it to
// the dead-letter queue. A backfill listing every Backfill (and at start)
// loads what notifications missed.
//
// # High-water marks
//
// Listings start from the beginning of each source every time; there is no
// per-source high-water mark. Vendors write late files into old folders
// (Amazon JWO writes files of previous days into the current folder, Pismo
// folders are by hour and a batch may close after the hour), so a mark by
// key would miss them, and a mark by modification time is not available
// from a listing prefix. The loader already skips known objects with one
// catalog query per source, so a full listing costs one ListObjectsV2 call
// per 1,000 objects — 9 calls for a 90-day JWO retention. Sources with
// since/until list only their date folders.
//
// # Failure handling
//
// In listing mode, an object that fails is retried with backoff: after one
// Interval, then 2, 4, … Intervals, at most an hour (loader.Options
// RetryBackoff; `status` shows each failed object's next retry), so a file
// that keeps failing does not cost a load, and a loads row, per interval.
//
// The loop survives every error: a failed receive, load, delete or catalog
// write is logged, counted (eventlake_errors_total) and retried with
// exponential backoff (BackoffMin doubling to BackoffMax). A notification
// load that keeps failing is retried MaxLoadAttempts times, then its
// messages are loaded one at a time so that one bad object cannot hold the
// others back; a lock held by another loader is waited out without limit.
// Messages in hand keep their visibility extended meanwhile.
//
// # Shutdown
//
// When ctx ends the watcher stops receiving, gives a running load
// ShutdownGrace to commit (its messages are then deleted), and otherwise
// abandons it cleanly: the loader discards its staged files and marks the
// load failed, nothing of it becomes visible. Messages in hand go back to
// the queue at once. A hard kill is covered by the loader's commit protocol
// (recovery at the next start).
package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/loader/source"
)

// Defaults of the Options fields left zero.
const (
	DefaultInterval          = 5 * time.Minute
	DefaultBackfill          = time.Hour
	DefaultBatchMaxObjects   = 100
	DefaultBatchMaxWait      = 10 * time.Second
	DefaultVisibilityTimeout = 5 * time.Minute
	DefaultWaitTime          = 20 * time.Second
	DefaultHeartbeat         = 30 * time.Second
	DefaultBackoffMin        = time.Second
	DefaultBackoffMax        = 5 * time.Minute
	DefaultMaxLoadAttempts   = 3
)

// Options configure a watcher.
type Options struct {
	// Load is the configuration of every load (Lake, CatalogPath, Profile,
	// Config, Workers, OnChange, LockWait, ...). Command defaults to
	// "watch", Log to Options.Log with the watcher's name; Progress is not
	// used.
	Load loader.Options
	// WriterOptions, if set, is asked before each load for lake.OpenWriter
	// options added to Load.WriterOptions (the Iceberg table's hooks), so
	// a table created while the watcher runs is kept from the next load on.
	WriterOptions func(context.Context) ([]lake.Option, error)
	// Sources are loaded by listings; notifications are mapped onto the S3
	// ones (s3://BUCKET/PREFIX/ covers keys under PREFIX in BUCKET).
	Sources []loader.SourceSpec
	// Name identifies the watcher in the catalog (status shows its
	// heartbeat). Default: "sqs:<queue name>" or "listing".
	Name string

	// Interval is the listing period in listing mode (default 5m).
	Interval time.Duration

	// Queue is an SQS queue URL; it selects notification mode.
	Queue string
	// SQS is the client (default: NewSQSClient(Queue, SQSOptions)).
	SQS        SQSAPI
	SQSOptions SQSOptions
	// Backfill is the period of the listing that catches notifications
	// that never came (default 1h; negative: no backfill). One runs at
	// start too.
	Backfill time.Duration
	// BatchMaxObjects and BatchMaxWait bound a batch: a load starts when
	// that many objects (or messages) are waiting, or BatchMaxWait after
	// the batch's first message (defaults 100, 10s).
	BatchMaxObjects int
	BatchMaxWait    time.Duration
	// VisibilityTimeout is asked for with every ReceiveMessage (whole
	// seconds, default 5m) and renewed while a message is held.
	VisibilityTimeout time.Duration
	// WaitTime is the long-poll duration (whole seconds up to 20s, default
	// 20s).
	WaitTime time.Duration

	// HeartbeatInterval is how often the catalog's watchers row is
	// refreshed (default 30s); status calls a watcher stale after three
	// missed heartbeats.
	HeartbeatInterval time.Duration
	// ShutdownGrace is how long a load running at shutdown may take to
	// commit before it is abandoned (0: abandon at once).
	ShutdownGrace time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff after errors
	// (defaults 1s, 5m).
	BackoffMin, BackoffMax time.Duration
	// MaxLoadAttempts is how often a notification load is tried before its
	// messages are loaded one by one (default 3).
	MaxLoadAttempts int

	// Metrics receives the watcher's metrics (default: a new registry
	// nobody serves).
	Metrics *Metrics
	// Log receives structured logs (default: discarded).
	Log *slog.Logger
	// Now is the clock of recorded times (tests); timers use real time.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Backfill == 0 {
		o.Backfill = DefaultBackfill
	}
	if o.BatchMaxObjects == 0 {
		o.BatchMaxObjects = DefaultBatchMaxObjects
	}
	if o.BatchMaxWait == 0 {
		o.BatchMaxWait = DefaultBatchMaxWait
	}
	if o.VisibilityTimeout == 0 {
		o.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if o.WaitTime == 0 {
		o.WaitTime = DefaultWaitTime
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = DefaultHeartbeat
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.MaxLoadAttempts == 0 {
		o.MaxLoadAttempts = DefaultMaxLoadAttempts
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Load.Command == "" {
		o.Load.Command = "watch"
	}
	o.Load.Progress = nil
	if o.Name == "" {
		o.Name = "listing"
		if o.Queue != "" {
			o.Name = "sqs:" + queueName(o.Queue)
		}
	}
}

// queueName is the last path segment of a queue URL.
func queueName(q string) string {
	if u, err := url.Parse(q); err == nil && u.Path != "" {
		q = u.Path
	}
	q = strings.TrimRight(q, "/")
	return q[strings.LastIndex(q, "/")+1:]
}

func (o *Options) validate() error {
	switch {
	case o.Load.Lake == "":
		return errors.New("watch: no lake given")
	case len(o.Sources) == 0:
		return errors.New("watch: no source given")
	case o.Interval < 0:
		return fmt.Errorf("watch: interval %s is negative", o.Interval)
	case o.BatchMaxObjects < 0:
		return fmt.Errorf("watch: batch max objects %d is negative", o.BatchMaxObjects)
	case o.BatchMaxWait < 0:
		return fmt.Errorf("watch: batch max wait %s is negative", o.BatchMaxWait)
	case o.VisibilityTimeout < time.Second || o.VisibilityTimeout > 12*time.Hour || o.VisibilityTimeout%time.Second != 0:
		return fmt.Errorf("watch: visibility timeout %s: want whole seconds between 1s and 12h", o.VisibilityTimeout)
	case o.WaitTime < 0 || o.WaitTime > 20*time.Second || o.WaitTime%time.Second != 0:
		return fmt.Errorf("watch: long-poll wait %s: want whole seconds up to 20s", o.WaitTime)
	case o.HeartbeatInterval < 0 || o.ShutdownGrace < 0 || o.BackoffMin < 0 || o.BackoffMax < o.BackoffMin:
		return errors.New("watch: heartbeat interval, shutdown grace and backoff must not be negative, and backoff max must not be below min")
	case o.MaxLoadAttempts < 0:
		return fmt.Errorf("watch: max load attempts %d is negative", o.MaxLoadAttempts)
	}
	return nil
}

// watcher is the state of one Run.
type watcher struct {
	o      Options
	log    *slog.Logger
	m      *Metrics
	cat    *catalog.Catalog
	routes []*route
	sqs    SQSAPI
	keeper *keeper

	// poke asks the heartbeat goroutine for an early heartbeat (after a
	// load or an error), so status is fresh without a write per event.
	poke chan struct{}

	mu        sync.Mutex // guards the heartbeat fields below
	lastLoad  time.Time
	lastErr   string
	lastErrAt time.Time
}

// pokeHeartbeat requests a heartbeat soon; requests coalesce.
func (w *watcher) pokeHeartbeat() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

func (w *watcher) now() time.Time { return w.o.Now() }

// Run watches until ctx ends, then stops cleanly and returns nil. It
// returns an error only when it cannot start (bad options, catalog, queue
// client); after that every error is logged, counted and retried.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	if err := o.validate(); err != nil {
		return err
	}
	routes, err := newRoutes(o.Sources)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	mode := catalog.WatchListing
	if o.Queue == "" && o.Load.RetryBackoff == 0 {
		// A failed object is retried after one interval, then after
		// 2, 4, … intervals (at most Load.RetryBackoffMax, 1h): a file that
		// keeps failing costs a load now and then, not one per interval.
		o.Load.RetryBackoff = o.Interval
	}
	if o.Queue != "" {
		mode = catalog.WatchNotification
		if len(routes) == 0 {
			return errors.New("watch: notification mode needs at least one s3:// source to map notifications onto")
		}
		if o.SQS == nil {
			c, err := NewSQSClient(source.WithLogger(ctx, o.Log), o.Queue, o.SQSOptions)
			if err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			o.SQS = c
		}
	}
	catPath, cleanup, err := stateCatalog(o.Load)
	if err != nil {
		return err
	}
	defer cleanup()
	cat, err := catalog.Open(catPath, catalog.Options{})
	if err != nil {
		return err
	}
	defer cat.Close()

	w := &watcher{o: o, log: o.Log.With("watcher", o.Name), m: o.Metrics, cat: cat, routes: routes, sqs: o.SQS, poke: make(chan struct{}, 1)}
	if w.o.Load.Log == nil {
		w.o.Load.Log = w.log
	}
	w.keeper = newKeeper(w)
	started := w.now()
	if err := cat.StartWatcher(ctx, catalog.WatcherState{Name: o.Name, Mode: mode, Queue: o.Queue, StartedAt: started, HeartbeatInterval: o.HeartbeatInterval}); err != nil {
		return err
	}
	var sources []string
	for _, s := range o.Sources {
		sources = append(sources, source.Redact(s.URL))
	}
	w.log.Info("watcher started", "mode", mode, "queue", o.Queue, "sources", sources, "lake", o.Load.Lake)

	hbCtx, stopHeartbeats := context.WithCancel(context.WithoutCancel(ctx))
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeats(hbCtx)
	}()

	if mode == catalog.WatchListing {
		w.runListing(ctx)
	} else {
		w.runNotifications(ctx)
	}

	stopHeartbeats()
	<-hbDone
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.heartbeat(fctx, true)
	w.log.Info("watcher stopped", "cause", context.Cause(ctx))
	return nil
}

// stateCatalog returns the catalog the watcher keeps its own state in
// (heartbeats, notifications): the lake's. A lake in a bucket commits only
// loads to its log, so there the watcher keeps its state in a catalog of
// its own in a temporary folder (removed by cleanup): each round's load
// syncs the lake's catalog from the bucket under the lease, as a load does.
func stateCatalog(lo loader.Options) (path string, cleanup func(), err error) {
	if loc, lerr := lake.ParseLocation(lo.Lake); lerr == nil && loc.IsBucket() {
		dir, err := os.MkdirTemp("", "eventlake-watch-")
		if err != nil {
			return "", nil, fmt.Errorf("watch: %w", err)
		}
		return filepath.Join(dir, "watcher.db"), func() { os.RemoveAll(dir) }, nil
	}
	path = lo.CatalogPath
	if path == "" {
		path = loader.CatalogPath(lo.Lake)
	}
	if err := os.MkdirAll(lo.Lake, 0o755); err != nil {
		return "", nil, fmt.Errorf("watch: lake %s: %w", lo.Lake, err)
	}
	return path, func() {}, nil
}

// heartbeats refreshes the catalog's watchers row until ctx ends.
func (w *watcher) heartbeats(ctx context.Context) {
	t := time.NewTicker(w.o.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.heartbeat(ctx, false)
		case <-w.poke:
			w.heartbeat(ctx, false)
		}
	}
}

func (w *watcher) heartbeat(ctx context.Context, stopped bool) {
	w.mu.Lock()
	hb := catalog.Heartbeat{At: w.now(), LastLoadAt: w.lastLoad, LastError: w.lastErr, LastErrorAt: w.lastErrAt, Stopped: stopped}
	w.mu.Unlock()
	if err := w.cat.WatcherHeartbeat(ctx, w.o.Name, hb); err != nil && ctx.Err() == nil {
		w.m.errorIn("catalog")
		w.log.Error("heartbeat", "error", err)
	}
}

// fail logs and counts an error the loop survives.
func (w *watcher) fail(op string, err error) {
	w.m.errorIn(op)
	w.log.Error(op+" failed", "error", err)
	w.mu.Lock()
	w.lastErr, w.lastErrAt = err.Error(), w.now()
	w.mu.Unlock()
	w.pokeHeartbeat()
}

// backoff is an exponential backoff with jitter (between half and all of
// the nominal delay, so retrying watchers do not synchronise).
type backoff struct{ min, max, cur time.Duration }

func (w *watcher) newBackoff() *backoff { return &backoff{min: w.o.BackoffMin, max: w.o.BackoffMax} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	if b.cur <= 0 {
		return 0
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// graceful returns the context a load runs under: it ends ShutdownGrace
// after ctx does, so a load that is about to commit can finish.
func (w *watcher) graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	lctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	grace := w.o.ShutdownGrace
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		cause := fmt.Errorf("shutting down: %w", context.Cause(ctx))
		if grace <= 0 {
			cancel(cause)
			return
		}
		w.log.Info("shutting down: waiting for the running load to commit", "grace", grace)
		mu.Lock()
		timer = time.AfterFunc(grace, func() {
			cancel(fmt.Errorf("shutdown grace of %s elapsed; load abandoned: %w", grace, context.Canceled))
		})
		mu.Unlock()
	})
	return lctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(nil)
	}
}

// load runs one load and accounts for it.
func (w *watcher) load(ctx context.Context, kind string, specs []loader.SourceSpec) (*loader.Summary, error) {
	lctx, cancel := w.graceful(ctx)
	defer cancel()
	lo := w.o.Load
	if w.o.WriterOptions != nil {
		extra, err := w.o.WriterOptions(lctx)
		if err != nil {
			return nil, err
		}
		lo.WriterOptions = append(slices.Clip(lo.WriterOptions), extra...)
	}
	sum, err := loader.Run(lctx, lo, specs)
	if err != nil {
		return nil, err
	}
	end := w.now()
	w.m.loaded(kind, sum, end)
	w.mu.Lock()
	w.lastLoad = end
	w.mu.Unlock()
	w.pokeHeartbeat()
	if sum.LoadID != "" {
		w.log.Info("load committed", "kind", kind, "load_id", sum.LoadID, "objects", sum.Objects, "committed", sum.Committed,
			"duplicates", sum.Duplicates, "failed", sum.Failed, "quarantined", sum.Quarantined, "vanished", sum.Vanished,
			"skipped", sum.Skipped, "records", sum.Records, "rejects", sum.Rejects, "bytes", sum.Bytes, "seconds", sum.Seconds)
	}
	for _, e := range sum.Errors {
		w.log.Warn("object not loaded", "object", e.Object, "status", e.Status, "error", e.Error)
	}
	return sum, nil
}

// listing loads every source from a full listing.
func (w *watcher) listing(ctx context.Context, kind string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	_, err := w.load(ctx, kind, w.o.Sources)
	if err != nil && ctx.Err() == nil {
		w.fail("load", fmt.Errorf("%s load: %w", kind, err))
	}
	return err
}

// runListing is listing mode: load, wait Interval (or the backoff after a
// failure), repeat.
func (w *watcher) runListing(ctx context.Context) {
	bo := w.newBackoff()
	for ctx.Err() == nil {
		wait := w.o.Interval
		if err := w.listing(ctx, "listing"); err != nil {
			wait = min(bo.next(), w.o.Interval)
		} else {
			bo.reset()
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// objRef is one object a message names, mapped onto its source.
type objRef struct {
	route *route
	key   string // relative to the source root
}

// String is the object's URL, as the loader's outcomes name it.
func (r objRef) String() string { return r.route.url + r.key }

// pending is a message in a batch.
type pending struct {
	msg  *inMessage
	objs []objRef
	// unusable says why parts of the message cannot be loaded (no source
	// covers the object): the message is never deleted.
	unusable []string
	notes    []catalog.Notification
}

// batch collects messages until a load starts.
type batch struct {
	msgs    []*pending
	objects map[objRef]bool
}

func (b *batch) add(p *pending) {
	if b.objects == nil {
		b.objects = map[objRef]bool{}
	}
	b.msgs = append(b.msgs, p)
	for _, o := range p.objs {
		b.objects[o] = true
	}
}

func (b *batch) full(max int) bool { return len(b.objects) >= max || len(b.msgs) >= max }

// runNotifications is notification mode.
func (w *watcher) runNotifications(ctx context.Context) {
	msgs := make(chan *inMessage, 10)
	// The keeper outlives ctx: it extends the messages of a load that
	// finishes during the shutdown grace.
	kctx, stopKeeper := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.receive(ctx, msgs) }()
	go func() { defer wg.Done(); w.keeper.run(kctx) }()
	defer func() {
		stopKeeper()
		wg.Wait()
		w.keeper.releaseAll()
	}()

	var b batch
	var batchTimer *time.Timer
	var batchC <-chan time.Time
	stopBatchTimer := func() {
		if batchTimer != nil {
			batchTimer.Stop()
		}
		batchTimer, batchC = nil, nil
	}
	defer stopBatchTimer()
	var backfillC <-chan time.Time
	var backfillTimer *time.Timer
	if w.o.Backfill > 0 {
		// A backfill at start loads what arrived while no watcher ran.
		backfillTimer = time.NewTimer(0)
		defer backfillTimer.Stop()
		backfillC = backfillTimer.C
	}
	flush := func() {
		stopBatchTimer()
		ps := b.msgs
		b = batch{}
		w.process(ctx, ps)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			p := w.accept(m)
			if p == nil {
				continue
			}
			b.add(p)
			if b.full(w.o.BatchMaxObjects) {
				flush()
			} else if batchC == nil {
				batchTimer = time.NewTimer(w.o.BatchMaxWait)
				batchC = batchTimer.C
			}
		case <-batchC:
			flush()
		case <-backfillC:
			_ = w.listing(ctx, "backfill")
			if ctx.Err() == nil {
				backfillTimer.Reset(w.o.Backfill)
			}
		}
	}
}

// accept parses a message and maps its objects onto sources. A message
// that cannot be used at all is released at once (nil result); the others
// join the batch (ignored ones too: they are deleted with it).
func (w *watcher) accept(m *inMessage) *pending {
	p := &pending{msg: m}
	notes, ignored, err := ParseMessage([]byte(m.body))
	if err != nil {
		w.release(p, "poison", err.Error())
		return nil
	}
	if len(notes) == 0 {
		w.log.Info("message names no new object; deleting it", "message_id", m.id, "reason", ignored)
		return p
	}
	seen := map[objRef]bool{}
	for _, n := range notes {
		r, key, ok := match(w.routes, n.Bucket, n.Key)
		if !ok {
			p.unusable = append(p.unusable, fmt.Sprintf("no source covers s3://%s/%s", n.Bucket, n.Key))
			continue
		}
		ref := objRef{route: r, key: key}
		if r.dated && !r.filter.Keep(key) {
			w.log.Info("notified object is outside its source's since/until; not loading it", "object", ref.String(), "message_id", m.id)
			continue
		}
		p.notes = append(p.notes, catalog.Notification{Source: r.url, Key: key, NotifiedAt: m.receivedAt, EventTime: n.EventTime, MessageID: m.id})
		if !seen[ref] {
			seen[ref] = true
			p.objs = append(p.objs, ref)
		}
	}
	if len(p.objs) == 0 && len(p.unusable) > 0 {
		w.record([]*pending{p})
		w.release(p, "poison", strings.Join(p.unusable, "; "))
		return nil
	}
	return p
}

// record stores the notifications of messages in the catalog and observes
// the lag of each object's first notification.
func (w *watcher) record(ps []*pending) {
	var ns []catalog.Notification
	for _, p := range ps {
		ns = append(ns, p.notes...)
	}
	if len(ns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := w.cat.RecordNotifications(ctx, ns)
	if err != nil {
		w.fail("catalog", err)
		return
	}
	for i, n := range ns {
		if first[i] && !n.EventTime.IsZero() {
			w.m.lag(n.NotifiedAt.Sub(n.EventTime).Seconds())
		}
	}
}

// specs groups the objects of messages into one SourceSpec per source.
func specs(ps []*pending) []loader.SourceSpec {
	keys := map[*route]map[string]bool{}
	var order []*route
	for _, p := range ps {
		for _, o := range p.objs {
			if keys[o.route] == nil {
				keys[o.route] = map[string]bool{}
				order = append(order, o.route)
			}
			keys[o.route][o.key] = true
		}
	}
	var out []loader.SourceSpec
	for _, r := range order {
		sp := r.spec
		sp.Keys = nil
		for k := range keys[r] {
			sp.Keys = append(sp.Keys, k)
		}
		sort.Strings(sp.Keys)
		out = append(out, sp)
	}
	return out
}

// process loads the objects of a batch and settles its messages.
func (w *watcher) process(ctx context.Context, ps []*pending) {
	w.processAttempts(ctx, ps, w.o.MaxLoadAttempts)
}

func (w *watcher) processAttempts(ctx context.Context, ps []*pending, attempts int) {
	if len(ps) == 0 || ctx.Err() != nil {
		return // at shutdown the messages go back to the queue with the others in hand
	}
	w.record(ps)
	sp := specs(ps)
	if len(sp) == 0 {
		w.settle(ps, nil) // only ignored messages
		return
	}
	bo := w.newBackoff()
	var sum *loader.Summary
	var err error
	for tries := 0; ; {
		sum, err = w.load(ctx, "notification", sp)
		if err == nil || ctx.Err() != nil {
			break
		}
		locked := errors.Is(err, lake.ErrLocked)
		if !locked {
			tries++
		}
		if tries >= attempts {
			break
		}
		d := bo.next()
		w.fail("load", fmt.Errorf("loading %d notified objects (retrying in %s): %w", countObjects(ps), d.Round(time.Millisecond), err))
		if !sleep(ctx, d) {
			break
		}
	}
	switch {
	case err == nil:
		w.settle(ps, sum)
	case ctx.Err() != nil:
		// Shutting down: the messages go back to the queue with the
		// others in hand. (A load interrupted after its commit is finished
		// by recovery; its redelivered messages then find it known.)
		w.log.Info("load interrupted by the shutdown; its messages go back to the queue", "messages", len(ps), "error", err)
	case len(ps) > 1:
		w.fail("load", fmt.Errorf("loading %d notified objects failed %d times; loading the %d messages one by one: %w", countObjects(ps), attempts, len(ps), err))
		for _, p := range ps {
			if ctx.Err() != nil {
				return
			}
			w.processAttempts(ctx, []*pending{p}, 1)
		}
	default:
		w.fail("load", fmt.Errorf("loading the objects of message %s: %w", ps[0].msg.id, err))
		w.release(ps[0], "retry", err.Error())
	}
}

func countObjects(ps []*pending) int {
	n := 0
	for _, p := range ps {
		n += len(p.objs)
	}
	return n
}

// settle deletes the messages whose objects are all in the catalog now and
// releases the others.
func (w *watcher) settle(ps []*pending, sum *loader.Summary) {
	status := map[string]catalog.ObjectStatus{}
	if sum != nil {
		for _, o := range sum.Outcomes {
			status[o.Source+o.Key] = o.Status
		}
	}
	var del []*pending
	for _, p := range ps {
		why := append([]string(nil), p.unusable...)
		poison := len(p.unusable) > 0
		for _, o := range p.objs {
			switch st := status[o.String()]; st {
			case catalog.ObjectCommitted, catalog.ObjectDuplicate, catalog.ObjectQuarantined, catalog.ObjectKnown:
			case catalog.ObjectMissing, catalog.ObjectVanished:
				poison = true
				why = append(why, o.String()+" does not exist ("+string(st)+")")
			case "":
				why = append(why, o.String()+" was not considered by the load")
			default:
				why = append(why, o.String()+" "+string(st))
			}
		}
		switch {
		case len(why) == 0:
			del = append(del, p)
		case poison:
			w.release(p, "poison", strings.Join(why, "; "))
		default:
			w.release(p, "retry", strings.Join(why, "; "))
		}
	}
	w.deleteMessages(del)
}
