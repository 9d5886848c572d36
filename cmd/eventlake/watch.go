package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/termtext"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/loader/watch"
)

// watchOptions are the flags of `eventlake watch`.
type watchOptions struct {
	load              loadOptions // the flags shared with load
	Name              string
	Interval          time.Duration
	Queue             string
	SQSEndpoint       string
	SQSRegion         string
	Backfill          time.Duration
	BatchMaxObjects   int
	BatchMaxWait      time.Duration
	VisibilityTimeout time.Duration
	ShutdownGrace     time.Duration
	Metrics           string
	MetricsPublic     bool
	Quiet             bool
}

func newWatchCmd(io streams) *cobra.Command {
	o := &watchOptions{}
	c := &cobra.Command{
		Use:   "watch --lake DIR [--config FILE] (--interval 5m | --sqs QUEUE_URL) [flags] [SOURCE...]",
		Short: "Keep the lake up to date: load new objects continuously (listing or SQS notifications)",
		Long: `Watch loads new source objects continuously until it is stopped.

Listing mode (--interval, the default): every interval, list each source and
load what is new. Listings are full (late files in old folders are found);
the catalog makes them cheap.

Notification mode (--sqs QUEUE_URL): long-poll an SQS queue receiving S3 event
notifications (directly, through SNS, or EventBridge S3 events) or Pismo
dataplatform/new_bucket_object events, and load the objects they name in
batches (--batch-max-objects, --batch-max-wait). A message is deleted only once
its objects are committed (or already known); a message that names an unknown
bucket/prefix or a missing object, or cannot be parsed, is logged and left to
the queue's redrive policy (dead-letter queue). A backfill listing at start and
every --backfill catches notifications that never came (0 disables it).

Sources come from SOURCE arguments or the config file's sources:; a
notification for s3://BUCKET/KEY is loaded from the S3 source whose prefix
covers KEY.

Metrics (--metrics 127.0.0.1:9464) are served for Prometheus on /metrics, on
loopback unless --metrics-public. Logs are JSON when stderr is not a terminal.
'eventlake status' shows the watcher's heartbeat and the notification lag.

SIGINT or SIGTERM stops the watcher: a running load gets --shutdown-grace to
commit, otherwise it is abandoned without leaving anything half-done; a
second signal stops at once (the next start recovers). Exit status: 0 after a
clean stop, 1 when the watcher cannot start, 2 for usage errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.load.Sources = args
			o.load.changed = cmd.Flags().Changed
			f := cmd.Flags()
			if o.Queue == "" {
				for _, name := range []string{"backfill", "batch-max-objects", "batch-max-wait", "visibility-timeout", "sqs-endpoint", "sqs-region"} {
					if f.Changed(name) {
						return usagef("--%s needs --sqs (notification mode)", name)
					}
				}
			} else if f.Changed("interval") {
				return usagef("--interval is for listing mode; with --sqs, --backfill sets how often a listing runs")
			}
			return runWatch(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.load.Lake, "lake", "", "lake folder (created if missing), or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.load.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.load.Profile, "profile", "", profileUsage)
	f.StringVar(&o.load.ConfigPath, "config", "", "YAML config file (lake, sources, profiles)")
	f.IntVar(&o.load.Workers, "workers", 0, "objects processed in parallel, 1 to 64 (default: number of CPUs)")
	f.IntVar(&o.load.ZstdLevel, "zstd-level", 0, "Parquet zstd level, 1 (fastest) to 19 (smallest) (default 1)")
	f.IntVar(&o.load.MaxRecordBytes, "max-record-bytes", 0, "records longer than this are quarantined (default 16777216)")
	f.StringVar(&o.load.OnChange, "on-change", "", "a committed object whose version changed: reload or skip (default reload)")
	f.DurationVar(&o.load.LockWait, "lock-wait", 0, "how long each load waits for another loader before retrying; 0: do not wait (default 10s)")
	f.DurationVar(&o.load.Settle, "settle", loader.DefaultSettle, settleUsage)
	f.StringVar(&o.Name, "name", "", `watcher name shown by status (default "sqs:<queue name>" or "listing")`)
	f.DurationVar(&o.Interval, "interval", watch.DefaultInterval, "listing mode: time between listings")
	f.StringVar(&o.Queue, "sqs", "", "notification mode: SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
	f.StringVar(&o.SQSEndpoint, "sqs-endpoint", "", "SQS endpoint URL (LocalStack, VPC endpoints; default from the queue URL)")
	f.StringVar(&o.SQSRegion, "sqs-region", "", "SQS region (default from the queue URL or the AWS configuration)")
	f.DurationVar(&o.Backfill, "backfill", watch.DefaultBackfill, "notification mode: time between backfill listings (0: none)")
	f.IntVar(&o.BatchMaxObjects, "batch-max-objects", watch.DefaultBatchMaxObjects, "notification mode: load when this many objects wait")
	f.DurationVar(&o.BatchMaxWait, "batch-max-wait", watch.DefaultBatchMaxWait, "notification mode: load at the latest this long after a batch's first message")
	f.DurationVar(&o.VisibilityTimeout, "visibility-timeout", watch.DefaultVisibilityTimeout, "notification mode: visibility timeout of received messages (renewed while held)")
	f.DurationVar(&o.ShutdownGrace, "shutdown-grace", 20*time.Second, "on SIGINT/SIGTERM, how long a running load may take to commit")
	f.StringVar(&o.Metrics, "metrics", "", "serve Prometheus metrics on this address, e.g. 127.0.0.1:9464 (default off)")
	f.BoolVar(&o.MetricsPublic, "metrics-public", false, "allow --metrics on a non-loopback address")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "log warnings and errors only")
	icebergFlags(c, &o.load.icebergFlagValues)
	return c
}

func runWatch(ctx context.Context, o *watchOptions, io streams) error {
	trimBinary()
	lo, specs, err := o.load.resolve(io)
	if err != nil {
		return err
	}
	lo.Command = "watch"
	switch {
	case o.Interval <= 0:
		return usagef("--interval %s: want a positive duration", o.Interval)
	case o.Backfill < 0:
		return usagef("--backfill %s: want a positive duration, or 0 for none", o.Backfill)
	case o.BatchMaxObjects <= 0:
		return usagef("--batch-max-objects %d: want at least 1", o.BatchMaxObjects)
	case o.BatchMaxWait <= 0:
		return usagef("--batch-max-wait %s: want a positive duration", o.BatchMaxWait)
	case o.VisibilityTimeout < time.Second || o.VisibilityTimeout > 12*time.Hour || o.VisibilityTimeout%time.Second != 0:
		return usagef("--visibility-timeout %s: want whole seconds between 1s and 12h", o.VisibilityTimeout)
	case o.ShutdownGrace < 0:
		return usagef("--shutdown-grace %s: want 0 or more", o.ShutdownGrace)
	}
	if o.Queue != "" && !slices.ContainsFunc(specs, func(s loader.SourceSpec) bool { return strings.HasPrefix(strings.ToLower(s.URL), "s3://") }) {
		return usagef("--sqs needs an s3:// source to map notifications onto (SOURCE arguments or sources: in the config)")
	}
	if o.Metrics != "" {
		if err := watch.CheckMetricsAddr(o.Metrics, o.MetricsPublic); err != nil {
			return usageError{err}
		}
	}
	log := io.logger(!o.Quiet)
	wo := watch.Options{
		Load: lo,
		WriterOptions: func(ctx context.Context) ([]lk.Option, error) {
			return icebergWriterOptions(ctx, lo.Lake, o.load.Iceberg, o.load.IcebergRetention)
		},
		Sources:           specs,
		Name:              o.Name,
		Interval:          o.Interval,
		Queue:             o.Queue,
		SQSOptions:        watch.SQSOptions{Region: o.SQSRegion, Endpoint: o.SQSEndpoint},
		Backfill:          o.Backfill,
		BatchMaxObjects:   o.BatchMaxObjects,
		BatchMaxWait:      o.BatchMaxWait,
		VisibilityTimeout: o.VisibilityTimeout,
		ShutdownGrace:     o.ShutdownGrace,
		Metrics:           watch.NewMetrics(),
		Log:               log,
	}
	if wo.Backfill == 0 {
		wo.Backfill = -1 // the flag's 0 means none; the option's 0 means the default
	}
	if o.Metrics != "" {
		mctx, stop := context.WithCancel(ctx)
		defer stop()
		addr, err := watch.ServeMetrics(mctx, o.Metrics, o.MetricsPublic, wo.Metrics, log)
		if err != nil {
			return err
		}
		log.Info("serving metrics", "url", "http://"+addr.String()+"/metrics")
	}
	// After the first signal the watcher winds down; a second one takes
	// the default action (the process ends; the commit protocol keeps the
	// lake consistent and the next start recovers).
	stop := context.AfterFunc(ctx, func() { signal.Reset(os.Interrupt, syscall.SIGTERM) })
	defer stop()
	return watch.Run(ctx, wo)
}

// printWatchStatus is the watch section of `eventlake status`.
func printWatchStatus(w io.Writer, ws *catalog.WatchStatus) {
	if ws == nil || (len(ws.Watchers) == 0 && ws.NotifiedObjects == 0) {
		return
	}
	now := time.Now()
	fmt.Fprintln(w, "watch:")
	for _, x := range ws.Watchers {
		fmt.Fprintf(w, "  watcher %s (%s", x.Name, x.Mode)
		if x.Queue != "" {
			fmt.Fprintf(w, ", queue %s", x.Queue)
		}
		fmt.Fprintf(w, "): %s, pid %d on %s, started %s", x.State, x.PID, x.Host, x.StartedAt.UTC().Format(time.RFC3339))
		if x.State == catalog.WatcherStopped {
			fmt.Fprintf(w, ", stopped %s", x.StoppedAt.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(w, ", last heartbeat %s ago", now.Sub(x.HeartbeatAt).Round(time.Second))
		}
		if !x.LastLoadAt.IsZero() {
			fmt.Fprintf(w, ", last load %s ago", now.Sub(x.LastLoadAt).Round(time.Second))
		}
		fmt.Fprintln(w)
		if x.LastError != "" {
			fmt.Fprintf(w, "    last error (%s ago): %s\n", now.Sub(x.LastErrorAt).Round(time.Second), termtext.Escape(x.LastError))
		}
	}
	if ws.NotifiedObjects == 0 {
		return
	}
	fmt.Fprintf(w, "  notifications: %d objects in %d messages; %d notified but not loaded; %d loaded by a listing before their notification\n",
		ws.NotifiedObjects, ws.Notifications, ws.NotifiedNotLoaded, ws.LoadedBeforeNotified)
	fmt.Fprintf(w, "  found by listing, never notified: %d\n", ws.NeverNotified)
	for _, x := range ws.NeverNotifiedObjects {
		fmt.Fprintf(w, "    %s%s (committed %s)\n", x.Source, x.Key, x.CommittedAt.UTC().Format(time.RFC3339))
	}
	lag := func(name string, l catalog.Lag) {
		if l.Samples == 0 {
			return
		}
		fmt.Fprintf(w, "  %s (last %d): p50 %s, p95 %s, max %s\n", name, l.Samples, seconds(l.P50), seconds(l.P95), seconds(l.Max))
	}
	lag("notification lag, storage event to receipt", ws.NotificationLag)
	lag("commit lag, receipt to commit", ws.CommitLag)
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}
