package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/sql/views"
)

// maxSchemaBytes bounds one JSON Schema document read from a schema store.
const maxSchemaBytes = 16 << 20

// sourceSchemas is a views.SchemaStore over a source backend: --schemas
// takes the URLs and credentials `eventlake load` takes (a folder, s3://,
// gs://, sftp://), e.g. s3://pismo-data-prod-dataplatform-docs/json_schemas/.
type sourceSchemas struct{ src source.Source }

func openSchemaStore(ctx context.Context, raw string) (*sourceSchemas, error) {
	src, err := source.Open(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("--schemas: %w", err)
	}
	return &sourceSchemas{src: src}, nil
}

func (s *sourceSchemas) URL() string {
	u := s.src.URL()
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

func (s *sourceSchemas) List(ctx context.Context, fn func(string, time.Time) error) error {
	return s.src.List(ctx, source.ListOptions{}, func(o source.Object) error {
		if !strings.HasSuffix(o.Key, ".json") {
			return nil
		}
		return fn(o.Key, o.ModTime)
	})
}

func (s *sourceSchemas) Read(ctx context.Context, key string) ([]byte, error) {
	r, _, err := s.src.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxSchemaBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSchemaBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxSchemaBytes)
	}
	return b, nil
}

func (s *sourceSchemas) Close() error { return s.src.Close() }

var _ views.SchemaStore = (*sourceSchemas)(nil)
