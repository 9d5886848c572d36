package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// The AWS SDK's own logger (e.g. "falling back to IMDSv1" when the instance
// metadata service refuses a token) goes to eventlake's log at debug level,
// never straight to stderr.
func TestAWSSDKLogsGoToTheLoggerAtDebug(t *testing.T) {
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer refuse.Close()
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": home + "/none", "AWS_SHARED_CREDENTIALS_FILE": home + "/none", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_EC2_METADATA_DISABLED": "",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": refuse.URL, "AWS_REGION": "us-east-1", "EVENTLAKE_DEBUG": "1",
	} {
		t.Setenv(k, v)
	}
	// The SDK's default logger writes to the process's stderr.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	captured := make(chan string)
	go func() { b, _ := io.ReadAll(r); captured <- string(b) }()
	code, _, errOut := runCLI(t, "load", "--lake", t.TempDir(), "-q", "s3://bucket/prefix/?endpoint="+refuse.URL+"&path_style=true")
	os.Stderr = saved
	w.Close()
	raw := <-captured
	if code == 0 {
		t.Fatalf("load without credentials succeeded:\n%s", errOut)
	}
	if strings.Contains(raw, "IMDSv1") {
		t.Errorf("the SDK wrote to stderr directly: %q", raw)
	}
	if !strings.Contains(errOut, "IMDSv1") || !strings.Contains(errOut, "DEBUG") {
		t.Errorf("the SDK's message is not in eventlake's log at debug:\n%s", errOut)
	}
}
