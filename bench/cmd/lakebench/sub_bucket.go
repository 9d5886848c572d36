package main

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	_ "github.com/eventlake/eventlake/bucketstore" // the s3:// lake store
	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
)

// The -bucket sub-benchmark: a load into a lake in a bucket (a fake S3,
// gofakes3 in this process, on loopback) against the same load into a local
// lake, alternating rounds, medians; then what a commit costs when the
// bucket lake's catalog holds -bucket-objects objects (a small commit, a
// commit that writes the checkpoint, a fresh runner's sync).

// targetBucketRatio: a load into a bucket lake takes at most 15 % longer
// than into a local lake.
const targetBucketRatio = 1.15

// fakeS3 is an in-memory S3 on loopback, and the environment (static
// credentials) that eventlake needs to reach it.
type fakeS3 struct {
	backend *s3mem.Backend
	srv     *httptest.Server
	env     []string
	dir     string // the empty AWS config files' folder
}

func startFakeS3() (*fakeS3, error) {
	dir, err := os.MkdirTemp("", "lakebench-aws-")
	if err != nil {
		return nil, err
	}
	b := s3mem.New()
	f := &fakeS3{backend: b, srv: httptest.NewServer(gofakes3.New(b).Server()), dir: dir}
	f.env = []string{"AWS_ACCESS_KEY_ID=lakebench", "AWS_SECRET_ACCESS_KEY=lakebench", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_SESSION_TOKEN="}
	return f, nil
}

func (f *fakeS3) close() {
	f.srv.Close()
	os.RemoveAll(f.dir)
}

// lake creates a bucket and returns the URL of a lake in it.
func (f *fakeS3) lake(bucket string) (string, error) {
	if err := f.backend.CreateBucket(bucket); err != nil {
		return "", err
	}
	return "s3://" + bucket + "/lake/?endpoint=" + f.srv.URL + "&path_style=true&region=us-east-1", nil
}

// setEnv sets the fake store's environment in this process (the in-process
// commit measurements open the store here).
func (f *fakeS3) setEnv() {
	for _, kv := range f.env {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
}

func runBucket(ctx context.Context, cfg *config, rep *report) error {
	figure := "load into a bucket lake (fake S3 on loopback) vs a local lake"
	if rep.EventlakeMissing {
		rep.skipCheck(figure, fmt.Sprintf("≤ %.2f×", targetBucketRatio), "eventlake not built")
		return nil
	}
	s3, err := startFakeS3()
	if err != nil {
		return err
	}
	defer s3.close()
	s := cfg.spec
	cdir, st, err := subCorpus(cfg, "bucket-corpus", s)
	if err != nil {
		return err
	}
	defer os.RemoveAll(cdir)
	var local, bucket, localCPU, bucketCPU []float64
	for round := 0; round < cfg.rounds; round++ {
		for i := 0; i < 2; i++ {
			toBucket := (round+i)%2 == 1 // alternate which goes first
			target := filepath.Join(cfg.work, fmt.Sprintf("bucket-local-lake-%d", round))
			if toBucket {
				if target, err = s3.lake(fmt.Sprintf("round%d", round)); err != nil {
					return err
				}
			}
			m, sum, err := eventlakeLoad(ctx, cfg, target, s.SourceDir(cdir), s3.env)
			if err != nil {
				return fmt.Errorf("bucket: load into %s: %w", target, err)
			}
			if p := checkLoad(sum, st); len(p) > 0 {
				return fmt.Errorf("bucket: load into %s: %s", target, strings.Join(p, "; "))
			}
			if toBucket {
				bucket, bucketCPU = append(bucket, m.Wall), append(bucketCPU, m.CPU())
			} else {
				local, localCPU = append(local, m.Wall), append(localCPU, m.CPU())
				os.RemoveAll(target)
			}
		}
	}
	ratio := median(bucket) / median(local)
	status := passIf(ratio <= targetBucketRatio)
	log.Printf("bucket: load %.2fs into fake S3, %.2fs into a local lake (%.2f×) %s", median(bucket), median(local), ratio, status)
	rep.Checks = append(rep.Checks, check{Figure: figure + fmt.Sprintf(" (%d objects, median of %d)", st.Objects, cfg.rounds),
		Eventlake: fmt.Sprintf("%.2f s (CPU %.2f s)", median(bucket), median(bucketCPU)),
		DuckDB:    fmt.Sprintf("local lake %.2f s (CPU %.2f s)", median(local), median(localCPU)),
		Ratio:     fmt.Sprintf("%.2f×", ratio), Target: fmt.Sprintf("≤ %.2f×", targetBucketRatio), Status: status})

	s3.setEnv()
	for _, n := range cfg.bucketObjects {
		c, err := measureCommitCost(ctx, s3, n)
		if err != nil {
			return fmt.Errorf("bucket: commit cost at %d objects: %w", n, err)
		}
		log.Printf("bucket: %s objects (filled in %s): commit %s, with checkpoint %s (%s bytes), fresh sync %s",
			thousands(int64(n)), c.fill.Round(time.Second), c.plain.Round(time.Millisecond), c.checkpoint.Round(time.Millisecond),
			thousands(c.checkpointBytes), c.sync.Round(time.Millisecond))
		rep.Checks = append(rep.Checks, check{Figure: fmt.Sprintf("bucket lake commit at %s catalog objects (fake S3)", thousands(int64(n))),
			Eventlake: fmt.Sprintf("commit %s; with checkpoint %s (%.1f MB); fresh runner's sync %s",
				c.plain.Round(time.Millisecond), c.checkpoint.Round(time.Millisecond), float64(c.checkpointBytes)/1e6, c.sync.Round(time.Millisecond)),
			Target: "commit ≤ 1 s", Status: passIf(c.plain <= time.Second)})
	}
	return nil
}

type commitCost struct {
	fill, plain, checkpoint, sync time.Duration
	checkpointBytes               int64
}

// measureCommitCost fills a new bucket lake's catalog with n objects in
// commits of 10,000 (catalog only: no data file), then times a commit of 10
// objects that writes the checkpoint, one that does not, and a fresh
// runner's sync of the catalog (checkpoint and log tail).
func measureCommitCost(ctx context.Context, s3 *fakeS3, n int) (commitCost, error) {
	var c commitCost
	const per = 10_000
	loads := (n + per - 1) / per
	os.Setenv("EVENTLAKE_CHECKPOINT_EVERY", fmt.Sprint(loads+1))
	defer os.Unsetenv("EVENTLAKE_CHECKPOINT_EVERY")
	url, err := s3.lake(fmt.Sprintf("commits%d", n))
	if err != nil {
		return c, err
	}
	w, _, err := lake.OpenWriter(ctx, url, "", time.Second, "load")
	if err != nil {
		return c, err
	}
	defer w.Close()
	commit := func(i, objs int) (time.Duration, error) {
		tx, err := w.Begin(ctx, lake.TxOptions{Command: "load", Sources: []string{"s3://vendor/x/"}, StartedAt: time.Now()})
		if err != nil {
			return 0, err
		}
		ch := lake.Changes{}
		for k := range objs {
			ch.Objects = append(ch.Objects, catalog.ObjectRecord{Source: "s3://vendor/x/", Key: fmt.Sprintf("main_stream/2024/02/01/%06d/obj-%07d", i, k),
				Version: `"0123456789abcdef0123456789abcdef"`, Size: 123456, ModTime: time.Now(), Status: catalog.ObjectCommitted, Records: 100, Profile: "pismo"})
		}
		start := time.Now()
		err = tx.Commit(ctx, ch)
		return time.Since(start), err
	}
	start := time.Now()
	for i := range loads {
		if _, err := commit(i, per); err != nil {
			return c, err
		}
	}
	c.fill = time.Since(start)
	if c.checkpoint, err = commit(loads, 10); err != nil {
		return c, err
	}
	if c.plain, err = commit(loads+1, 10); err != nil {
		return c, err
	}
	loc, err := lake.ParseLocation(url)
	if err != nil {
		return c, err
	}
	st, err := lake.OpenStore(ctx, loc)
	if err != nil {
		return c, err
	}
	defer st.Close()
	if err := st.List(ctx, "_eventlake/checkpoints/", "", func(o lake.ObjectInfo) error { c.checkpointBytes = o.Size; return nil }); err != nil {
		return c, err
	}
	w.Close()
	start = time.Now()
	_, _, _, closeFn, err := lake.OpenBucketReader(ctx, loc)
	if err != nil {
		return c, err
	}
	c.sync = time.Since(start)
	closeFn()
	return c, nil
}
