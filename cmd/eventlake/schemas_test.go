package main

import (
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/testservers"
)

// The schema bucket in Pismo's layout (json_schemas/<domain>/<event_type>.json)
// types the views, and the shell says where each schema came from.
func TestSQLSchemasFromBucket(t *testing.T) {
	srv := testservers.S3(t)
	srv.CreateBucket(t, "pismo-data-prod-dataplatform-docs")
	srv.Put(t, "pismo-data-prod-dataplatform-docs", "json_schemas/cards/card-blocked-1.json", []byte(`{"$schema":"http://json-schema.org/draft-07/schema#",
 "type":"object","properties":{"card_id":{"type":"string"},"account_id":{"type":"integer"},"reason":{"type":"integer"}}}`))
	srv.Put(t, "pismo-data-prod-dataplatform-docs", "json_schemas/account/unrelated-1.json", []byte(`not read`))
	lake := sqlLake(t)
	for _, url := range []string{srv.URL("pismo-data-prod-dataplatform-docs", "json_schemas/", nil), srv.URL("pismo-data-prod-dataplatform-docs", "", nil)} {
		code, out, errOut := runCLI(t, "sql", "--lake", lake, "--schemas", url, "--format", "csv", "-c",
			`select column_name, column_type from (describe cards.card_blocked_1) where column_name in ('card_id', 'account_id', 'reason') order by 1;
select kind, origin, followed from eventlake.schema_changes where kind <> 'inferred';`)
		if code != 0 {
			t.Fatalf("--schemas %s: exit %d: %s", url, code, errOut)
		}
		want := "column_name,column_type\naccount_id,BIGINT\ncard_id,VARCHAR\nreason,BIGINT\nkind,origin,followed\nbucket,s3://pismo-data-prod-dataplatform-docs/json_schemas/cards/card-blocked-1.json,true\n"
		if out != want {
			t.Errorf("--schemas %s:\n%s\nwant\n%s", url, out, want)
		}
		if !strings.Contains(errOut, "warning: cards.card_blocked_1: column reason is declared BIGINT") || !strings.Contains(errOut, "has VARCHAR values") {
			t.Errorf("no type conflict warning: %q", errOut)
		}
	}
	// A bucket that cannot be read is an error, not silently inferred types.
	code, _, errOut := runCLI(t, "sql", "--lake", lake, "--schemas", srv.URL("no-such-bucket", "json_schemas/", nil), "-c", "select 1")
	if code == 0 || !strings.Contains(errOut, "no-such-bucket") {
		t.Errorf("missing bucket: exit %d, %q", code, errOut)
	}
}
