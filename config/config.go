// Package config reads eventlake's YAML configuration file. Every setting
// has a command-line flag too; flags win over the file.
//
//	lake: ./lake
//	profile: auto                 # auto | pismo | fulfillmenttools | generic | <name from profiles:>
//	workers: 2                    # objects processed in parallel (default: number of CPUs)
//	zstd_level: 1                 # 1 fastest … 4 smallest
//	max_record_bytes: 16777216    # longer records are quarantined
//	on_change: reload             # what to do when a committed object's version changes: reload | skip
//	lock_wait: 10s                # how long a second writer waits for the lake lock
//	settle: 30s                   # local/SFTP files modified this recently are still being written: wait (0: off)
//	generic:                      # the mapping of the "generic" profile
//	  event_id: id
//	  timestamp: meta.created_at
//	  event_type: type
//	  domain: "=orders"           # "=text" is a constant
//	profiles:                     # more named generic mappings
//	  acme: {event_id: uuid, timestamp: ts, data: payload}
//	sources:                      # what `eventlake load --config f.yaml` loads when no SOURCE is given
//	  - url: s3://bucket/main_stream/?region=us-east-1
//	    profile: pismo
//	    since: 2024-02-01
//	csv_profiles:                 # delimited files → a table (jwo-orders is built in)
//	  store-sales: {table: sales, key: [sale_id], order: updated_at, partition_column: sale_date}
//	tables:                       # upsert keys and column types of typed views (see README)
//	  account.customer_creation_1: {key: [data.customer_id], order: event_time}
//	  transactions.payment_1: {types: {data.amount: "DECIMAL(18,2)"}}
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole file.
type Config struct {
	Lake           string                `yaml:"lake"`
	Catalog        string                `yaml:"catalog"`
	Profile        string                `yaml:"profile"`
	Workers        int                   `yaml:"workers"`
	ZstdLevel      int                   `yaml:"zstd_level"`
	MaxRecordBytes int                   `yaml:"max_record_bytes"`
	OnChange       string                `yaml:"on_change"`
	LockWait       Duration              `yaml:"lock_wait"`
	Settle         *Duration             `yaml:"settle"` // nil: the default (30s)
	Generic        *Mapping              `yaml:"generic"`
	Profiles       map[string]Mapping    `yaml:"profiles"`
	CSVProfiles    map[string]CSVProfile `yaml:"csv_profiles"`
	Sources        []Source              `yaml:"sources"`
	Tables         map[string]Table      `yaml:"tables"`
	// Schemas is where Pismo's JSON Schemas are read from: a folder, or
	// an s3:// or gs:// URL of <domain>/<event_type>.json objects.
	Schemas string `yaml:"schemas"`
	// Retention is how long each table's partitions are kept, by table
	// (events, a CSV table, _rejects): load and watch expire the partitions
	// whose date is older than now minus the period after their commit.
	// Each value is a period (see ParsePeriod); RetentionPeriods parses
	// them.
	Retention map[string]string `yaml:"retention"`

	// Path is the file the config was read from ("" for defaults).
	Path string `yaml:"-"`
}

// Mapping tells the generic profile where the envelope fields are. Each
// value is a dotted path into the record ("meta.id"), or "=text" for a
// constant (useful for domain and org_id). Data "$" (the default) keeps the
// whole record. EventID and Timestamp are required.
type Mapping struct {
	EventID       string `yaml:"event_id" json:"event_id"`
	EventType     string `yaml:"event_type" json:"event_type"`
	Domain        string `yaml:"domain" json:"domain"`
	Timestamp     string `yaml:"timestamp" json:"timestamp"`
	Data          string `yaml:"data" json:"data"`
	OrgID         string `yaml:"org_id" json:"org_id"`
	CID           string `yaml:"cid" json:"cid"`
	SchemaVersion string `yaml:"schema_version" json:"schema_version"`
}

// Validate checks that the mapping of the profile called name can map a
// record: event_id and timestamp are set, and are paths.
func (m Mapping) Validate(name string) error {
	if m.EventID == "" || m.Timestamp == "" {
		return fmt.Errorf("profile %s: the mapping needs event_id and timestamp", name)
	}
	if strings.HasPrefix(m.EventID, "=") || strings.HasPrefix(m.Timestamp, "=") {
		return fmt.Errorf("profile %s: event_id and timestamp must be paths, not constants", name)
	}
	return nil
}

