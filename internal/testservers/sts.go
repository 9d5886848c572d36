package testservers

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Temporary credentials the fake STS hands out for every role.
const (
	RoleAccessKeyID     = "ASIATESTSERVERSROLE"
	RoleSecretAccessKey = "role-secret-not-to-be-printed"
	RoleSessionToken    = "role-session-token-not-to-be-printed"
)

// STSServer answers the STS AssumeRole query API on 127.0.0.1.
type STSServer struct {
	// URL is the value of an s3:// URL's sts_endpoint= parameter.
	URL  string
	deny bool

	mu      sync.Mutex
	calls   []url.Values
	signers []string // access key ids that signed the calls
}

// STS starts a fake STS. With deny, every AssumeRole is refused with 403
// AccessDenied, as STS refuses a wrong external id.
func STS(t testing.TB, deny bool) *STSServer {
	t.Helper()
	s := &STSServer{deny: deny}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Calls returns the form values of the calls received so far (Action,
// RoleArn, ExternalId, RoleSessionName, …).
func (s *STSServer) Calls() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.calls...)
}

// Signers returns the access key id that signed each call, in order.
func (s *STSServer) Signers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.signers...)
}

func (s *STSServer) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	id, _, _ := strings.Cut(cred, "/")
	s.mu.Lock()
	s.calls = append(s.calls, r.PostForm)
	s.signers = append(s.signers, id)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	esc := func(v string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(v)) // a strings.Builder never fails
		return b.String()
	}
	if s.deny || r.PostForm.Get("Action") != "AssumeRole" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User: arn:aws:iam::999999999999:user/loader is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error>`+
			`<RequestId>testservers-sts-1</RequestId></ErrorResponse>`, esc(r.PostForm.Get("RoleArn")))
		return
	}
	name := esc(r.PostForm.Get("RoleSessionName"))
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/test/%s</Arn>
      <AssumedRoleId>AROATESTSERVERS:%s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>testservers-sts-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, name, name, RoleAccessKeyID, RoleSecretAccessKey, RoleSessionToken,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
}
