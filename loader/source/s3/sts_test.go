package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/loader/source"
)

const (
	roleKeyID  = testservers.RoleAccessKeyID
	roleSecret = testservers.RoleSecretAccessKey
	roleToken  = testservers.RoleSessionToken
	roleARN    = "arn:aws:iam::123456789012:role/dataplatform-consumer-tn-376a"
)

func newFakeSTS(t *testing.T, deny bool) *testservers.STSServer { return testservers.STS(t, deny) }

func TestAssumeRole(t *testing.T) {
	for _, sessionName := range []string{"", "nightly-load"} {
		t.Run("session="+sessionName, func(t *testing.T) {
			setEnv(t)
			srv := newServer(t)
			sts := newFakeSTS(t, false)
			srv.createBucket(t, "pismo")
			srv.put(t, "pismo", "main_stream/2024/02/01/09/batch", []byte(`{"event_id":"1"}`))
			q := fmt.Sprintf("role=%s&external_id=ext-id-42&sts_endpoint=%s", url.QueryEscape(roleARN), url.QueryEscape(sts.URL))
			if sessionName != "" {
				q += "&session_name=" + sessionName
			}
			raw := fmt.Sprintf("s3://pismo/main_stream/?region=us-east-1&endpoint=%s&path_style=true&%s", url.QueryEscape(srv.URL), q)
			s, err := source.Open(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			var keys []string
			if err := s.List(ctx, source.ListOptions{}, func(o source.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0] != "2024/02/01/09/batch" {
				t.Fatalf("listed %q", keys)
			}
			rc, _, err := s.Open(ctx, keys[0])
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(data) != `{"event_id":"1"}` {
				t.Fatalf("read %q, %v", data, err)
			}
			if _, err := s.Stat(ctx, keys[0]); err != nil {
				t.Fatal(err)
			}

			st := srv.stats()
			if len(st.accessKeys) != 1 || st.accessKeys[roleKeyID] != st.requests {
				t.Errorf("S3 requests signed by %v, want all %d by the assumed role's %s", st.accessKeys, st.requests, roleKeyID)
			}
			if st.tokens[roleToken] != st.requests {
				t.Errorf("S3 requests carried session tokens %v, want the role's on all %d", st.tokens, st.requests)
			}
			if len(sts.Calls()) != 1 {
				t.Fatalf("%d AssumeRole calls, want 1 (credentials are cached)", len(sts.Calls()))
			}
			call := sts.Calls()[0]
			wantName := sessionName
			if wantName == "" {
				wantName = DefaultSessionName
			}
			for k, want := range map[string]string{"Action": "AssumeRole", "RoleArn": roleARN, "ExternalId": "ext-id-42", "RoleSessionName": wantName} {
				if got := call.Get(k); got != want {
					t.Errorf("AssumeRole %s = %q, want %q", k, got, want)
				}
			}
			if sts.Signers()[0] != baseKeyID {
				t.Errorf("AssumeRole signed by %q, want the base credentials %q", sts.Signers()[0], baseKeyID)
			}
		})
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	sts := newFakeSTS(t, true)
	srv.createBucket(t, "pismo")
	s := openSource(t, srv, "pismo", "", fmt.Sprintf("role=%s&external_id=ext-secret-77&sts_endpoint=%s", url.QueryEscape(roleARN), url.QueryEscape(sts.URL)), nil)
	err := s.List(context.Background(), source.ListOptions{}, func(source.Object) error { return nil })
	if err == nil {
		t.Fatal("List succeeded although AssumeRole was refused")
	}
	msg := err.Error()
	for _, want := range []string{"sts:AssumeRole", roleARN} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	for _, secret := range []string{"ext-secret-77", baseSecret, roleSecret} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains a secret", msg)
		}
	}
	if strings.Contains(msg, "s3:ListBucket") {
		t.Errorf("error %q blames s3:ListBucket for an STS refusal", msg)
	}
	if n := srv.stats().requests; n != 0 {
		t.Errorf("S3 got %d requests without credentials", n)
	}
}
