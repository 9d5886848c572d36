// Package schema owns the lake's schemas: the events columns and their
// de-duplication rule, delimited tables' column types, and JSON payload types.
//
// The events columns are declared once (EventColumns, EventPartitions) and
// the rule that picks one row per event_id once (EventsDedup): the writer's
// row type, the SQL views and compaction are all checked against or built
// from them.
//
// Validate is a strict RFC 8259 checker tuned for the loader's hot path: it
// never allocates on valid input of ordinary depth, walks nesting
// iteratively (a bit stack, not recursion) and scans strings eight bytes at
// a time. It lives here because Type.ObserveStrictAt validates and types a
// payload in one walk; Members is the same walk handing over an object's
// members.
//
// Type is a small lattice of JSON shapes (Unknown < Bool, Int < Float,
// Timestamp < String, Object, Array < JSON). Observe widens a Type by one
// payload; Merge combines Types built by different workers or stored in the
// catalog; FromJSONSchema imports a JSON Schema. The typed SQL views are
// generated from the result with DuckDB and Structure (and Hive for
// external engines).
//
// This package imports nothing of the loader, the catalog, the partitions
// or the SQL surface: all of them import it.
package schema
