package icetable

import (
	"github.com/apache/iceberg-go"
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
var columns = map[string]struct {
	id     int
	bounds bool
}{
	"event_id": {fieldEventID, true}, "event_type": {fieldEventType, true}, "schema_version": {fieldSchemaVersion, true},
	"org_id": {fieldOrgID, true}, "cid": {fieldCID, true}, "event_time": {fieldEventTime, true},
	"data": {fieldData, false}, "_object": {fieldObject, true}, "_line": {fieldLine, true}, "_offset": {fieldOffset, true},
	"_load_id": {fieldLoadID, true}, "_ingested_at": {fieldIngestedAt, true},
}
