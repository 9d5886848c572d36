package watch

import (
	"fmt"
	"strings"

	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/dateprefix"
	"github.com/eventlake/eventlake/loader/source/s3"
)

// route maps notifications about one bucket prefix onto a configured
// source.
type route struct {
	spec loader.SourceSpec
	// url is the source's canonical URL, s3://BUCKET/PREFIX/ without query:
	// what the loader reports in Summary.Outcomes and the catalog stores.
	url    string
	bucket string
	prefix string // "" or ending in '/'
	filter dateprefix.Filter
	dated  bool
}

// newRoutes builds the routes of the S3 sources among specs (other schemes
// are loaded by listings only: no notification names them).
func newRoutes(specs []loader.SourceSpec) ([]*route, error) {
	var routes []*route
	for _, sp := range specs {
		u, err := source.Parse(sp.URL)
		if err != nil {
			return nil, err
		}
		if u.Scheme != "s3" {
			continue
		}
		bucket, prefix, _, err := s3.ParseURL(u)
		if err != nil {
			return nil, err
		}
		// The same normalisation as the S3 source: the prefix is a folder.
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		routes = append(routes, &route{
			spec:   sp,
			url:    "s3://" + bucket + "/" + prefix,
			bucket: bucket,
			prefix: prefix,
			filter: dateprefix.Filter{Since: sp.Since, Until: sp.Until},
			dated:  !sp.Since.IsZero() || !sp.Until.IsZero(),
		})
	}
	for i, a := range routes {
		for _, b := range routes[:i] {
			if a.url == b.url {
				return nil, fmt.Errorf("sources %s and %s are the same S3 location %s: notifications could not tell them apart", source.Redact(b.spec.URL), source.Redact(a.spec.URL), a.url)
			}
		}
	}
	return routes, nil
}

// match finds the source a notification belongs to: the one of the
// object's bucket with the longest prefix the key starts with (sources may
// nest: s3://b/ and s3://b/jwo/). It returns the key relative to the source.
func match(routes []*route, bucket, key string) (*route, string, bool) {
	var best *route
	for _, r := range routes {
		if r.bucket == bucket && strings.HasPrefix(key, r.prefix) && len(key) > len(r.prefix) &&
			(best == nil || len(r.prefix) > len(best.prefix)) {
			best = r
		}
	}
	if best == nil {
		return nil, "", false
	}
	return best, key[len(best.prefix):], true
}
