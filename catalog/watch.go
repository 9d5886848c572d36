package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"time"
)

// Watcher modes.
const (
	WatchListing      = "listing"
	WatchNotification = "notification"
)

// Watcher states reported by WatchStatus.
const (
	WatcherRunning = "running" // heartbeat recent
	WatcherStopped = "stopped" // stopped cleanly
	WatcherStale   = "stale"   // no heartbeat for 3 intervals: killed, hung or unreachable
)

// staleAfter is how many missed heartbeats make a watcher stale.
const staleAfter = 3

// lagWindow bounds the notifications the lag statistics look at (the
// newest ones), so status stays fast however long a watcher has run.
const lagWindow = 1000

// maxNeverNotified bounds the objects listed in WatchStatus.NeverNotifiedObjects.
const maxNeverNotified = 20

// WatcherState is one row of the watchers table: an `eventlake watch`
// process, current or past, identified by its name.
type WatcherState struct {
	Name  string `json:"name"`
	Mode  string `json:"mode"` // listing or notification
	Queue string `json:"queue,omitempty"`
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	// State is running, stopped or stale (computed by WatchStatus).
	State             string        `json:"state"`
	StartedAt         time.Time     `json:"started_at"`
	HeartbeatAt       time.Time     `json:"heartbeat_at"`
	HeartbeatInterval time.Duration `json:"-"` // JSON: heartbeat_interval_seconds
	StoppedAt         time.Time     `json:"stopped_at,omitzero"`
	LastLoadAt        time.Time     `json:"last_load_at,omitzero"`
	LastError         string        `json:"last_error,omitempty"`
	LastErrorAt       time.Time     `json:"last_error_at,omitzero"`
}

// MarshalJSON writes the heartbeat interval in seconds.
func (w WatcherState) MarshalJSON() ([]byte, error) {
	type plain WatcherState
	return json.Marshal(struct {
		plain
		HeartbeatInterval float64 `json:"heartbeat_interval_seconds"`
	}{plain(w), w.HeartbeatInterval.Seconds()})
}

// StartWatcher records that a watcher starts: it creates or replaces the
// row of w.Name (a restarted watcher keeps its name), with the heartbeat
// set to the start time and no stop, load or error recorded. Zero PID and
// Host default to this process and host; a zero StartedAt to now.
func (c *Catalog) StartWatcher(ctx context.Context, w WatcherState) error {
	if w.Name == "" {
		return errors.New("catalog: start watcher: empty name")
	}
	if w.Mode != WatchListing && w.Mode != WatchNotification {
		return fmt.Errorf("catalog: start watcher %s: invalid mode %q (want %s or %s)", w.Name, w.Mode, WatchListing, WatchNotification)
	}
	if w.HeartbeatInterval <= 0 {
		return fmt.Errorf("catalog: start watcher %s: heartbeat interval must be positive", w.Name)
	}
	if w.StartedAt.IsZero() {
		w.StartedAt = time.Now()
	}
	if w.PID == 0 {
		w.PID = os.Getpid()
	}
	if w.Host == "" {
		w.Host, _ = os.Hostname()
	}
	_, err := c.db.ExecContext(ctx, `
INSERT INTO watchers (name, mode, queue, host, pid, started_at, heartbeat_at, heartbeat_interval)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
ON CONFLICT (name) DO UPDATE SET
	mode = excluded.mode, queue = excluded.queue, host = excluded.host, pid = excluded.pid,
	started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
	heartbeat_interval = excluded.heartbeat_interval,
	stopped_at = NULL, last_load_at = NULL, last_error = NULL, last_error_at = NULL`,
		w.Name, w.Mode, nullString(w.Queue), w.Host, w.PID, w.StartedAt.UnixMicro(), w.HeartbeatInterval.Microseconds())
	if err != nil {
		return fmt.Errorf("catalog: start watcher %s: %w", w.Name, err)
	}
	return nil
}

