package ddl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/sql/ddl"
)

const (
	goldenLakeDir  = "/srv/lake"
	goldenMetadata = "/srv/lake/events/_iceberg/v3.metadata.json"
)

var goldenTables = []ddl.IcebergTable{{Name: "events", MetadataFile: goldenMetadata},
	{Name: "rejects", MetadataFile: "/srv/lake/_rejects/_iceberg/v2.metadata.json"}}

func TestIcebergGolden(t *testing.T) {
	for _, c := range []struct{ name, engine, location string }{
		{"iceberg-athena", "athena", "s3://acme-lake/prod/"},
		{"iceberg-spark", "spark", "s3://acme-lake/prod"},
		{"iceberg-spark-local", "spark", ""},
		{"iceberg-trino", "trino", "s3://acme-lake/prod/"},
		{"iceberg-snowflake", "snowflake", "s3://acme-lake/prod/"},
		{"iceberg-bigquery", "bigquery", "gs://acme-lake/prod/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := ddl.GenerateIceberg(ddl.IcebergOptions{Engine: c.engine, Location: c.location,
				LakeDir: goldenLakeDir, Tables: goldenTables})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Text
			for _, w := range res.Warnings {
				got += "-- warning: " + w + "\n"
			}
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s changed:\n%s\nwant:\n%s", c.name, got, want)
			}
			// Every engine is pointed at the current metadata file, at the
			// URL --location maps the lake root to.
			wantMeta := strings.TrimRight(c.location, "/") + "/events/_iceberg/v3.metadata.json"
			if c.location == "" {
				wantMeta = goldenMetadata
			}
			if c.engine == "snowflake" {
				wantMeta = "'events/_iceberg/v3.metadata.json'" // relative to the external volume
			}
			wantRejects := strings.ReplaceAll(wantMeta, "events/_iceberg/v3", "_rejects/_iceberg/v2")
			if strings.Count(got, wantMeta) < 2 || strings.Count(got, wantRejects) < 2 {
				t.Errorf("%s: registration and refresh should both name %s and %s", c.name, wantMeta, wantRejects)
			}
			if !strings.Contains(got, "absolute local path") {
				t.Errorf("%s: does not say the data files are read at their local paths", c.name)
			}
		})
	}
}

func TestIcebergBadOptions(t *testing.T) {
	ok := ddl.IcebergOptions{Engine: "spark", LakeDir: goldenLakeDir, Tables: goldenTables[:1]}
	if _, err := ddl.GenerateIceberg(ok); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for name, mod := range map[string]func(*ddl.IcebergOptions){
		"unknown engine":          func(o *ddl.IcebergOptions) { o.Engine = "oracle" },
		"athena without location": func(o *ddl.IcebergOptions) { o.Engine = "athena" },
		"snowflake no location":   func(o *ddl.IcebergOptions) { o.Engine = "snowflake" },
		"bigquery no location":    func(o *ddl.IcebergOptions) { o.Engine = "bigquery" },
		"quote in location":       func(o *ddl.IcebergOptions) { o.Location = "s3://b/'; drop table x; --" },
		"database not a name":     func(o *ddl.IcebergOptions) { o.Database = "a.b; drop" },
		"metadata outside lake": func(o *ddl.IcebergOptions) {
			o.Tables = []ddl.IcebergTable{{Name: "events", MetadataFile: "/elsewhere/v1.metadata.json"}}
		},
		"no table": func(o *ddl.IcebergOptions) { o.Tables = nil },
		"table not a name": func(o *ddl.IcebergOptions) {
			o.Tables = []ddl.IcebergTable{{Name: "x; drop", MetadataFile: goldenMetadata}}
		},
		"quote in lake path": func(o *ddl.IcebergOptions) {
			o.LakeDir = "/srv/it's"
			o.Tables = []ddl.IcebergTable{{Name: "events", MetadataFile: "/srv/it's/events/_iceberg/v1.metadata.json"}}
		},
	} {
		o := ok
		mod(&o)
		if _, err := ddl.GenerateIceberg(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
