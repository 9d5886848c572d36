package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Repairing lost files (eventlake repair).
//
// A live file that is missing or damaged is retired by a load begun with
// RepairCommand: its Commit names the file in Lost (it becomes 'removed'
// when the repair is published, as a superseding load's retired files do)
// and, in the same transaction, marks for reprocessing (Reprocess) the
// object versions whose rows the file may have held (LostFileObjects). The
// next load of their sources reads them again and supersedes the rows they
// still have in other files, so no row is counted twice. A version still
// marked after that load was not found in its source.

// RepairCommand is the command recorded for loads begun by `eventlake repair`.
const RepairCommand = "repair"

// rejectsTable is the table of quarantined records (partitions.RejectsTable).
const rejectsTable = "_rejects"

// LostFileObjects returns the object versions (not superseded, with rows in
// the file's table) whose rows the live file at path may hold. For a file a
// load wrote, they are the versions that load recorded last; for a file a
// compaction wrote, the versions recorded by any load that wrote a file in
// the same table and partition (the files table keeps the rows of files a
// compaction replaced). Reloading a version whose rows were elsewhere costs
// time, not correctness: its old rows are superseded wherever they are.
func (c *Catalog) LostFileObjects(ctx context.Context, path string) ([]SelectedObject, error) {
	var table, part, loadID, command string
	err := c.db.QueryRowContext(ctx, `SELECT f.table_name, f."partition", f.load_id, COALESCE(l.command, '')
FROM files f JOIN loads l ON l.load_id = f.load_id WHERE f.path = ?`, path).Scan(&table, &part, &loadID, &command)
	if err != nil {
		return nil, fmt.Errorf("catalog: objects of file %s: %w", path, err)
	}
	rowsCol := "records"
	if table == rejectsTable {
		rowsCol = "rejects"
	}
	q := `SELECT source, "key", version, status, load_id, records, rejects, reprocess_at IS NOT NULL FROM objects
WHERE superseded_by IS NULL AND ` + rowsCol + ` > 0 AND `
	args := []any{}
	if command == CompactCommand {
		q += `load_id IN (SELECT DISTINCT f.load_id FROM files f JOIN loads l ON l.load_id = f.load_id
	WHERE f.table_name = ? AND f."partition" = ? AND COALESCE(l.command, '') NOT IN (?, ?))`
		args = append(args, table, part, CompactCommand, RepairCommand)
	} else {
		q += `load_id = ?`
		args = append(args, loadID)
	}
	rows, err := c.db.QueryContext(ctx, q+` ORDER BY source, "key", version`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: objects of file %s: %w", path, err)
	}
	defer rows.Close()
	var out []SelectedObject
	for rows.Next() {
		var o SelectedObject
		if err := rows.Scan(&o.Source, &o.Key, &o.Version, &o.Status, &o.LoadID, &o.Records, &o.Rejects, &o.Marked); err != nil {
			return nil, fmt.Errorf("catalog: objects of file %s: %w", path, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// MarkedObjects lists the object versions marked for reprocessing that no
// load has read again yet.
func (c *Catalog) MarkedObjects(ctx context.Context) ([]SelectedObject, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT source, "key", version, status, load_id, records, rejects FROM objects
WHERE reprocess_at IS NOT NULL AND superseded_by IS NULL ORDER BY source, "key", version`)
	if err != nil {
		return nil, fmt.Errorf("catalog: marked objects: %w", err)
	}
	defer rows.Close()
	var out []SelectedObject
	for rows.Next() {
		o := SelectedObject{Marked: true}
		if err := rows.Scan(&o.Source, &o.Key, &o.Version, &o.Status, &o.LoadID, &o.Records, &o.Rejects); err != nil {
			return nil, fmt.Errorf("catalog: marked objects: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// LoadStatusOf returns a load's status, or "" when the catalog does not
// record the load.
func (c *Catalog) LoadStatusOf(ctx context.Context, loadID string) (LoadStatus, error) {
	var st LoadStatus
	err := c.db.QueryRowContext(ctx, `SELECT status FROM loads WHERE load_id = ?`, loadID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("catalog: load %s: %w", loadID, err)
	}
	return st, nil
}

// AdoptFile records again a file of a published load that the catalog
// lost (its load's manifest names it, the file is in the lake and matches
// the manifest's record), as a live file of that load. It fails when the
// load is not published or the path is already recorded.
func (c *Catalog) AdoptFile(ctx context.Context, loadID string, f FileRecord) error {
	if err := checkRelPath(f.Path); err != nil {
		return err
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var st LoadStatus
	if err := tx.QueryRowContext(ctx, `SELECT status FROM loads WHERE load_id = ?`, loadID).Scan(&st); err != nil {
		return fmt.Errorf("catalog: adopt %s: load %s: %w", f.Path, loadID, err)
	}
	if st != LoadPublished {
		return fmt.Errorf("catalog: adopt %s: load %s is %s, not published", f.Path, loadID, st)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO files (path, load_id, table_name, "partition", "rows", bytes, min_time, max_time, status, created_at, checksum)
		 SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'live', COALESCE(finished_at, started_at), ? FROM loads WHERE load_id = ?`,
		f.Path, loadID, f.Table, f.Partition, f.Rows, f.Bytes, f.MinTime, f.MaxTime, nullString(f.Checksum), loadID); err != nil {
		return fmt.Errorf("catalog: adopt %s: %w", f.Path, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE loads SET files = files + 1 WHERE load_id = ?`, loadID); err != nil {
		return fmt.Errorf("catalog: adopt %s: %w", f.Path, err)
	}
	return tx.Commit()
}
