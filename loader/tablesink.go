package loader

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/eventlake/eventlake/partitions"
)

// tableSink writes the rows of the load's delimited (CSV) objects: one
// writer per table and column set for the whole load, so each partition
// gets one file per load however many objects feed it (a JWO report date
// has 96). Objects hand their rows over once they are read whole, as events
// do; a writer takes one object's rows at a time.
type tableSink struct {
	stage *partitions.Stage
	zstd  int

	mu      sync.Mutex
	writers map[string]*tableWriter
	order   []string // keys in creation order
}

type tableWriter struct {
	mu sync.Mutex
	w  *partitions.TableWriter
}

func newTableSink(stage *partitions.Stage, zstdLevel int) *tableSink {
	return &tableSink{stage: stage, zstd: zstdLevel, writers: map[string]*tableWriter{}}
}

// WriteTable implements csvtable.Dest.
func (s *tableSink) WriteTable(table string, columns, bloom []string, partition string, rows []partitions.TableRow) error {
	key := table + "\x00" + strings.Join(columns, "\x01") + "\x00" + strings.Join(bloom, "\x01")
	s.mu.Lock()
	tw := s.writers[key]
	if tw == nil {
		w, err := partitions.NewTableWriter(s.stage, table, slices.Clone(columns), partitions.WriterOptions{
			ZstdLevel: s.zstd, BloomColumns: slices.Clone(bloom), Spill: true, MaxOpenFiles: 16, MemoryBytes: 16 << 20,
		})
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("%w: %v", errWrite, err)
		}
		tw = &tableWriter{w: w}
		s.writers[key] = tw
		s.order = append(s.order, key)
	}
	s.mu.Unlock()
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if err := tw.w.Write(partition, rows); err != nil {
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	return nil
}

// close finishes every table's files.
func (s *tableSink) close() ([]partitions.File, error) {
	var out []partitions.File
	for _, k := range s.order {
		files, err := s.writers[k].w.Close()
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
		s.writers[k].w.Abort()
	}
}
