package ddl

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// IcebergEngines lists the engines `ddl --format iceberg` can register the
// lake's Iceberg table with.
var IcebergEngines = []string{"athena", "spark", "trino", "snowflake", "bigquery"}

// objectStoreEngines read tables from object stores only: they need the
// URL the lake's folder is published at.
var objectStoreEngines = map[string]bool{"athena": true, "snowflake": true, "bigquery": true}

// IcebergOptions describe the lake's Iceberg table of events and how an
// engine sees it.
type IcebergOptions struct {
	Engine string
	// Location is the lake root's URL as the engine sees it (s3://…,
	// gs://…); empty means the engine reads the local folder itself
	// (Spark and Trino only).
	Location string
	Database string // database / schema / dataset (default "eventlake")
	// LakeDir is the folder lake's absolute local path and MetadataFile
	// the table's current metadata file inside it.
	LakeDir, MetadataFile string
}

var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// GenerateIceberg prints how to register the Iceberg table of events with
// one engine from its current metadata file, and how to point the engine
// at a newer metadata file after later commits.
func GenerateIceberg(o IcebergOptions) (*Result, error) {
	if !slices.Contains(IcebergEngines, o.Engine) {
		return nil, fmt.Errorf("unknown engine %q (want %s)", o.Engine, strings.Join(IcebergEngines, ", "))
	}
	if o.Database == "" {
		o.Database = "eventlake"
	}
	if !plainIdent.MatchString(o.Database) {
		return nil, fmt.Errorf("database %q: letters, digits and '_' only", o.Database)
	}
	if strings.ContainsAny(o.Location, "'\"\n\r\\`") {
		return nil, fmt.Errorf("location %q contains a quote, backslash or newline", o.Location)
	}
	if o.Location == "" && objectStoreEngines[o.Engine] {
		return nil, fmt.Errorf("%s reads tables from object storage only: give --location, the URL the lake folder is published at (e.g. s3://bucket/prefix/)", o.Engine)
	}
	rel, err := filepath.Rel(o.LakeDir, o.MetadataFile)
	if err != nil || !filepath.IsAbs(o.LakeDir) || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("metadata file %s is not inside the lake %s", o.MetadataFile, o.LakeDir)
	}
	for _, p := range []string{o.LakeDir, o.MetadataFile} {
		if strings.ContainsAny(p, "'\"\n\r\\`") {
			return nil, fmt.Errorf("path %q contains a quote, backslash or newline", p)
		}
	}
	rel = filepath.ToSlash(rel)
	root := strings.TrimRight(filepath.ToSlash(o.LakeDir), "/") + "/"
	if o.Location != "" {
		root = strings.TrimRight(o.Location, "/") + "/"
	}
	g := &iceGen{o: o, rel: rel, root: root, meta: root + rel, table: root + "events"}
	g.run()
	return &Result{Text: g.b.String(), Warnings: g.warnings}, nil
}

type iceGen struct {
	o        IcebergOptions
	rel      string // metadata file, relative to the lake root
	root     string // lake root URL (or local path), ending in '/'
	meta     string // metadata file URL
	table    string // table folder URL
	b        strings.Builder
	warnings []string
}

func (g *iceGen) p(format string, a ...any) { fmt.Fprintf(&g.b, format+"\n", a...) }

func (g *iceGen) run() {
	g.p("-- Apache Iceberg table events (format v2), registered from its current metadata file:")
	g.p("--   %s", g.meta)
	if g.o.Location != "" {
		g.p("-- (%s in the lake folder %s, published at %s).", g.rel, g.o.LakeDir, g.root)
	}
	g.dataPaths()
	switch g.o.Engine {
	case "athena":
		g.athena()
	case "spark":
		g.spark()
	case "trino":
		g.trino()
	case "snowflake":
		g.snowflake()
	case "bigquery":
		g.bigquery()
	}
}

