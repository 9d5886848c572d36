// Package bucketstore is where a lake in a bucket is stored: it adapts the
// S3 source's client (credentials, URL parameters, retries, circuit breaker:
// loader/source/s3) and the GCS source's (loader/source/gcs) to the lake
// package's ObjectStore, with each store's conditional writes, and
// registers the s3:// and gs:// schemes with the lake package. Importing it
// is what makes `--lake s3://…` and `--lake gs://…` work.
package bucketstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/eventlake/eventlake/lake"
	s3src "github.com/eventlake/eventlake/loader/source/s3"
)

func init() {
	lake.RegisterStore("s3", OpenS3)
}

// S3 is a lake's root in an S3 bucket.
type S3 struct {
	src            *s3src.Source
	client         *s3.Client
	bucket, prefix string
}

// OpenS3 opens the lake at an s3://BUCKET/PREFIX/?… URL, with the URL
// parameters and credential handling of the S3 source.
func OpenS3(ctx context.Context, u *url.URL) (lake.ObjectStore, error) {
	bucket, prefix, o, err := s3src.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("lake: %s", strings.Replace(err.Error(), "s3 source", "s3 lake", 1))
	}
	src, err := s3src.New(ctx, bucket, prefix, o)
	if err != nil {
		return nil, fmt.Errorf("lake: %s", strings.Replace(err.Error(), "s3 source", "s3 lake", 1))
	}
	return &S3{src: src, client: src.Client(), bucket: src.Bucket(), prefix: src.Prefix()}, nil
}

// URL implements lake.ObjectStore.
func (s *S3) URL() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *S3) key(k string) *string { return aws.String(s.prefix + k) }

// wrap maps the store's answers onto the lake's errors.
func (s *S3) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var re *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case status == 404 || code == "NoSuchKey" || code == "NotFound":
		return fmt.Errorf("%s %s%s: %w", op, s.URL(), key, lake.ErrNotExist)
	case status == 412 || status == 409 || code == "PreconditionFailed" || code == "ConditionalRequestConflict":
		return fmt.Errorf("%s %s%s: %w (%v)", op, s.URL(), key, lake.ErrPrecondition, err)
	}
	return fmt.Errorf("%s %s%s: %w", op, s.URL(), key, err)
}

// Get implements lake.ObjectStore.
func (s *S3) Get(ctx context.Context, key string) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(key)})
	if err != nil {
		return nil, "", s.wrap("get", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", s.wrap("get", key, err)
	}
	return b, aws.ToString(out.ETag), nil
}

// Download implements lake.ObjectStore.
func (s *S3) Download(ctx context.Context, key string, w io.Writer) error {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(key)})
	if err != nil {
		return s.wrap("download", key, err)
	}
	defer out.Body.Close()
	_, err = io.Copy(w, out.Body)
	return s.wrap("download", key, err)
}

// ReadRange implements lake.ObjectStore with a ranged GetObject.
func (s *S3) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	rng := fmt.Sprintf("bytes=%d-", off)
	if n > 0 {
		rng += strconv.FormatInt(off+n-1, 10)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.key(key), Range: aws.String(rng)},
		// A whole object's checksum never matches a part of it.
		func(o *s3.Options) { o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired })
	if err != nil {
		return nil, s.wrap("read", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, s.wrap("read", key, err)
}

// Size implements lake.ObjectStore with HeadObject.
func (s *S3) Size(ctx context.Context, key string) (int64, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: s.key(key)})
	if err != nil {
		return 0, s.wrap("head", key, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Put implements lake.ObjectStore: If-None-Match: * and If-Match: ETag.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, cond lake.PutCond) (string, error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(r)
		if err != nil {
			return "", err
		}
		rs = bytes.NewReader(b)
	}
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: s.key(key), Body: rs, ContentLength: aws.Int64(size)}
	if cond.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", s.wrap("put", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// Copy implements lake.ObjectStore with a server-side CopyObject.
func (s *S3) Copy(ctx context.Context, src, dst string) error {
	source := s.bucket + "/" + (&url.URL{Path: s.prefix + src}).EscapedPath()
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(s.bucket), Key: s.key(dst), CopySource: aws.String(source)})
	return s.wrap("copy "+src+" to", dst, err)
}

// Delete implements lake.ObjectStore.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: s.key(key)})
	if err = s.wrap("delete", key, err); errors.Is(err, lake.ErrNotExist) {
		return nil
	}
	return err
}

// List implements lake.ObjectStore with ListObjectsV2.
func (s *S3) List(ctx context.Context, prefix, startAfter string, fn func(lake.ObjectInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: s.key(prefix)}
	if startAfter != "" {
		in.StartAfter = s.key(startAfter)
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.wrap("list", prefix, err)
		}
		for _, c := range page.Contents {
			k, ok := strings.CutPrefix(aws.ToString(c.Key), s.prefix)
			if !ok || !strings.HasPrefix(k, prefix) || (startAfter != "" && k <= startAfter) {
				continue
			}
			if err := fn(lake.ObjectInfo{Key: k, Size: aws.ToInt64(c.Size)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close implements lake.ObjectStore.
func (s *S3) Close() error { return s.src.Close() }