// BuiltinProfiles are the names of the record profiles eventlake ships (the
// loader's profile package implements them, and its tests check it has
// exactly these). They, auto and generic are names profiles: cannot take.
var BuiltinProfiles = []string{"fulfillmenttools", "pismo"}

// Source is one entry of sources:.
type Source struct {
	URL     string `yaml:"url"`
	Profile string `yaml:"profile"`
	Since   string `yaml:"since"`
	Until   string `yaml:"until"`
}

// CSVProfile maps delimited files (CSV, TSV, …) with a header row onto a
// table (a generic-csv profile; jwo-orders is the built-in one).
type CSVProfile struct {
	// Table is the table (and view) name; default the profile name.
	Table string `yaml:"table"`
	// Key lists the upsert key columns (header names); the table view shows
	// the latest row per key.
	Key []string `yaml:"key"`
	// Order names the column that tells which row is newest (e.g.
	// updated_at); without it, the report time from the object key, then
	// the line, decide.
	Order string `yaml:"order"`
	// PartitionColumn is a date or timestamp column to partition by; without
	// it the date in the object key (…/YYYY-MM-DD/…) is used.
	PartitionColumn string `yaml:"partition_column"`
}

// Table configures the typed view of an event type (key "domain.event_type"
// as shown in the shell, or the raw "domain/event-type") or of a CSV table.
type Table struct {
	// Key lists the upsert key columns: envelope columns (event_id, org_id,
	// …) or data paths ("data.account.id"). Default: event_id.
	Key []string `yaml:"key"`
	// Order is the column deciding which version is the latest
	// (default event_time); ties are broken by ingest order.
	Order string `yaml:"order"`
	// Types declares the SQL type of data fields, by path
	// ({data.amount: "DECIMAL(18,2)"}): it wins over the inferred type and
	// the JSON Schema's, in the typed views and in the DDL.
	Types map[string]string `yaml:"types"`
}

