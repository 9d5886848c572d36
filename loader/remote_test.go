package loader_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/loader"
	_ "github.com/eventlake/eventlake/loader/source/gcs" // registers gs://
	_ "github.com/eventlake/eventlake/loader/source/s3"  // registers s3://
	_ "github.com/eventlake/eventlake/loader/source/sftp"
)

// End-to-end: the good corpus (testdata/pismo, subscriber, fulfillmenttools)
// is uploaded to each remote backend, one prefix per folder, and loaded as
// three sources. Whatever the protocol, the lake must hold the same rows in
// the same partitions as a load from the local folders.

// remoteBucket holds the corpus on S3 and GCS. Its name must not match the
// folder pattern of remoteRowsQuery.
const remoteBucket = "lake-src"

// remoteObject is one file of the corpus: folder is one of goodSources, key
// the '/'-separated path below it.
type remoteObject struct {
	folder, key string
	data        []byte
}

func (o remoteObject) name() string { return o.folder + "/" + o.key }

// remoteCorpus reads the good corpus, sorted by folder then key.
func remoteCorpus(t *testing.T) []remoteObject {
	t.Helper()
	var out []remoteObject
	for _, folder := range goodSources {
		root := testdata(folder)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, remoteObject{folder: folder, key: filepath.ToSlash(rel), data: data})
			return nil
		})
		if err != nil {
			t.Fatalf("reading the corpus %s: %v", root, err)
		}
	}
	if len(out) != goodObjects {
		t.Fatalf("corpus has %d files, want %d", len(out), goodObjects)
	}
	return out
}

// remoteBackend uploads the corpus to a freshly started server and returns
// one source URL per folder of goodSources, in that order.
type remoteBackend struct {
	name  string
	setup func(t *testing.T, corpus []remoteObject) []string
}

var remoteBackends = []remoteBackend{
	{"local", func(t *testing.T, _ []remoteObject) []string {
		var urls []string
		for _, folder := range goodSources {
			urls = append(urls, testdata(folder))
		}
		return urls
	}},
	{"s3", func(t *testing.T, corpus []remoteObject) []string {
		srv := testservers.S3(t)
		return remoteS3Upload(t, srv, corpus, nil)
	}},
	{"gcs", func(t *testing.T, corpus []remoteObject) []string {
		srv := testservers.GCS(t)
		srv.CreateBucket(remoteBucket)
		for _, o := range corpus {
			srv.Put(remoteBucket, o.name(), o.data)
		}
		var urls []string
		for _, folder := range goodSources {
			urls = append(urls, srv.URL(remoteBucket, folder+"/"))
		}
		return urls
	}},
	{"sftp", func(t *testing.T, corpus []remoteObject) []string {
		srv := testservers.SFTP(t, remoteSFTPRoot(t, corpus))
		var urls []string
		for _, folder := range goodSources {
			urls = append(urls, srv.URL(folder, ""))
		}
		return urls
	}},
}

// remoteS3Upload puts the corpus into remoteBucket and returns the source
// URLs, each with the extra query parameters.
func remoteS3Upload(t *testing.T, srv *testservers.S3Server, corpus []remoteObject, extra url.Values) []string {
	t.Helper()
	srv.CreateBucket(t, remoteBucket)
	for _, o := range corpus {
		srv.Put(t, remoteBucket, o.name(), o.data)
	}
	var urls []string
	for _, folder := range goodSources {
		urls = append(urls, srv.URL(remoteBucket, folder+"/", extra))
	}
	return urls
}