// Heartbeat is what a running watcher reports periodically.
type Heartbeat struct {
	At          time.Time
	LastLoadAt  time.Time // zero: no successful load yet (column left unchanged)
	LastError   string    // "" with a zero LastErrorAt: no error to record
	LastErrorAt time.Time
	// Stopped marks a clean stop at At.
	Stopped bool
}

// WatcherHeartbeat records a heartbeat of the named watcher (started with
// StartWatcher). Zero times leave their columns unchanged.
func (c *Catalog) WatcherHeartbeat(ctx context.Context, name string, hb Heartbeat) error {
	if hb.At.IsZero() {
		hb.At = time.Now()
	}
	var stopped any
	if hb.Stopped {
		stopped = hb.At.UnixMicro()
	}
	res, err := c.db.ExecContext(ctx, `
UPDATE watchers SET
	heartbeat_at = ?2,
	stopped_at = COALESCE(?3, stopped_at),
	last_load_at = COALESCE(?4, last_load_at),
	last_error = CASE WHEN ?6 IS NULL THEN last_error ELSE ?5 END,
	last_error_at = COALESCE(?6, last_error_at)
WHERE name = ?1`,
		name, hb.At.UnixMicro(), stopped, micros(hb.LastLoadAt), hb.LastError, micros(hb.LastErrorAt))
	if err != nil {
		return fmt.Errorf("catalog: heartbeat of watcher %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("catalog: heartbeat of watcher %s: no such watcher (StartWatcher was not called)", name)
	}
	return nil
}

// Notification is one object named by a queue message.
type Notification struct {
	Source, Key string
	// NotifiedAt is when the watcher received the message.
	NotifiedAt time.Time
	// EventTime is the storage event's own time (zero when unknown).
	EventTime time.Time
	MessageID string
}

// RecordNotifications stores notifications in one transaction. The first
// notification of an object sets first_notified_at, event_time and
// message_id; later ones (duplicates, redeliveries) only count and move
// last_notified_at. The result says, per input, whether it was the first
// notification of its object (also within ns).
func (c *Catalog) RecordNotifications(ctx context.Context, ns []Notification) ([]bool, error) {
	first := make([]bool, len(ns))
	if len(ns) == 0 {
		return first, nil
	}
	for _, n := range ns {
		if n.Source == "" || n.Key == "" {
			return nil, fmt.Errorf("catalog: record notification %q %q: empty source or key", n.Source, n.Key)
		}
		if n.NotifiedAt.IsZero() {
			return nil, fmt.Errorf("catalog: record notification %s%s: zero notification time", n.Source, n.Key)
		}
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("catalog: record notifications: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `
INSERT INTO notifications (source, "key", first_notified_at, last_notified_at, event_time, message_id)
VALUES (?1, ?2, ?3, ?3, ?4, ?5)
ON CONFLICT (source, "key") DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("catalog: record notifications: %w", err)
	}
	defer ins.Close()
	upd, err := tx.PrepareContext(ctx, `
UPDATE notifications SET notifications = notifications + 1, last_notified_at = max(last_notified_at, ?3)
WHERE source = ?1 AND "key" = ?2`)
	if err != nil {
		return nil, fmt.Errorf("catalog: record notifications: %w", err)
	}
	defer upd.Close()
	for i, n := range ns {
		res, err := ins.ExecContext(ctx, n.Source, n.Key, n.NotifiedAt.UnixMicro(), micros(n.EventTime), nullString(n.MessageID))
		if err != nil {
			return nil, fmt.Errorf("catalog: record notification of %s%s: %w", n.Source, n.Key, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			first[i] = true
			continue
		}
		if _, err := upd.ExecContext(ctx, n.Source, n.Key, n.NotifiedAt.UnixMicro()); err != nil {
			return nil, fmt.Errorf("catalog: record notification of %s%s: %w", n.Source, n.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("catalog: record notifications: %w", err)
	}
	return first, nil
}

// Lag summarises a set of delays.
type Lag struct {
	Samples int64   `json:"samples"`
	P50     float64 `json:"p50_seconds"`
	P95     float64 `json:"p95_seconds"`
	Max     float64 `json:"max_seconds"`
}

// WatchObject is an object in WatchStatus listings.
type WatchObject struct {
	Source      string    `json:"source"`
	Key         string    `json:"key"`
	CommittedAt time.Time `json:"committed_at"`
}

// WatchStatus is the continuous-loading part of `eventlake status`.
type WatchStatus struct {
	Watchers []WatcherState `json:"watchers"`
	// NotifiedObjects counts objects named by at least one notification;
	// Notifications the messages that named them (duplicates included).
	NotifiedObjects int64 `json:"notified_objects"`
	Notifications   int64 `json:"notifications"`
	// NotifiedNotLoaded counts notified objects the catalog holds no
	// successful version of (failed, missing, or waiting for a load).
	NotifiedNotLoaded int64 `json:"notified_not_loaded"`
	// LoadedBeforeNotified counts notified objects a listing (backfill or
	// a load) committed before their notification arrived.
	LoadedBeforeNotified int64 `json:"loaded_before_notified"`
	// NeverNotified counts objects "found by listing, never notified": of
	// the sources that receive notifications, objects committed since the
	// source's first notification that no notification has named (yet).
	// Objects loaded before notifications started are not counted.
	NeverNotified        int64         `json:"never_notified"`
	NeverNotifiedObjects []WatchObject `json:"never_notified_objects"` // newest first, at most 20
	// NotificationLag is receipt time minus the storage event's time; CommitLag
	// is commit time minus receipt time, over objects committed after their
	// notification. Both over the newest 1,000 notifications.
	NotificationLag Lag `json:"notification_lag"`
	CommitLag       Lag `json:"commit_lag"`
}

// WatchStatus reports the watchers and the notification bookkeeping. Like
// Status it reads one snapshot and never blocks a writer.
func (c *Catalog) WatchStatus(ctx context.Context) (WatchStatus, error) {
	s, err := c.watchStatus(ctx, time.Now())
	if err != nil {
		return WatchStatus{}, fmt.Errorf("catalog %s: watch status: %w", c.path, err)
	}
	return s, nil
}

func (c *Catalog) watchStatus(ctx context.Context, now time.Time) (WatchStatus, error) {
	s := WatchStatus{Watchers: []WatcherState{}, NeverNotifiedObjects: []WatchObject{}}
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s, err
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, `
SELECT name, mode, COALESCE(queue, ''), COALESCE(host, ''), COALESCE(pid, 0), started_at, heartbeat_at, heartbeat_interval,
       stopped_at, last_load_at, COALESCE(last_error, ''), last_error_at
FROM watchers ORDER BY name`)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var w WatcherState
		var started, heartbeat, interval int64
		var stopped, lastLoad, lastErrAt sql.NullInt64
		if err := rows.Scan(&w.Name, &w.Mode, &w.Queue, &w.Host, &w.PID, &started, &heartbeat, &interval,
			&stopped, &lastLoad, &w.LastError, &lastErrAt); err != nil {
			rows.Close()
			return s, err
		}
		w.StartedAt = time.UnixMicro(started).UTC()
		w.HeartbeatAt = time.UnixMicro(heartbeat).UTC()
		w.HeartbeatInterval = time.Duration(interval) * time.Microsecond
		w.StoppedAt = fromMicros(stopped)
		w.LastLoadAt = fromMicros(lastLoad)
		w.LastErrorAt = fromMicros(lastErrAt)
		switch {
		case !w.StoppedAt.IsZero():
			w.State = WatcherStopped
		case now.Sub(w.HeartbeatAt) > staleAfter*w.HeartbeatInterval:
			w.State = WatcherStale
		default:
			w.State = WatcherRunning
		}
		s.Watchers = append(s.Watchers, w)
	}
	if err := closeRows(rows); err != nil {
		return s, err
	}

	// Per notified object: has a successful version, and when it was first
	// committed. The objects primary key starts with (source, key), so each
	// lookup is an index range.
	if err := tx.QueryRowContext(ctx, `
WITH n AS (
	SELECT n.notifications, n.first_notified_at,
	       (SELECT MIN(o.committed_at) FROM objects o
	        WHERE o.source = n.source AND o."key" = n."key" AND o.status <> 'failed') AS committed_at
	FROM notifications n
)
SELECT count(*), COALESCE(SUM(notifications), 0),
       COALESCE(SUM(committed_at IS NULL), 0), COALESCE(SUM(committed_at < first_notified_at), 0)
FROM n`).Scan(&s.NotifiedObjects, &s.Notifications, &s.NotifiedNotLoaded, &s.LoadedBeforeNotified); err != nil {
		return s, err
	}

	rows, err = tx.QueryContext(ctx, `
WITH recent AS (
	SELECT source, "key", first_notified_at, event_time FROM notifications
	ORDER BY first_notified_at DESC LIMIT ?
)
SELECT r.first_notified_at, r.event_time,
       (SELECT MIN(o.committed_at) FROM objects o
        WHERE o.source = r.source AND o."key" = r."key" AND o.status <> 'failed')
FROM recent r`, lagWindow)
	if err != nil {
		return s, err
	}
	var notifLag, commitLag []float64
	for rows.Next() {
		var notified int64
		var eventTime, committed sql.NullInt64
		if err := rows.Scan(&notified, &eventTime, &committed); err != nil {
			rows.Close()
			return s, err
		}
		if eventTime.Valid {
			// A storage clock ahead of ours would give a negative lag.
			notifLag = append(notifLag, math.Max(0, float64(notified-eventTime.Int64)/1e6))
		}
		if committed.Valid && committed.Int64 >= notified {
			commitLag = append(commitLag, float64(committed.Int64-notified)/1e6)
		}
	}
	if err := closeRows(rows); err != nil {
		return s, err
	}
	s.NotificationLag = lagOf(notifLag)
	s.CommitLag = lagOf(commitLag)

	const neverNotified = `
WITH firsts AS (
	SELECT source, MIN(first_notified_at) AS since FROM notifications GROUP BY source
), loaded AS (
	SELECT o.source, o."key", MIN(o.committed_at) AS at
	FROM objects o JOIN firsts f ON f.source = o.source
	WHERE o.status <> 'failed'
	GROUP BY o.source, o."key"
)
SELECT l.source, l."key", l.at FROM loaded l JOIN firsts f ON f.source = l.source
WHERE l.at >= f.since
  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.source = l.source AND n."key" = l."key")`
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+neverNotified+`)`).Scan(&s.NeverNotified); err != nil {
		return s, err
	}
	if s.NeverNotified > 0 {
		rows, err = tx.QueryContext(ctx, neverNotified+` ORDER BY l.at DESC, l.source, l."key" LIMIT ?`, maxNeverNotified)
		if err != nil {
			return s, err
		}
		for rows.Next() {
			var o WatchObject
			var at int64
			if err := rows.Scan(&o.Source, &o.Key, &at); err != nil {
				rows.Close()
				return s, err
			}
			o.CommittedAt = time.UnixMicro(at).UTC()
			s.NeverNotifiedObjects = append(s.NeverNotifiedObjects, o)
		}
		if err := closeRows(rows); err != nil {
			return s, err
		}
	}
	return s, nil
}

// lagOf computes the nearest-rank percentiles of v (seconds).
func lagOf(v []float64) Lag {
	if len(v) == 0 {
		return Lag{}
	}
	sort.Float64s(v)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(v)))) - 1
		return v[max(0, min(i, len(v)-1))]
	}
	return Lag{Samples: int64(len(v)), P50: rank(0.50), P95: rank(0.95), Max: v[len(v)-1]}
}
