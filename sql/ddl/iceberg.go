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

// IcebergOptions describe the lake's Iceberg tables and how an engine
// sees them.
type IcebergOptions struct {
	Engine string
	// Location is the lake root's URL as the engine sees it (s3://…,
	// gs://…); empty means the engine reads the local folder itself
	// (Spark and Trino only).
	Location string
	Database string // database / schema / dataset (default "eventlake")
	// LakeDir is the folder lake's absolute local path.
	LakeDir string
	// Bucket is the URL of a lake in a bucket (s3://BUCKET/PREFIX/,
	// gs://…), without parameters; LakeDir and Location are then unused:
	// the metadata files and the data files the manifests list are URLs
	// in it, where engines read them.
	Bucket string
	// Tables are registered in order (events, then rejects).
	Tables []IcebergTable
}

// IcebergTable is one Iceberg table of the lake: the name engines give it
// and its current metadata file (an absolute local path inside LakeDir, or
// a URL inside Bucket).
type IcebergTable struct {
	Name, MetadataFile string
}

var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// GenerateIceberg prints how to register the lake's Iceberg tables with
// one engine from their current metadata files, and how to point the
// engine at newer metadata files after later commits.
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
	if o.Bucket != "" {
		return generateBucket(o)
	}
	if o.Location == "" && objectStoreEngines[o.Engine] {
		return nil, fmt.Errorf("%s reads tables from object storage only: give --location, the URL the lake folder is published at (e.g. s3://bucket/prefix/)", o.Engine)
	}
	if len(o.Tables) == 0 {
		return nil, fmt.Errorf("no Iceberg table to register")
	}
	if !filepath.IsAbs(o.LakeDir) || strings.ContainsAny(o.LakeDir, "'\"\n\r\\`") {
		return nil, fmt.Errorf("lake %q: want an absolute path without quotes, backslashes or newlines", o.LakeDir)
	}
	root := strings.TrimRight(filepath.ToSlash(o.LakeDir), "/") + "/"
	if o.Location != "" {
		root = strings.TrimRight(o.Location, "/") + "/"
	}
	g := &iceGen{o: o, root: root}
	for _, t := range o.Tables {
		rel, err := filepath.Rel(o.LakeDir, t.MetadataFile)
		if err != nil || strings.HasPrefix(rel, "..") || strings.ContainsAny(t.MetadataFile, "'\"\n\r\\`") {
			return nil, fmt.Errorf("metadata file %q is not inside the lake %s, or holds a quote, backslash or newline", t.MetadataFile, o.LakeDir)
		}
		if !plainIdent.MatchString(t.Name) {
			return nil, fmt.Errorf("table name %q: letters, digits and '_' only", t.Name)
		}
		rel = filepath.ToSlash(rel)
		folder, _, _ := strings.Cut(rel, "/")
		g.tables = append(g.tables, iceTable{name: t.Name, rel: rel, meta: root + rel, location: root + folder})
	}
	g.run()
	return &Result{Text: g.b.String(), Warnings: g.warnings}, nil
}

// bucketReaders are the schemes of the stores each engine that reads
// object storage only can read a table from.
var bucketReaders = map[string][]string{"athena": {"s3"}, "bigquery": {"gs"}}

// generateBucket registers the tables of a lake in a bucket: every file
// is already named by its URL there.
func generateBucket(o IcebergOptions) (*Result, error) {
	if o.Location != "" {
		return nil, fmt.Errorf("--location does not apply to a lake in a bucket: engines read its files at %s", o.Bucket)
	}
	if strings.ContainsAny(o.Bucket, "'\"\n\r\\`?#") {
		return nil, fmt.Errorf("lake %q: want a URL without quotes, backslashes, newlines or parameters", o.Bucket)
	}
	scheme, _, ok := strings.Cut(o.Bucket, "://")
	if !ok {
		return nil, fmt.Errorf("lake %q is not a bucket URL", o.Bucket)
	}
	if can, ok := bucketReaders[o.Engine]; ok && !slices.Contains(can, scheme) {
		return nil, fmt.Errorf("%s cannot read a lake in %s:// (it reads Iceberg tables from %s:// only)", o.Engine, scheme, strings.Join(can, ":// and "))
	}
	if len(o.Tables) == 0 {
		return nil, fmt.Errorf("no Iceberg table to register")
	}
	root := strings.TrimRight(o.Bucket, "/") + "/"
	g := &iceGen{o: o, root: root}
	for _, t := range o.Tables {
		rel, ok := strings.CutPrefix(t.MetadataFile, root)
		if !ok || rel == "" || strings.ContainsAny(rel, "'\"\n\r\\`") {
			return nil, fmt.Errorf("metadata file %q is not inside the lake %s, or holds a quote, backslash or newline", t.MetadataFile, root)
		}
		if !plainIdent.MatchString(t.Name) {
			return nil, fmt.Errorf("table name %q: letters, digits and '_' only", t.Name)
		}
		folder, _, _ := strings.Cut(rel, "/")
		g.tables = append(g.tables, iceTable{name: t.Name, rel: rel, meta: root + rel, location: root + folder})
	}
	g.run()
	return &Result{Text: g.b.String(), Warnings: g.warnings}, nil
}

