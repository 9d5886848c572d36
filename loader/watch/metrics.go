package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eventlake/eventlake/loader"
)

// Metrics are the watcher's Prometheus metrics, on a registry of their own
// (so tests and embedders can run several watchers in one process):
//
//	eventlake_objects_total{status}           objects processed, by outcome: committed, duplicate,
//	                                          quarantined, failed, vanished, missing ("known"
//	                                          objects a listing skips are not counted)
//	eventlake_records_total                   records written by committed loads
//	eventlake_rejects_total                   records quarantined into _rejects
//	eventlake_bytes_total                     source bytes read by committed loads
//	eventlake_notification_lag_seconds        receipt time minus storage event time, first
//	                                          notification of each object (histogram)
//	eventlake_errors_total{op}                errors survived: receive, load, delete, visibility, catalog
//	eventlake_messages_total{outcome}         queue messages: loaded (deleted after their objects
//	                                          committed or were known), ignored (deleted: names no
//	                                          new object), poison (left to the redrive policy),
//	                                          retry (an object failed or the load did: left to
//	                                          come back), redelivered (a copy of a message in hand)
//	eventlake_loads_total{kind}               loads run: listing, backfill, notification
//	eventlake_last_load_timestamp_seconds     end of the last successful load (also when it found
//	                                          nothing new): alert when it stops moving
//
// plus the Go runtime and process collectors.
type Metrics struct {
	reg             *prometheus.Registry
	objects         *prometheus.CounterVec
	records         prometheus.Counter
	rejects         prometheus.Counter
	bytes           prometheus.Counter
	notificationLag prometheus.Histogram
	errors          *prometheus.CounterVec
	messages        *prometheus.CounterVec
	loads           *prometheus.CounterVec
	lastLoad        prometheus.Gauge
}

// Label values known in advance; they are exported at 0 from the start, so
// a rate() or an alert sees the series before the first event.
var (
	objectStatuses = []catalog.ObjectStatus{catalog.ObjectCommitted, catalog.ObjectDuplicate, catalog.ObjectQuarantined,
		catalog.ObjectFailed, catalog.ObjectVanished, catalog.ObjectMissing}
	errorOps        = []string{"receive", "load", "delete", "visibility", "catalog"}
	messageOutcomes = []string{"loaded", "ignored", "poison", "retry", "redelivered"}
	loadKinds       = []string{"listing", "backfill", "notification"}
)

// NewMetrics creates the metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlake_objects_total", Help: "Source objects processed by loads, by outcome.",
		}, []string{"status"}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlake_records_total", Help: "Records written into the lake.",
		}),
		rejects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlake_rejects_total", Help: "Records quarantined into _rejects.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventlake_bytes_total", Help: "Source object bytes read by committed loads.",
		}),
		notificationLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventlake_notification_lag_seconds",
			Help:    "Time from the storage event to the receipt of its first notification.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlake_errors_total", Help: "Errors the watcher survived, by operation.",
		}, []string{"op"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlake_messages_total", Help: "Queue messages handled, by outcome.",
		}, []string{"outcome"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventlake_loads_total", Help: "Loads run, by what started them.",
		}, []string{"kind"}),
		lastLoad: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eventlake_last_load_timestamp_seconds", Help: "Unix time at which the last successful load ended.",
		}),
	}
	m.reg.MustRegister(m.objects, m.records, m.rejects, m.bytes, m.notificationLag, m.errors, m.messages, m.loads, m.lastLoad,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, v := range objectStatuses {
		m.objects.WithLabelValues(string(v))
	}
	for _, v := range errorOps {
		m.errors.WithLabelValues(v)
	}
	for _, v := range messageOutcomes {
		m.messages.WithLabelValues(v)
	}
	for _, v := range loadKinds {
		m.loads.WithLabelValues(v)
	}
	return m
}

// Registry is the registry the metrics are on (to add more collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// loaded accounts for one successful load.
func (m *Metrics) loaded(kind string, s *loader.Summary, end time.Time) {
	m.loads.WithLabelValues(kind).Inc()
	for _, o := range s.Outcomes {
		if o.Status != catalog.ObjectKnown {
			m.objects.WithLabelValues(string(o.Status)).Inc()
		}
	}
	m.records.Add(float64(s.Records))
	m.rejects.Add(float64(s.Rejects))
	m.bytes.Add(float64(s.Bytes))
	m.lastLoad.Set(float64(end.UnixNano()) / 1e9)
}

func (m *Metrics) errorIn(op string)         { m.errors.WithLabelValues(op).Inc() }
func (m *Metrics) message(outcome string)    { m.messages.WithLabelValues(outcome).Inc() }
func (m *Metrics) lag(seconds float64)       { m.notificationLag.Observe(max(0, seconds)) }
func (m *Metrics) messagesN(o string, n int) { m.messages.WithLabelValues(o).Add(float64(n)) }

// CheckMetricsAddr validates a --metrics address: HOST:PORT with a loopback
// host (127.0.0.0/8, ::1, localhost), unless public allows any interface.
// Metrics reveal source names and volumes, so exposing them beyond the
// machine is an explicit decision.
func CheckMetricsAddr(addr string, public bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: want HOST:PORT, like 127.0.0.1:9464", addr)
	}
	if port == "" {
		return fmt.Errorf("metrics address %q: missing port", addr)
	}
	if public {
		return nil
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "all interfaces"
	}
	return fmt.Errorf("metrics address %q listens on %s, not on loopback: use 127.0.0.1:PORT, or add --metrics-public to expose the metrics to the network", addr, host)
}

// ServeMetrics listens on addr (checked with CheckMetricsAddr) and serves
// m on /metrics until ctx ends. It returns the address actually bound (a
// port 0 picks a free one) once the listener is up.
func ServeMetrics(ctx context.Context, addr string, public bool, m *Metrics, log *slog.Logger) (net.Addr, error) {
	if err := CheckMetricsAddr(addr, public); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error("metrics server stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return ln.Addr(), nil
}