// remoteSFTPRoot writes the corpus into a new folder, the SFTP server's
// file system, and returns it.
func remoteSFTPRoot(t *testing.T, corpus []remoteObject) string {
	t.Helper()
	root := t.TempDir()
	for _, o := range corpus {
		p := filepath.Join(root, o.folder, filepath.FromSlash(o.key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, o.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// remoteRun loads the sources into lake.
func remoteRun(lake string, urls []string, log *slog.Logger) (*loader.Summary, error) {
	var specs []loader.SourceSpec
	for _, u := range urls {
		specs = append(specs, loader.SourceSpec{URL: u})
	}
	return loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, Command: "load", Log: log}, specs)
}

// remoteLoad loads the sources into lake twice: the first run must load
// the whole corpus, the second nothing.
func remoteLoad(t *testing.T, lake string, urls []string) {
	t.Helper()
	sum, err := remoteRun(lake, urls, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	remoteCheckFirst(t, sum)
	again, err := remoteRun(lake, urls, nil)
	if err != nil {
		t.Fatalf("second load: %v", err)
	}
	if again.LoadID != "" || again.Objects != 0 || again.Skipped != goodObjects || again.Records != 0 || !again.OK() {
		t.Errorf("second run = %+v, want nothing loaded and %d skipped", again, goodObjects)
	}
}

// remoteCheckFirst checks the summary of a load of the whole corpus.
func remoteCheckFirst(t *testing.T, sum *loader.Summary) {
	t.Helper()
	if sum.Objects != goodObjects || sum.Committed != goodObjects || sum.Records != goodRows || sum.Rejects != 0 ||
		sum.Skipped != 0 || !sum.OK() {
		t.Errorf("summary = %+v, want %d objects committed, %d records, no rejects", sum, goodObjects, goodRows)
	}
}

// remoteRowsQuery reads every row back with the object's address cut down
// to its folder and key: the scheme and host part differs by backend.
// data is read as text: the driver would decode JSON into a Go map, which
// hides differences in the raw bytes the contract promises to keep.
const remoteRowsQuery = `select event_id, event_type, schema_version, org_id, cid, event_time, data::varchar, _line, _offset, domain, event_date,
	regexp_extract(_object, '(pismo|subscriber|fulfillmenttools)/.*$') from `

// remoteLake is what a lake holds: its rows (sorted, so compared as a
// multiset) and its partition folders.
type remoteLake struct {
	rows  [][]string
	parts []string
}

func remoteRead(t *testing.T, db *sql.DB, lake string) remoteLake {
	t.Helper()
	rows := laketest.Rows(t, db, remoteRowsQuery+laketest.Events(lake))
	sort.Slice(rows, func(i, j int) bool {
		return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00")
	})
	for _, r := range rows {
		if obj := r[len(r)-1]; obj == "" || obj == "NULL" {
			t.Fatalf("row %q: _object does not name a corpus folder", r)
		}
	}
	seen := map[string]bool{}
	var parts []string
	for _, f := range laketest.Files(t, filepath.Join(lake, "events")) {
		if d := path.Dir(f); !seen[d] {
			seen[d] = true
			parts = append(parts, d)
		}
	}
	sort.Strings(parts)
	return remoteLake{rows: rows, parts: parts}
}

// remoteReference loads the corpus from the local folders and reads it back.
func remoteReference(t *testing.T, db *sql.DB) remoteLake {
	t.Helper()
	lake := t.TempDir()
	sum, err := remoteRun(lake, remoteBackends[0].setup(t, nil), nil)
	if err != nil {
		t.Fatalf("local load: %v", err)
	}
	remoteCheckFirst(t, sum)
	ref := remoteRead(t, db, lake)
	if len(ref.rows) != goodRows {
		t.Fatalf("local lake has %d rows, want %d", len(ref.rows), goodRows)
	}
	return ref
}

// remoteCompare reports every difference between two lakes.
func remoteCompare(t *testing.T, name string, got, want remoteLake) {
	t.Helper()
	if !reflect.DeepEqual(got.parts, want.parts) {
		t.Errorf("%s: partition folders\n%s\nwant (local)\n%s", name, strings.Join(got.parts, "\n"), strings.Join(want.parts, "\n"))
	}
	if len(got.rows) != len(want.rows) {
		t.Errorf("%s: %d rows, want %d (local):\n%s", name, len(got.rows), len(want.rows), laketest.Table(got.rows))
		return
	}
	for i := range got.rows {
		if !reflect.DeepEqual(got.rows[i], want.rows[i]) {
			t.Errorf("%s: row %d\n got %q\nwant %q (local)", name, i, got.rows[i], want.rows[i])
		}
	}
}

// TestRemoteSourcesGiveIdenticalLakes loads the corpus from the local
// folders, S3, GCS and SFTP, each into its own lake: every backend loads
// all objects once (a re-run skips them all) and the lakes are equal, row
// for row and partition for partition.
func TestRemoteSourcesGiveIdenticalLakes(t *testing.T) {
	corpus := remoteCorpus(t)
	db := laketest.DuckDB(t)
	lakes := map[string]remoteLake{}
	for _, b := range remoteBackends {
		t.Run(b.name, func(t *testing.T) {
			lake := t.TempDir()
			remoteLoad(t, lake, b.setup(t, corpus))
			if t.Failed() {
				return
			}
			lakes[b.name] = remoteRead(t, db, lake)
		})
	}
	want, ok := lakes["local"]
	if !ok {
		t.Fatal("the local load failed: nothing to compare with")
	}
	if len(want.rows) != goodRows {
		t.Fatalf("local lake has %d rows, want %d", len(want.rows), goodRows)
	}
	for _, b := range remoteBackends[1:] {
		got, ok := lakes[b.name]
		if !ok {
			continue // its subtest failed and said why
		}
		remoteCompare(t, b.name, got, want)
	}
}

// TestRemoteS3FaultsGiveSameRows loads from S3 while the server answers some
// object GETs with 500 InternalError or 503 SlowDown, or cuts their bodies
// half-way (once on a resumed read too): the lake must hold exactly the rows
// of a clean load.
func TestRemoteS3FaultsGiveSameRows(t *testing.T) {
	corpus := remoteCorpus(t)
	db := laketest.DuckDB(t)
	want := remoteReference(t, db)

	// Faults by object, for its 1st, 2nd, … GET. SDK retries of 500 and 503
	// back off for up to 2 s each: keep those few.
	byPrefix := map[string][]testservers.Fault{
		"pismo/main_stream/2024/02/01/09/":                  {testservers.CutBody, testservers.InternalError},
		"subscriber/additional-subscriber-2019-07-20-":      {testservers.SlowDown},
		"fulfillmenttools/2024-02-01/events-2024-02-01-000": {testservers.CutBody, testservers.CutBody},
		"fulfillmenttools/2024-02-02/events-2024-02-02-001": {testservers.InternalError},
	}
	plan := map[string][]testservers.Fault{}
	for prefix, faults := range byPrefix {
		var match []string
		for _, o := range corpus {
			if strings.HasPrefix(o.name(), prefix) {
				match = append(match, o.name())
			}
		}
		if len(match) != 1 {
			t.Fatalf("fault plan: prefix %s matches %q, want one object", prefix, match)
		}
		plan[remoteBucket+"/"+match[0]] = faults
	}
	faults := testservers.NewS3Faults(plan)
	srv := testservers.S3(t, faults.Middleware)
	urls := remoteS3Upload(t, srv, corpus, nil)

	lake := t.TempDir()
	sum, err := remoteRun(lake, urls, nil)
	if err != nil {
		t.Fatalf("load under faults: %v", err)
	}
	remoteCheckFirst(t, sum)
	remoteCompare(t, "s3 with faults", remoteRead(t, db, lake), want)

	c := faults.Counts()
	if c.InternalErrors != 2 || c.SlowDowns != 1 || c.Cuts != 3 {
		t.Errorf("faults injected: %d×500, %d×SlowDown, %d cuts; want 2, 1, 3 (counts %+v)", c.InternalErrors, c.SlowDowns, c.Cuts, c)
	}
	// Each fault costs one more GET: at least 8 + 6 object GETs.
	if c.ObjectGets < goodObjects+6 {
		t.Errorf("%d object GETs, want at least %d", c.ObjectGets, goodObjects+6)
	}
	t.Logf("fault handler: %+v", c)
}

// TestRemoteSFTPUnknownHostKey: a server whose host key differs from the one
// in known_hosts is refused with its fingerprint, before anything is
// recorded; with the right known_hosts the same load then loads everything.
func TestRemoteSFTPUnknownHostKey(t *testing.T) {
	corpus := remoteCorpus(t)
	srv := testservers.SFTP(t, remoteSFTPRoot(t, corpus))
	foreign := srv.ForeignKnownHosts(t)
	var urls []string
	for _, folder := range goodSources {
		urls = append(urls, srv.URL(folder, foreign))
	}
	lake := t.TempDir()
	var logs bytes.Buffer
	sum, err := remoteRun(lake, urls, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err == nil {
		t.Fatalf("load from a server with an unknown host key succeeded: %+v", sum)
	}
	fp := ssh.FingerprintSHA256(srv.HostKey)
	if !strings.Contains(err.Error(), fp) {
		t.Errorf("error %q does not name the server's host key fingerprint %s", err, fp)
	}
	if files := laketest.Files(t, filepath.Join(lake, "events")); len(files) != 0 {
		t.Errorf("files written although the load failed: %q", files)
	}
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{})
	if err != nil {
		t.Fatalf("opening the catalog: %v", err)
	}
	st, err := cat.Status(context.Background())
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Loads != 0 || len(st.Objects) != 0 || st.Files != 0 || st.Rows != 0 {
		t.Errorf("catalog after the refused load: %d loads, objects %v, %d files, %d rows; want nothing", st.Loads, st.Objects, st.Files, st.Rows)
	}

	// The refusal was the host key's doing, and left nothing behind that
	// makes the next run skip objects.
	for i, folder := range goodSources {
		urls[i] = srv.URL(folder, "")
	}
	sum, err = remoteRun(lake, urls, nil)
	if err != nil {
		t.Fatalf("load with the right known_hosts: %v", err)
	}
	remoteCheckFirst(t, sum)
}

// TestRemoteSecretsStayOut loads from S3 through a role assumed with an
// external id, and fails a load whose role is refused: the external id (and
// the credentials) must appear nowhere in the lake, the catalog, the logs,
// the progress output, the summary or the error.
func TestRemoteSecretsStayOut(t *testing.T) {
	const externalID = "supersecret123"
	secrets := []string{externalID, testservers.AWSSecretAccessKey, testservers.RoleSecretAccessKey, testservers.RoleSessionToken}
	corpus := remoteCorpus(t)
	srv := testservers.S3(t)
	sts := testservers.STS(t, false)
	denied := testservers.STS(t, true)
	params := func(stsURL string) url.Values {
		return url.Values{
			"role":         {"arn:aws:iam::123456789012:role/eventlake-consumer"},
			"external_id":  {externalID},
			"sts_endpoint": {stsURL},
		}
	}
	urls := remoteS3Upload(t, srv, corpus, params(sts.URL))

	var logs, progress bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	run := func(lake string, urls []string) (*loader.Summary, error) {
		var specs []loader.SourceSpec
		for _, u := range urls {
			specs = append(specs, loader.SourceSpec{URL: u})
		}
		return loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, Command: "load", Log: log, Progress: &progress}, specs)
	}

	lake := t.TempDir()
	sum, err := run(lake, urls)
	if err != nil {
		t.Fatalf("load through the role: %v", err)
	}
	remoteCheckFirst(t, sum)
	calls := sts.Calls()
	if len(calls) == 0 {
		t.Fatal("STS was never asked: the role (and its external id) were not used")
	}
	for _, c := range calls {
		if got := c.Get("ExternalId"); got != externalID {
			t.Errorf("AssumeRole ExternalId = %q, want %q", got, externalID)
		}
	}
	sumJSON, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}

	// A refused role: the load fails, naming the role, not the external id.
	deniedLake := t.TempDir()
	var deniedURLs []string
	for _, folder := range goodSources {
		deniedURLs = append(deniedURLs, srv.URL(remoteBucket, folder+"/", params(denied.URL)))
	}
	deniedSum, deniedErr := run(deniedLake, deniedURLs)
	if deniedErr == nil {
		t.Errorf("load with a refused role succeeded: %+v", deniedSum)
	} else if !strings.Contains(deniedErr.Error(), "eventlake-consumer") {
		t.Errorf("refused role: error %q does not name the role", deniedErr)
	}
	if len(denied.Calls()) == 0 {
		t.Error("the refusing STS was never asked")
	}
	deniedJSON, _ := json.Marshal(deniedSum)

	outputs := map[string][]byte{
		"logs":                 logs.Bytes(),
		"progress":             progress.Bytes(),
		"summary JSON":         sumJSON,
		"refused summary JSON": deniedJSON,
		"refused error":        []byte(errString(deniedErr)),
	}
	for _, dir := range []string{lake, deniedLake} {
		files := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			outputs[p] = data
			files++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Errorf("lake %s holds no file: nothing was checked", dir)
		}
	}
	if len(logs.Bytes()) == 0 {
		t.Error("the loads logged nothing: the log check is vacuous")
	}
	for where, data := range outputs {
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains the secret %q", where, s)
			}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