// dataPaths says where the engine must find the data files: the manifests
// list them by the folder lake's absolute local paths.
func (g *iceGen) dataPaths() {
	dir := strings.TrimRight(filepath.ToSlash(g.o.LakeDir), "/")
	g.p("--")
	g.p("-- Data files: the manifests list every Parquet file by its absolute local path in the folder")
	g.p("-- lake (%s/events/domain=…/event_date=…/….parquet), and an engine reads each at exactly", dir)
	g.p("-- that path. Only an engine that sees the lake folder at %s can read the rows", dir)
	g.p("-- (Spark or Trino on this machine, or on a shared mount at the same path); --location moves the")
	g.p("-- metadata file's address only. Engines that read object storage only (Athena, Snowflake,")
	g.p("-- BigQuery) cannot read its rows until the lake lives in a bucket.")
	if objectStoreEngines[g.o.Engine] {
		g.warnings = append(g.warnings, fmt.Sprintf("the Iceberg manifests list the data files by local path (%s/events/…): %s cannot read its rows until the lake lives in a bucket", dir, g.o.Engine))
	} else {
		g.warnings = append(g.warnings, fmt.Sprintf("the Iceberg manifests list the data files by local path (%s/events/…): %s must see the lake folder at that same path", dir, g.o.Engine))
	}
}

// glueTableInput is the AWS Glue TableInput of an Iceberg table whose
// current metadata file is the lake's.
func (g *iceGen) glueTableInput() string {
	return fmt.Sprintf(`{"Name":"events","TableType":"EXTERNAL_TABLE",`+
		`"Parameters":{"table_type":"ICEBERG","metadata_location":"%s"},`+
		`"StorageDescriptor":{"Location":"%s"}}`, g.meta, g.table)
}

func (g *iceGen) glue(reader string) {
	g.p("aws glue create-database --database-input '{\"Name\":\"%s\"}'   # once, if it does not exist", g.o.Database)
	g.p("aws glue create-table --database-name %s \\", g.o.Database)
	g.p("  --table-input '%s'", g.glueTableInput())
	g.p("")
	g.p("-- Refresh after new commits (every load, compaction or `eventlake iceberg sync` writes a new metadata")
	g.p("-- file): re-run `eventlake ddl --format iceberg` and point the Glue table at the file it names; %s", reader)
	g.p("-- reads the metadata_location Glue holds at the start of each query.")
	g.p("aws glue update-table --database-name %s \\", g.o.Database)
	g.p("  --table-input '%s'", g.glueTableInput())
}

func (g *iceGen) athena() {
	g.p("")
	g.p("-- Athena (engine version 3) has no statement that registers an existing Iceberg table: its CREATE")
	g.p("-- TABLE … TBLPROPERTIES ('table_type' = 'ICEBERG') makes a new, empty table, and CREATE EXTERNAL TABLE")
	g.p("-- is refused for Iceberg. It reads an Iceberg table that the AWS Glue Data Catalog holds with the")
	g.p("-- parameters table_type = ICEBERG and metadata_location = the metadata file: create that Glue table")
	g.p("-- through the Glue API (AWS CLI below, or CreateTable from an SDK), then query %s.events in Athena.", g.o.Database)
	g.glue("Athena")
}

func (g *iceGen) spark() {
	g.p("")
	g.p("-- Spark SQL with the Iceberg runtime, and an Iceberg catalog named iceberg backed by a metastore")
	g.p("-- (spark.sql.catalog.iceberg = org.apache.iceberg.spark.SparkCatalog, type hive, glue, jdbc or rest).")
	g.p("CREATE NAMESPACE IF NOT EXISTS iceberg.%s;", g.o.Database)
	g.p("CALL iceberg.system.register_table(table => '%s.events', metadata_file => '%s');", g.o.Database, g.meta)
	g.p("")
	g.p("-- Refresh after new commits (every load, compaction or `eventlake iceberg sync` writes a new metadata")
	g.p("-- file): re-run `eventlake ddl --format iceberg` and register the file it names again. DROP TABLE")
	g.p("-- without PURGE removes the catalog entry only, never the lake's files.")
	g.p("DROP TABLE iceberg.%s.events;", g.o.Database)
	g.p("CALL iceberg.system.register_table(table => '%s.events', metadata_file => '%s');", g.o.Database, g.meta)
}

