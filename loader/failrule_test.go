package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
)

// A commit whose failure cannot be recorded may still have happened (the
// catalog may have committed and then failed to say so): the load must
// leave its staging directory to recovery, which reads from the catalog
// whether to publish or discard it. The next run does that and loads
// exactly what a clean run loads.
func TestFailedCommitThatCannotBeRecordedLeavesStaging(t *testing.T) {
	src := crashCorpus(t, 2, 50)
	lake := t.TempDir()
	o := loader.Options{Lake: lake, Workers: 2, LockWait: time.Minute}
	loader.SetTestHook(&o, func(step string, cat *catalog.Catalog) {
		if step == "before-commit" {
			cat.Close() // both the commit and the record of its failure fail
		}
	})
	_, err := loader.Run(context.Background(), o, []loader.SourceSpec{{URL: src}})
	if err == nil {
		t.Fatal("load with a closed catalog succeeded")
	}
	if !strings.Contains(err.Error(), "recording the failure also failed") {
		t.Errorf("error %q does not say the failure could not be recorded", err)
	}
	staging := filepath.Join(lake, "_eventlake", "staging")
	ents, rerr := os.ReadDir(staging)
	if rerr != nil || len(ents) != 1 {
		t.Fatalf("staging after a commit whose failure was not recorded: %d entries, %v; want the load's directory left to recovery", len(ents), rerr)
	}
	id := ents[0].Name()
	if files, _ := os.ReadDir(filepath.Join(staging, id)); len(files) == 0 {
		t.Errorf("staging directory of load %s is empty; want its staged files", id)
	}

	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, []loader.SourceSpec{{URL: src}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Recovered == "" {
		t.Error("the re-run did not recover the interrupted load")
	}
	checkPublished(t, lake)
	clean := t.TempDir()
	if _, err := loader.Run(context.Background(), loader.Options{Lake: clean, Workers: 2}, []loader.SourceSpec{{URL: src}}); err != nil {
		t.Fatal(err)
	}
	if got, want := lakeRows(t, lake), lakeRows(t, clean); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows after recovery differ from a clean run: %d vs %d rows", len(got), len(want))
	}
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	var status string
	if err := cat.DB().QueryRow(`SELECT status FROM loads WHERE load_id = ?`, id).Scan(&status); err != nil || status != "aborted" {
		t.Errorf("load %s after recovery: %q, %v; want aborted", id, status, err)
	}
}