// sqlTypeRe is the form of a declared column type: a type name of words,
// optional numeric parameters, optional [] suffixes (DECIMAL(18,2),
// VARCHAR, TIMESTAMP WITH TIME ZONE, BIGINT[]). Anything else (quotes,
// semicolons, nested types) is refused, so a config cannot inject SQL.
var sqlTypeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*( [A-Za-z][A-Za-z0-9_]*)*( ?\( ?[0-9]+ ?(, ?[0-9]+ ?)?\))?(\[\])*$`)

// ValidType reports whether s is acceptable as a declared column type.
func ValidType(s string) bool { return sqlTypeRe.MatchString(s) }

// Duration is a time.Duration written as "10s", "5m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 10s or 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// maxPeriod bounds a period well inside time.Duration's range.
const maxPeriod = 200 * 365 * 24 * time.Hour

// ParsePeriod parses a retention period: a number of days, weeks or years
// ("400d", "6w", "2y"; a year is 365 days) or a Go duration ("720h").
func ParsePeriod(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a period like 400d, 6w, 2y or 720h", s)
	t := strings.TrimSpace(s)
	var unit time.Duration
	switch {
	case strings.HasSuffix(t, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(t, "w"):
		unit = 7 * 24 * time.Hour
	case strings.HasSuffix(t, "y"):
		unit = 365 * 24 * time.Hour
	}
	if unit == 0 {
		d, err := time.ParseDuration(t)
		if err != nil {
			return 0, bad
		}
		return d, nil
	}
	n, err := strconv.ParseInt(t[:len(t)-1], 10, 64)
	if err != nil {
		return 0, bad
	}
	if n > int64(maxPeriod/unit) {
		return 0, fmt.Errorf("%q is too long (at most 200y)", s)
	}
	return time.Duration(n) * unit, nil
}

// RetentionPeriods parses Retention: the period of each table.
func (c *Config) RetentionPeriods() (map[string]time.Duration, error) {
	out := make(map[string]time.Duration, len(c.Retention))
	for table, v := range c.Retention {
		if table == "" {
			return nil, errors.New("retention: a table name is empty")
		}
		d, err := ParsePeriod(v)
		if err != nil {
			return nil, fmt.Errorf("retention.%s: %w", table, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retention.%s: %s is not positive", table, v)
		}
		out[table] = d
	}
	return out, nil
}

// Load reads a config file. Unknown keys are errors, so a typo does not
// silently fall back to a default.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := parse(f, path)
	if err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			return nil, err
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse reads a config from r.
func Parse(r io.Reader) (*Config, error) { return parse(r, "the config") }

func parse(r io.Reader, name string) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, unknownKeys(err, name)
	}
	return c, c.Validate()
}

// KeyError is a key the config's schema does not have (a typo, usually).
type KeyError struct {
	File, Key, Suggest string
	Line               int
}

func (e *KeyError) Error() string {
	msg := fmt.Sprintf("unknown key %q in %s line %d", e.Key, e.File, e.Line)
	if e.Suggest != "" {
		msg += fmt.Sprintf("; did you mean %q?", e.Suggest)
	}
	return msg
}

var unknownFieldRe = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)

// unknownKeys rewrites yaml's "field X not found in type config.Config"
// (Go's names) as KeyErrors naming the file, the line and the key meant.
func unknownKeys(err error, file string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var errs []error
	for _, m := range te.Errors {
		sub := unknownFieldRe.FindStringSubmatch(m)
		if sub == nil {
			errs = append(errs, errors.New(m))
			continue
		}
		line, _ := strconv.Atoi(sub[1])
		errs = append(errs, &KeyError{File: file, Key: sub[2], Line: line, Suggest: closest(sub[2], yamlKeys()[sub[3]])})
	}
	return errors.Join(errs...)
}

// yamlKeys maps each struct type of the file ("config.Config") to its keys.
func yamlKeys() map[string][]string {
	keys := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || keys[t.String()] != nil {
			return
		}
		keys[t.String()] = []string{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			keys[t.String()] = append(keys[t.String()], name)
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Config]())
	return keys
}

// closest returns the key nearest to k within two edits, or "".
func closest(k string, keys []string) string {
	best, bestD := "", 3
	for _, c := range keys {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Validate checks values that YAML types cannot.
func (c *Config) Validate() error {
	switch c.OnChange {
	case "", "reload", "skip":
	default:
		return fmt.Errorf("on_change: %q is not one of reload, skip", c.OnChange)
	}
	if c.ZstdLevel < 0 || c.ZstdLevel > 19 {
		return fmt.Errorf("zstd_level: %d is not between 1 and 19", c.ZstdLevel)
	}
	if c.Workers < 0 {
		return fmt.Errorf("workers: %d is negative", c.Workers)
	}
	if c.Settle != nil && *c.Settle < 0 {
		return fmt.Errorf("settle: %s is negative (0 turns the wait off)", time.Duration(*c.Settle))
	}
	if c.MaxRecordBytes < 0 {
		return fmt.Errorf("max_record_bytes: %d is negative", c.MaxRecordBytes)
	}
	for i, s := range c.Sources {
		if s.URL == "" {
			return fmt.Errorf("sources[%d]: url is missing", i)
		}
		for _, d := range []string{s.Since, s.Until} {
			if d != "" {
				if _, err := ParseDate(d); err != nil {
					return fmt.Errorf("sources[%d]: %w", i, err)
				}
			}
		}
	}
	for name, m := range c.Profiles {
		if err := m.Validate(name); err != nil {
			return err
		}
		if slices.Contains(BuiltinProfiles, name) || name == "auto" || name == "generic" {
			return fmt.Errorf("profiles: %q is a built-in profile name", name)
		}
	}
	for name, p := range c.CSVProfiles {
		if len(p.Key) == 0 {
			return fmt.Errorf("csv_profiles.%s: key is missing (the upsert key columns)", name)
		}
	}
	for name, t := range c.Tables {
		for path, typ := range t.Types {
			rest, ok := strings.CutPrefix(path, "data.")
			if !ok || rest == "" || strings.HasPrefix(rest, ".") || strings.HasSuffix(rest, ".") || strings.Contains(rest, "..") {
				return fmt.Errorf("tables.%s.types: %q is not a data path like data.amount", name, path)
			}
			if !ValidType(typ) {
				return fmt.Errorf("tables.%s.types: %s: %q is not a SQL type like DECIMAL(18,2)", name, path, typ)
			}
		}
	}
	if _, err := c.RetentionPeriods(); err != nil {
		return err
	}
	if c.Generic != nil {
		if err := c.Generic.Validate("generic"); err != nil {
			return err
		}
	}
	return nil
}

// ParseDate parses a YYYY-MM-DD date (UTC) as used by --since/--until.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date like 2024-02-01", s)
	}
	return t, nil
}