func (g *iceGen) trino() {
	g.p("")
	g.p("-- Trino, Iceberg connector. Its register_table procedure cannot take this table: it reads")
	g.p("-- <table_location>/metadata/<metadata_file_name> only, while the lake keeps the metadata in")
	g.p("-- events/%s (a folder Hive readers skip) — `CALL iceberg.system.register_table(schema_name =>", path.Base(path.Dir(g.rel)))
	g.p("-- '%s', table_name => 'events', table_location => '%s', metadata_file_name =>", g.o.Database, strings.TrimSuffix(g.table, "/"))
	g.p("-- '%s')` would look for %s/metadata/%s.", path.Base(g.rel), g.table, path.Base(g.rel))
	g.p("-- Register it in the metastore the connector reads instead: with iceberg.catalog.type=glue, a Glue")
	g.p("-- table whose metadata_location is the metadata file (then query iceberg.%s.events).", g.o.Database)
	g.glue("Trino")
}

func (g *iceGen) snowflake() {
	g.p("")
	g.p("-- Snowflake, an Iceberg table from files in object storage. Once: an external volume whose storage")
	g.p("-- location is the lake's root (%s) and a catalog integration for object storage:", g.root)
	g.p("--   CREATE EXTERNAL VOLUME eventlake_lake STORAGE_LOCATIONS = ((NAME = 'lake' STORAGE_PROVIDER = …")
	g.p("--     STORAGE_BASE_URL = '%s' …));", g.root)
	g.p("CREATE CATALOG INTEGRATION IF NOT EXISTS eventlake_object_store")
	g.p("  CATALOG_SOURCE = OBJECT_STORE TABLE_FORMAT = ICEBERG ENABLED = TRUE;")
	g.p("CREATE SCHEMA IF NOT EXISTS %s;", g.o.Database)
	g.p("CREATE ICEBERG TABLE %s.events", g.o.Database)
	g.p("  EXTERNAL_VOLUME = 'eventlake_lake'")
	g.p("  CATALOG = 'eventlake_object_store'")
	g.p("  METADATA_FILE_PATH = '%s';", g.rel)
	g.p("")
	g.p("-- Refresh after new commits (every load, compaction or `eventlake iceberg sync` writes a new metadata")
	g.p("-- file): re-run `eventlake ddl --format iceberg` and refresh to the file it names (relative to the")
	g.p("-- external volume's storage location).")
	g.p("ALTER ICEBERG TABLE %s.events REFRESH '%s';", g.o.Database, g.rel)
}

func (g *iceGen) bigquery() {
	g.p("")
	g.p("-- BigQuery, a BigLake external table over Iceberg metadata in Cloud Storage, read through a Cloud")
	g.p("-- resource connection (replace PROJECT.REGION.CONNECTION with yours).")
	g.p("CREATE SCHEMA IF NOT EXISTS %s;", g.o.Database)
	g.bqTable()
	g.p("")
	g.p("-- Refresh after new commits (every load, compaction or `eventlake iceberg sync` writes a new metadata")
	g.p("-- file): re-run `eventlake ddl --format iceberg` and re-create the table on the file it names.")
	g.bqTable()
}

func (g *iceGen) bqTable() {
	g.p("CREATE OR REPLACE EXTERNAL TABLE %s.events", g.o.Database)
	g.p("  WITH CONNECTION `PROJECT.REGION.CONNECTION`")
	g.p("  OPTIONS (format = 'ICEBERG', uris = ['%s']);", g.meta)
}
