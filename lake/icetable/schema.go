package icetable

import (
	"context"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/catalog"
)

// kind is what differs between the lake tables an Iceberg table can be
// kept of: the schema, the partition spec, the files' columns, and how a
// file's partition values follow from its catalog record.
type kind struct {
	schema    func() *iceberg.Schema
	spec      func() iceberg.PartitionSpec
	columns   map[string]column
	partition func(catalog.FileRecord) (map[int]any, error)
	// prepare, when set, gives the table its schema before a Sync from
	// the files (a CSV table's, see csv.go); it returns the table as
	// committed then (nil when it has none yet).
	prepare func(context.Context, *table.Table, []catalog.FileRecord) (*table.Table, error)
}

// column is a file column's field id, with whether manifests record its
// bounds (not for long text or bytes: a prefix prunes nothing).
type column struct {
	id     int
	bounds bool
}

var (
	eventsKind  = kind{eventsSchema, eventsSpec, columns, partitionValues, nil}
	rejectsKind = kind{rejectsSchema, rejectsSpec, rejectColumns, rejectPartition, nil}
)

// Field ids of the events table. They are fixed: the files carry no field
// ids, and readers map the files' columns to them by name through the
// table's name mapping (schema.name-mapping.default), so every file ever
// written stays readable.
const (
	fieldEventID = iota + 1
	fieldEventType
	fieldSchemaVersion
	fieldOrgID
	fieldCID
	fieldEventTime
	fieldData
	fieldObject
	fieldLine
	fieldOffset
	fieldLoadID
	fieldIngestedAt
	fieldDomain
)

// Partition field ids (Iceberg starts them at 1000).
const (
	partDomain = 1000 + iota
	partEventDay
)

// eventsSchema is the Iceberg schema of table events: the columns of the
// files (partitions.EventRow) plus domain, the identity partition, which
// the files do not hold: readers take it from the manifests.
func eventsSchema() *iceberg.Schema {
	str, long, ts := iceberg.PrimitiveTypes.String, iceberg.PrimitiveTypes.Int64, iceberg.PrimitiveTypes.TimestampTz
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: fieldEventID, Name: "event_id", Type: str, Required: true},
		iceberg.NestedField{ID: fieldEventType, Name: "event_type", Type: str, Required: true},
		iceberg.NestedField{ID: fieldSchemaVersion, Name: "schema_version", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: fieldOrgID, Name: "org_id", Type: str},
		iceberg.NestedField{ID: fieldCID, Name: "cid", Type: str},
		iceberg.NestedField{ID: fieldEventTime, Name: "event_time", Type: ts, Required: true},
		iceberg.NestedField{ID: fieldData, Name: "data", Type: str, Required: true,
			Doc: "the record's data as received (JSON)"},
		iceberg.NestedField{ID: fieldObject, Name: "_object", Type: str, Required: true},
		iceberg.NestedField{ID: fieldLine, Name: "_line", Type: long, Required: true},
		iceberg.NestedField{ID: fieldOffset, Name: "_offset", Type: long, Required: true},
		iceberg.NestedField{ID: fieldLoadID, Name: "_load_id", Type: str, Required: true},
		iceberg.NestedField{ID: fieldIngestedAt, Name: "_ingested_at", Type: ts, Required: true},
		iceberg.NestedField{ID: fieldDomain, Name: "domain", Type: str,
			Doc: "envelope domain; an identity partition, not stored in the data files"},
	)
}

// eventsSpec partitions events as the Hive folders do: identity(domain),
// day(event_time) (event_date is the UTC day of event_time).
func eventsSpec() iceberg.PartitionSpec {
	return iceberg.NewPartitionSpecID(0,
		iceberg.PartitionField{SourceIDs: []int{fieldDomain}, FieldID: partDomain, Name: "domain", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{fieldEventTime}, FieldID: partEventDay, Name: "event_time_day", Transform: iceberg.DayTransform{}},
	)
}

// columns maps the files' column names to their field ids, with whether
// manifests record their bounds (not for data: a JSON document's prefix
// prunes nothing).
var columns = map[string]column{
	"event_id": {fieldEventID, true}, "event_type": {fieldEventType, true}, "schema_version": {fieldSchemaVersion, true},
	"org_id": {fieldOrgID, true}, "cid": {fieldCID, true}, "event_time": {fieldEventTime, true},
	"data": {fieldData, false}, "_object": {fieldObject, true}, "_line": {fieldLine, true}, "_offset": {fieldOffset, true},
	"_load_id": {fieldLoadID, true}, "_ingested_at": {fieldIngestedAt, true},
}

// Field ids of the _rejects table, in the files' column order
// (partitions.RejectRow), then load_date, the identity partition the files
// do not hold.
const (
	rejObject = iota + 1
	rejLine
	rejOffset
	rejReason
	rejRaw
	rejRawBytes
	rejProfile
	rejLoadID
	rejIngestedAt
	rejRawExact
	rejLoadDate
)

// partLoadDate is the partition field id of _rejects.
const partLoadDate = 1000

// rejectsSchema is the Iceberg schema of table _rejects. raw_exact is
// missing from files written before it existed: readers return null.
func rejectsSchema() *iceberg.Schema {
	str, long := iceberg.PrimitiveTypes.String, iceberg.PrimitiveTypes.Int64
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: rejObject, Name: "object", Type: str},
		iceberg.NestedField{ID: rejLine, Name: "line", Type: long},
		iceberg.NestedField{ID: rejOffset, Name: "offset", Type: long},
		iceberg.NestedField{ID: rejReason, Name: "reason", Type: str},
		iceberg.NestedField{ID: rejRaw, Name: "raw", Type: str},
		iceberg.NestedField{ID: rejRawBytes, Name: "raw_bytes", Type: long},
		iceberg.NestedField{ID: rejProfile, Name: "profile", Type: str},
		iceberg.NestedField{ID: rejLoadID, Name: "_load_id", Type: str},
		iceberg.NestedField{ID: rejIngestedAt, Name: "_ingested_at", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: rejRawExact, Name: "raw_exact", Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: rejLoadDate, Name: "load_date", Type: iceberg.PrimitiveTypes.Date,
			Doc: "UTC date of the load; an identity partition, not stored in the data files"},
	)
}

// rejectsSpec partitions _rejects as its Hive folders do: identity(load_date).
func rejectsSpec() iceberg.PartitionSpec {
	return iceberg.NewPartitionSpecID(0,
		iceberg.PartitionField{SourceIDs: []int{rejLoadDate}, FieldID: partLoadDate, Name: "load_date", Transform: iceberg.IdentityTransform{}},
	)
}

var rejectColumns = map[string]column{
	"object": {rejObject, true}, "line": {rejLine, true}, "offset": {rejOffset, true}, "reason": {rejReason, true},
	"raw": {rejRaw, false}, "raw_bytes": {rejRawBytes, true}, "profile": {rejProfile, true},
	"_load_id": {rejLoadID, true}, "_ingested_at": {rejIngestedAt, true}, "raw_exact": {rejRawExact, false},
}