type iceGen struct {
	o        IcebergOptions
	root     string // lake root URL (or local path), ending in '/'
	tables   []iceTable
	b        strings.Builder
	warnings []string
}

// iceTable is one table as the engine sees it.
type iceTable struct {
	name     string
	rel      string // metadata file, relative to the lake root
	meta     string // metadata file URL
	location string // table folder URL
}

func (g *iceGen) p(format string, a ...any) { fmt.Fprintf(&g.b, format+"\n", a...) }

func (g *iceGen) run() {
	g.p("-- Apache Iceberg tables (format v2) of the lake, registered from their current metadata files:")
	for _, t := range g.tables {
		g.p("--   %-8s %s", t.name, t.meta)
	}
	if g.o.Location != "" {
		g.p("-- (the lake folder %s is published at %s).", g.o.LakeDir, g.root)
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

// refreshNote introduces the refresh statements.
func (g *iceGen) refreshNote(how string) {
	g.p("")
	g.p("-- Refresh after new commits (every load, watch round, compaction or `eventlake iceberg sync` writes")
	g.p("-- new metadata files): re-run `eventlake ddl --format iceberg` and %s.", how)
}

// dataPaths says where the engine must find the data files: the manifests
// list them by the folder lake's absolute local paths.
func (g *iceGen) dataPaths() {
	if g.o.Bucket != "" {
		g.p("--")
		g.p("-- Data files: the lake lives in the bucket, and the manifests list every Parquet file by its URL")
		g.p("-- there (%sevents/domain=…/event_date=…/….parquet): the engine reads them in place, with", g.root)
		g.p("-- read access to the bucket. Athena reads s3:// only, BigQuery gs:// only.")
		return
	}
	dir := strings.TrimRight(filepath.ToSlash(g.o.LakeDir), "/")
	g.p("--")
	g.p("-- Data files: the manifests list every Parquet file by its absolute local path in the folder")
	g.p("-- lake (%s/events/domain=…/event_date=…/….parquet), and an engine reads each at exactly", dir)
	g.p("-- that path. Only an engine that sees the lake folder at %s can read the rows", dir)
	g.p("-- (Spark or Trino on this machine, or on a shared mount at the same path); --location moves the")
	g.p("-- metadata files' address only. Engines that read object storage only (Athena, Snowflake,")
	g.p("-- BigQuery) cannot read the rows until the lake lives in a bucket.")
	if objectStoreEngines[g.o.Engine] {
		g.warnings = append(g.warnings, fmt.Sprintf("the Iceberg manifests list the data files by local path (%s/…): %s cannot read the rows until the lake lives in a bucket", dir, g.o.Engine))
	} else {
		g.warnings = append(g.warnings, fmt.Sprintf("the Iceberg manifests list the data files by local path (%s/…): %s must see the lake folder at that same path", dir, g.o.Engine))
	}
}

// glueTableInput is the AWS Glue TableInput of an Iceberg table whose
// current metadata file is the lake's.
func glueTableInput(t iceTable) string {
	return fmt.Sprintf(`{"Name":"%s","TableType":"EXTERNAL_TABLE",`+
		`"Parameters":{"table_type":"ICEBERG","metadata_location":"%s"},`+
		`"StorageDescriptor":{"Location":"%s"}}`, t.name, t.meta, t.location)
}

func (g *iceGen) glue(reader string) {
	g.p("aws glue create-database --database-input '{\"Name\":\"%s\"}'   # once, if it does not exist", g.o.Database)
	for _, t := range g.tables {
		g.p("aws glue create-table --database-name %s \\", g.o.Database)
		g.p("  --table-input '%s'", glueTableInput(t))
	}
	g.refreshNote("point each Glue table at the file it names; " + reader + "\n-- reads the metadata_location Glue holds at the start of each query")
	for _, t := range g.tables {
		g.p("aws glue update-table --database-name %s \\", g.o.Database)
		g.p("  --table-input '%s'", glueTableInput(t))
	}
}

func (g *iceGen) athena() {
	g.p("")
	g.p("-- Athena (engine version 3) has no statement that registers an existing Iceberg table: its CREATE")
	g.p("-- TABLE … TBLPROPERTIES ('table_type' = 'ICEBERG') makes a new, empty table, and CREATE EXTERNAL TABLE")
	g.p("-- is refused for Iceberg. It reads an Iceberg table that the AWS Glue Data Catalog holds with the")
	g.p("-- parameters table_type = ICEBERG and metadata_location = the metadata file: create those Glue tables")
	g.p("-- through the Glue API (AWS CLI below, or CreateTable from an SDK), then query them in Athena.")
	g.glue("Athena")
}

func (g *iceGen) spark() {
	g.p("")
	g.p("-- Spark SQL with the Iceberg runtime, and an Iceberg catalog named iceberg backed by a metastore")
	g.p("-- (spark.sql.catalog.iceberg = org.apache.iceberg.spark.SparkCatalog, type hive, glue, jdbc or rest).")
	g.p("CREATE NAMESPACE IF NOT EXISTS iceberg.%s;", g.o.Database)
	for _, t := range g.tables {
		g.p("CALL iceberg.system.register_table(table => '%s.%s', metadata_file => '%s');", g.o.Database, t.name, t.meta)
	}
	g.refreshNote("register the files it names again (DROP TABLE without\n-- PURGE removes the catalog entry only, never the lake's files)")
	for _, t := range g.tables {
		g.p("DROP TABLE iceberg.%s.%s;", g.o.Database, t.name)
		g.p("CALL iceberg.system.register_table(table => '%s.%s', metadata_file => '%s');", g.o.Database, t.name, t.meta)
	}
}

func (g *iceGen) trino() {
	t := g.tables[0]
	folder, _, _ := strings.Cut(t.rel, "/")
	g.p("")
	g.p("-- Trino, Iceberg connector. Its register_table procedure cannot take these tables: it reads")
	g.p("-- <table_location>/metadata/<metadata_file_name> only, while the lake keeps a table's metadata in")
	g.p("-- <table>/%s (a folder Hive readers skip) — `CALL iceberg.system.register_table(schema_name =>", path.Base(path.Dir(t.rel)))
	g.p("-- '%s', table_name => '%s', table_location => '%s', metadata_file_name =>", g.o.Database, t.name, t.location)
	g.p("-- '%s')` would look for %s%s/metadata/%s.", path.Base(t.rel), g.root, folder, path.Base(t.rel))
	g.p("-- Register them in the metastore the connector reads instead: with iceberg.catalog.type=glue, Glue")
	g.p("-- tables whose metadata_location is the metadata file (then query iceberg.%s.<table>).", g.o.Database)
	g.glue("Trino")
}

func (g *iceGen) snowflake() {
	g.p("")
	g.p("-- Snowflake, Iceberg tables from files in object storage. Once: an external volume whose storage")
	g.p("-- location is the lake's root (%s) and a catalog integration for object storage:", g.root)
	g.p("--   CREATE EXTERNAL VOLUME eventlake_lake STORAGE_LOCATIONS = ((NAME = 'lake' STORAGE_PROVIDER = …")
	g.p("--     STORAGE_BASE_URL = '%s' …));", g.root)
	g.p("CREATE CATALOG INTEGRATION IF NOT EXISTS eventlake_object_store")
	g.p("  CATALOG_SOURCE = OBJECT_STORE TABLE_FORMAT = ICEBERG ENABLED = TRUE;")
	g.p("CREATE SCHEMA IF NOT EXISTS %s;", g.o.Database)
	for _, t := range g.tables {
		g.p("CREATE ICEBERG TABLE %s.%s", g.o.Database, t.name)
		g.p("  EXTERNAL_VOLUME = 'eventlake_lake'")
		g.p("  CATALOG = 'eventlake_object_store'")
		g.p("  METADATA_FILE_PATH = '%s';", t.rel)
	}
	g.refreshNote("refresh to the files it names (relative to the external\n-- volume's storage location)")
	for _, t := range g.tables {
		g.p("ALTER ICEBERG TABLE %s.%s REFRESH '%s';", g.o.Database, t.name, t.rel)
	}
}

func (g *iceGen) bigquery() {
	g.p("")
	g.p("-- BigQuery, BigLake external tables over Iceberg metadata in Cloud Storage, read through a Cloud")
	g.p("-- resource connection (replace PROJECT.REGION.CONNECTION with yours).")
	g.p("CREATE SCHEMA IF NOT EXISTS %s;", g.o.Database)
	for _, t := range g.tables {
		g.bqTable(t)
	}
	g.refreshNote("re-create the tables on the files it names")
	for _, t := range g.tables {
		g.bqTable(t)
	}
}

func (g *iceGen) bqTable(t iceTable) {
	g.p("CREATE OR REPLACE EXTERNAL TABLE %s.%s", g.o.Database, t.name)
	g.p("  WITH CONNECTION `PROJECT.REGION.CONNECTION`")
	g.p("  OPTIONS (format = 'ICEBERG', uris = ['%s']);", t.meta)
}
