package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/eventlake/eventlake/loader/source"
)

// statusOf is the HTTP status of a failed request, 0 if none was received.
func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// headerOf is a response header of a failed request.
func headerOf(err error, name string) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

func codeOf(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// isNotFound recognises a missing object: NoSuchKey from GET, a bodiless 404
// from HEAD (the SDK calls it NotFound). A missing bucket is not a missing
// object.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	code, _ := codeOf(err)
	return code == "NoSuchKey" || code == "NotFound"
}

// credentialCodes are 403 answers about the credentials themselves rather
// than about what they may do.
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId": true, "SignatureDoesNotMatch": true, "ExpiredToken": true,
	"InvalidToken": true, "TokenRefreshRequired": true, "RequestTimeTooSkewed": true,
}

func isAccessDenied(err error) bool {
	code, _ := codeOf(err)
	if code == "AccessDenied" || strings.HasPrefix(code, "KMS.") {
		return true
	}
	return statusOf(err) == http.StatusForbidden && !credentialCodes[code]
}

// mentionsKMS tells whether S3's refusal is about the KMS key. S3 says so in
// the message ("... not authorized to perform: kms:Decrypt ...", "The
// ciphertext refers to a customer master key that does not exist ...") or
// in a KMS.* code.
func mentionsKMS(err error) bool {
	code, msg := codeOf(err)
	m := strings.ToLower(msg)
	return strings.HasPrefix(code, "KMS.") || strings.Contains(m, "kms") ||
		strings.Contains(m, "ciphertext") || strings.Contains(m, "master key")
}

// assumeRoleFailed tells whether getting the assumed role's credentials
// failed, rather than the S3 request itself.
func assumeRoleFailed(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*smithy.OperationError); ok && op.ServiceID == "STS" {
			return true
		}
	}
	return false
}

// hints adds advice the SDK's message lacks: the bucket's real region when
// S3 names it, and what an AssumeRole failure needs.
func (s *Source) hints(err error) string {
	var h []string
	if r := headerOf(err, "x-amz-bucket-region"); r != "" && r != s.region {
		h = append(h, fmt.Sprintf("the bucket is in region %s: add region=%s to the URL", r, r))
	}
	if assumeRoleFailed(err) {
		h = append(h, fmt.Sprintf("assuming role %s failed: the caller needs sts:AssumeRole on it, and its trust policy must accept the caller (and the external_id, when it requires one)", s.role))
	}
	if len(h) == 0 {
		return ""
	}
	return " (" + strings.Join(h, "; ") + ")"
}

// listError maps a ListObjectsV2 failure to a message naming the bucket
// and what is missing.
func (s *Source) listError(opts source.ListOptions, err error) error {
	where := s.URL() + opts.Prefix
	err = s.breaker.GaveUp(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3 source %s: listing: %w", where, err)
	}
	hint := s.hints(err)
	code, _ := codeOf(err)
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("s3 source %s: bucket %q does not exist%s: %w", where, s.bucket, hint, err)
	case !assumeRoleFailed(err) && isAccessDenied(err):
		return fmt.Errorf("s3 source %s: listing denied: the credentials need s3:ListBucket on arn:aws:s3:::%s%s: %w", where, s.bucket, hint, err)
	}
	return fmt.Errorf("s3 source %s: listing%s: %w", where, hint, err)
}

// objectError maps a GetObject/HeadObject failure: not found onto
// source.ErrNotFound, access denied onto what permission is missing (with a
// HEAD to learn whether the object is SSE-KMS encrypted: HEAD needs only
// s3:GetObject, not kms:Decrypt).
func (s *Source) objectError(ctx context.Context, key, op string, err error) error {
	u := s.objectURL(key)
	err = s.breaker.GaveUp(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3 source %s: %s: %w", u, op, err)
	}
	if isNotFound(err) {
		return fmt.Errorf("s3 source %s: %w", u, source.ErrNotFound)
	}
	hint := s.hints(err)
	code, _ := codeOf(err)
	if code == "NoSuchBucket" {
		return fmt.Errorf("s3 source %s: bucket %q does not exist%s: %w", u, s.bucket, hint, err)
	}
	if assumeRoleFailed(err) || !isAccessDenied(err) {
		return fmt.Errorf("s3 source %s: %s%s: %w", u, op, hint, err)
	}
	if mentionsKMS(err) {
		return fmt.Errorf("s3 source %s: %s denied by KMS: the object is SSE-KMS encrypted and the credentials need kms:Decrypt on the bucket's KMS key%s: %w", u, op, hint, err)
	}
	if op == "open" {
		head, herr := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
		if herr == nil && strings.HasPrefix(string(head.ServerSideEncryption), "aws:kms") {
			keyID := aws.ToString(head.SSEKMSKeyId)
			if keyID == "" {
				keyID = "the bucket's KMS key"
			}
			return fmt.Errorf("s3 source %s: open denied: the object is SSE-KMS encrypted (%s) and the credentials need kms:Decrypt on %s%s: %w",
				u, head.ServerSideEncryption, keyID, hint, err)
		}
	}
	return fmt.Errorf("s3 source %s: %s denied: the credentials need s3:GetObject on arn:aws:s3:::%s/%s%s: %w", u, op, s.bucket, s.prefix+key, hint, err)
}
