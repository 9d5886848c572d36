package loader

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/eventlake/eventlake/partitions"
)

// tableSink holds the writers of the load's delimited (CSV) tables: one per
// table and column set for the whole load, so each partition gets one file
// per load however many objects feed it (a JWO report date has 96). Each
// worker encodes and compresses its objects' rows itself, into row groups
// of its own (tables, a partitions.TableBuilder per writer), which go into
// the partition's file as they fill; only that append takes the writer's
// lock. A JWO load's objects all feed one report date, so every worker
// writes its file at once. (With the lock around a whole write instead, the
// workers of a JWO load waited for each other a fifth of the time and the
// load kept 1.5 of 2 cores busy.)
type tableSink struct {
	stage   *partitions.Stage
	zstd    int
	workers int // the load's: they share tableMemory

	mu      sync.Mutex
	writers map[string]*partitions.TableWriter
	order   []string // keys in creation order
}

// tableMemory is what the workers' row groups of one table may buffer
// together: past its share, a worker's largest row group goes to its file.
// (A share of 8 MiB makes row groups of 10,000–30,000 JWO rows; a writer's
// files hold 2–4 times fewer row groups with the whole 16 MiB, but twice the
// memory made the collector and page faults cost more than the parallel
// encoding gained.)
const tableMemory = 16 << 20

func newTableSink(stage *partitions.Stage, zstdLevel, workers int) *tableSink {
	return &tableSink{stage: stage, zstd: zstdLevel, workers: max(1, workers), writers: map[string]*partitions.TableWriter{}}
}

// writer returns the writer of table with these columns and bloom-filter
// columns, and its key.
func (s *tableSink) writer(table string, columns, bloom []string) (*partitions.TableWriter, string, error) {
	key := table + "\x00" + strings.Join(columns, "\x01") + "\x00" + strings.Join(bloom, "\x01")
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.writers[key]; w != nil {
		return w, key, nil
	}
	w, err := partitions.NewTableWriter(s.stage, table, slices.Clone(columns), partitions.WriterOptions{
		ZstdLevel: s.zstd, BloomColumns: slices.Clone(bloom), Spill: true, MaxOpenFiles: 16, MemoryBytes: tableMemory,
	})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", errWrite, err)
	}
	s.writers[key] = w
	s.order = append(s.order, key)
	return w, key, nil
}

// close finishes every table's files. The workers' builders must have been
// flushed (workerTables.flush).
func (s *tableSink) close() ([]partitions.File, error) {
	var out []partitions.File
	for _, k := range s.order {
		files, err := s.writers[k].Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errWrite, err)
		}
		out = append(out, files...)
	}
	return out, nil
}

// abort deletes every table's files.
func (s *tableSink) abort() {
	for _, k := range s.order {
		s.writers[k].Abort()
	}
}

// workerTables is a worker's side of the table sink (csvtable.Dest): its
// builders, one per table writer.
type workerTables struct {
	sink     *tableSink
	builders map[string]*partitions.TableBuilder
}

// WriteTable implements csvtable.Dest: the rows are encoded (and the pages
// they fill compressed) before it returns.
func (t *workerTables) WriteTable(table string, columns, bloom []string, partition string, rows []partitions.TableRow) error {
	w, key, err := t.sink.writer(table, columns, bloom)
	if err != nil {
		return err
	}
	b := t.builders[key]
	if b == nil {
		if t.builders == nil {
			t.builders = map[string]*partitions.TableBuilder{}
		}
		b = w.NewBuilder(tableMemory / int64(t.sink.workers))
		t.builders[key] = b
	}
	if err := b.Write(partition, rows); err != nil {
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	return nil
}

// flush appends the row groups the builders hold to their files.
func (t *workerTables) flush() error {
	keys := make([]string, 0, len(t.builders))
	for k := range t.builders {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := t.builders[k].Flush(); err != nil {
			return fmt.Errorf("%w: %v", errWrite, err)
		}
	}
	return nil
}
