package sftp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/sourcetest"
)

// fixture is a server, a trusted client key and a known_hosts file.
type fixture struct {
	srv        *testServer
	key        clientKey
	knownHosts string
}

func newFixture(t *testing.T, opts ...sftp.ServerOption) fixture {
	t.Helper()
	dir := t.TempDir()
	// Keep the caller's home folder and agent out of the tests.
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv(PassphraseEnv, "")
	key := newClientKey(t, dir)
	srv := newTestServer(t, key.pub, opts...)
	kh := filepath.Join(dir, "known_hosts")
	writeKnownHosts(t, kh, srv.addr, srv.hostKey.PublicKey())
	return fixture{srv: srv, key: key, knownHosts: kh}
}

// url is the source URL for root, authenticating with the fixture's key.
func (f fixture) url(root string) string {
	return sourceURL(f.srv.addr, root, map[string]string{"key": f.key.file, "known_hosts": f.knownHosts})
}

func (f fixture) open(t *testing.T, root string) source.Source {
	t.Helper()
	s, err := source.Open(context.Background(), f.url(root))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func listKeys(t *testing.T, s source.Source, o source.ListOptions) []string {
	t.Helper()
	var got []string
	if err := s.List(context.Background(), o, func(obj source.Object) error {
		got = append(got, obj.Key)
		return nil
	}); err != nil {
		t.Fatalf("List(%+v): %v", o, err)
	}
	return got
}

func TestConformance(t *testing.T) {
	f := newFixture(t)
	sourcetest.Run(t, func(t *testing.T) sourcetest.Backend {
		dir := t.TempDir()
		return sourcetest.Backend{
			Put: func(t *testing.T, key string, data []byte) {
				writeFile(t, filepath.Join(dir, filepath.FromSlash(key)), data)
			},
			Open: func(t *testing.T) source.Source {
				s, err := source.Open(context.Background(), f.url(dir))
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		}
	}, sourcetest.Options{ManyObjects: 300})
}

func TestURL(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	s := f.open(t, dir)
	host, port, _ := net.SplitHostPort(f.srv.addr)
	want := "sftp://tester@" + host + ":" + port + dir + "/"
	if got := s.URL(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
}

// TestListMatchesBruteForce compares pruned listings of a random tree with
// filtering the full key set, for many Prefix/StartAfter pairs.
func TestListMatchesBruteForce(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "a-", "a.", "0", "ab"}
	var all []string
	seen := map[string]bool{}
	for len(all) < 120 {
		depth := 1 + r.IntN(3)
		var segs []string
		for i := 0; i < depth; i++ {
			segs = append(segs, alphabet[r.IntN(len(alphabet))])
		}
		k := strings.Join(segs, "/")
		// A key cannot also be a folder of another key on a file system.
		clash := seen[k]
		for o := range seen {
			if strings.HasPrefix(o, k+"/") || strings.HasPrefix(k, o+"/") {
				clash = true
			}
		}
		if clash {
			continue
		}
		seen[k] = true
		all = append(all, k)
		writeFile(t, filepath.Join(dir, filepath.FromSlash(k)), []byte(k))
	}
	writeFile(t, filepath.Join(dir, ".hidden", "x"), []byte("hidden"))
	writeFile(t, filepath.Join(dir, "q", ".swp"), []byte("hidden")) // a folder with only hidden files
	sort.Strings(all)
	s := f.open(t, dir)
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != fmt.Sprint(all) {
		t.Fatalf("full listing:\n got %q\nwant %q", got, all)
	}
	probes := []string{"", "a", "a/", "a-", "a-/", "a.", "a/b", "a/a-/", "ab/", "b", "b/0/", "0", "zz", "a/b/a"}
	probes = append(probes, all[r.IntN(len(all))], all[r.IntN(len(all))], all[r.IntN(len(all))])
	for _, prefix := range probes {
		for _, after := range probes {
			var want []string
			for _, k := range all {
				if strings.HasPrefix(k, prefix) && (after == "" || k > after) {
					want = append(want, k)
				}
			}
			o := source.ListOptions{Prefix: prefix, StartAfter: after}
			if got := listKeys(t, s, o); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("List(%+v):\n got %q\nwant %q", o, got, want)
			}
		}
	}
}

func TestSymlinks(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "real", "f"), []byte("data"))
	for _, l := range []struct{ target, name string }{
		{filepath.Join(dir, "real", "f"), "link-to-file"},
		{filepath.Join(dir, "real"), "link-to-folder"},
		{filepath.Join(dir, "nowhere"), "dangling"},
	} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Skip("symbolic links not supported:", err)
		}
	}
	s := f.open(t, dir)
	got := listKeys(t, s, source.ListOptions{})
	if want := []string{"link-to-file", "real/f"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listing = %q, want %q (links to files followed, to folders and nowhere skipped)", got, want)
	}
}

func TestHostKeyUnknown(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	fp := ssh.FingerprintSHA256(f.srv.hostKey.PublicKey())

	// known_hosts trusts another host only.
	other := filepath.Join(dir, "other_known_hosts")
	writeKnownHosts(t, other, "example.com:22", f.srv.hostKey.PublicKey())
	_, err := source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": f.key.file, "known_hosts": other}))
	if err == nil || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), f.srv.addr) || !strings.Contains(err.Error(), "ssh-keyscan") {
		t.Errorf("unknown host: error %v; want it to name %s, fingerprint %s and how to add it", err, f.srv.addr, fp)
	}

	// No known_hosts at all (the default file is absent in the test HOME).
	_, err = source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": f.key.file}))
	if err == nil || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("no known_hosts: error %v; want it to name fingerprint %s and known_hosts", err, fp)
	}

	// An explicitly named known_hosts file that does not exist.
	missing := filepath.Join(dir, "missing_known_hosts")
	_, err = source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": f.key.file, "known_hosts": missing}))
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing known_hosts file: error %v; want it to name %s", err, missing)
	}
}

func TestHostKeyMismatch(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(crand.Reader)
	impostor, _ := ssh.NewPublicKey(priv.Public())
	kh := filepath.Join(dir, "known_hosts")
	writeKnownHosts(t, kh, f.srv.addr, impostor)
	_, err := source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": f.key.file, "known_hosts": kh}))
	fp := ssh.FingerprintSHA256(f.srv.hostKey.PublicKey())
	if err == nil || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), "MISMATCH") || !strings.Contains(err.Error(), "ssh-keygen -R") {
		t.Errorf("changed host key: error %v; want a mismatch naming fingerprint %s and how to replace it", err, fp)
	}
}

// TestHostKeyAlgorithms connects to a server holding an RSA and an ed25519
// host key while known_hosts knows only one of them: the client must ask
// for the known one rather than fail on the other.
func TestHostKeyAlgorithms(t *testing.T) {
	dir := t.TempDir()
	key := newClientKey(t, dir)
	rsaKey, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, _ := ssh.NewSignerFromKey(rsaKey)
	_, edKey, _ := ed25519.GenerateKey(crand.Reader)
	edSigner, _ := ssh.NewSignerFromKey(edKey)
	srv := newTestServerKeys(t, key.pub, []ssh.Signer{edSigner, rsaSigner})
	for _, known := range []ssh.Signer{rsaSigner, edSigner} {
		kh := filepath.Join(dir, "known_hosts_"+known.PublicKey().Type())
		writeKnownHosts(t, kh, srv.addr, known.PublicKey())
		s, err := source.Open(context.Background(), sourceURL(srv.addr, dir, map[string]string{"key": key.file, "known_hosts": kh}))
		if err != nil {
			t.Errorf("known_hosts with only the %s key: %v", known.PublicKey().Type(), err)
			continue
		}
		s.Close()
	}
}

func TestWrongClientKey(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	stranger := newClientKey(t, filepath.Join(dir, "stranger"))
	_, err := source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": stranger.file, "known_hosts": f.knownHosts}))
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), stranger.file) {
		t.Errorf("wrong key: error %v; want a refused login naming %s", err, stranger.file)
	}
	missing := filepath.Join(dir, "nokey")
	_, err = source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": missing, "known_hosts": f.knownHosts}))
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing key file: error %v; want it to name %s", err, missing)
	}
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestInsecureIgnoreHostKey(t *testing.T) {
	f := newFixture(t)
	var logs lockedBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x"), []byte("x"))
	s, err := source.Open(context.Background(), sourceURL(f.srv.addr, dir, map[string]string{"key": f.key.file, "insecure_ignore_host_key": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fp := ssh.FingerprintSHA256(f.srv.hostKey.PublicKey())
	if got := strings.Count(logs.String(), "NOT VERIFIED"); got != 1 || !strings.Contains(logs.String(), fp) || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("after one connection: %d warnings, log:\n%s\nwant one WARN naming %s", got, logs.String(), fp)
	}
	f.srv.dropAll()
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[x]" {
		t.Errorf("listing after reconnect = %q", got)
	}
	if got := strings.Count(logs.String(), "NOT VERIFIED"); got != 2 {
		t.Errorf("after a reconnection: %d warnings, want 2 (one per connection)", got)
	}
}

func TestPasswordRefused(t *testing.T) {
	for _, u := range []string{
		"sftp://tester:hunter2@127.0.0.1:1/data/",
		"sftp://tester@127.0.0.1:1/data/?password=hunter2",
	} {
		_, err := source.Open(context.Background(), u)
		if err == nil || !strings.Contains(err.Error(), "key") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(password URL): error %v; want a refusal that points to SSH keys and does not echo the password", err)
		}
	}
}

func TestBadURLs(t *testing.T) {
	cases := []struct{ url, want string }{
		{"sftp://127.0.0.1:1/data/", "missing user"},
		{"sftp://tester@127.0.0.1:99999/data/", "invalid port"},
		{"sftp://tester@127.0.0.1:1/data/?knownhosts=x", `unknown parameter "knownhosts"`},
		{"sftp://tester@127.0.0.1:1/data/?insecure_ignore_host_key=yes", "insecure_ignore_host_key"},
	}
	for _, c := range cases {
		_, err := source.Open(context.Background(), c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s) error = %v, want it to contain %q", c.url, err, c.want)
		}
	}
}

func TestEncryptedKey(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x"), []byte("x"))
	enc := filepath.Join(t.TempDir(), "id_encrypted")
	f.key.write(t, enc, "correct horse")
	u := sourceURL(f.srv.addr, dir, map[string]string{"key": enc, "known_hosts": f.knownHosts})

	_, err := source.Open(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), PassphraseEnv) || !strings.Contains(err.Error(), enc) {
		t.Errorf("no passphrase: error %v; want it to name %s and %s", err, enc, PassphraseEnv)
	}
	t.Setenv(PassphraseEnv, "wrong")
	_, err = source.Open(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "correct horse") {
		t.Errorf("wrong passphrase: error %v; want it to say the passphrase is wrong", err)
	}
	t.Setenv(PassphraseEnv, "correct horse")
	s, err := source.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
	defer s.Close()
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[x]" {
		t.Errorf("listing = %q", got)
	}
}

// TestDefaults checks ~/.ssh/id_ed25519 and ~/.ssh/known_hosts are used
// when the URL names neither.
func TestDefaults(t *testing.T) {
	f := newFixture(t)
	home := os.Getenv("HOME")
	f.key.write(t, filepath.Join(home, ".ssh", "id_ed25519"), "")
	writeKnownHosts(t, filepath.Join(home, ".ssh", "known_hosts"), f.srv.addr, f.srv.hostKey.PublicKey())
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x"), []byte("x"))
	s, err := source.Open(context.Background(), sourceURL(f.srv.addr, dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[x]" {
		t.Errorf("listing = %q", got)
	}
}

func TestAgentFallback(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x"), []byte("x"))
	u := sourceURL(f.srv.addr, dir, map[string]string{"known_hosts": f.knownHosts})

	// No key file and no agent: a clear error.
	_, err := source.Open(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") || !strings.Contains(err.Error(), "key=") {
		t.Errorf("no key, no agent: error %v; want it to explain key= and ssh-agent", err)
	}

	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: f.key.priv}); err != nil {
		t.Fatal(err)
	}
	sock, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sock)
	ln, err := net.Listen("unix", filepath.Join(sock, "s"))
	if err != nil {
		t.Skip("unix sockets unavailable:", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(sock, "s"))
	s, err := source.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("with agent: %v", err)
	}
	defer s.Close()
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[x]" {
		t.Errorf("listing = %q", got)
	}
}

func TestRelativeRoot(t *testing.T) {
	home := t.TempDir()
	f := newFixture(t, sftp.WithServerWorkingDirectory(home))
	writeFile(t, filepath.Join(home, "top"), []byte("t"))
	writeFile(t, filepath.Join(home, "sub", "inner"), []byte("i"))
	cases := []struct {
		root string
		want []string
	}{
		{"/~", []string{"sub/inner", "top"}},
		{"/~/sub", []string{"inner"}},
		{"", []string{"sub/inner", "top"}},
	}
	for _, c := range cases {
		s := f.open(t, c.root)
		if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("root %q: listing = %q, want %q", c.root, got, c.want)
		}
	}
}

func TestMissingRoot(t *testing.T) {
	f := newFixture(t)
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := source.Open(context.Background(), f.url(missing))
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing root: error %v; want it to name %s", err, missing)
	}
}

func TestReconnect(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a"), []byte("aaa"))
	writeFile(t, filepath.Join(dir, "b/c"), []byte("ccc"))
	s := f.open(t, dir)
	ctx := context.Background()
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[a b/c]" {
		t.Fatalf("listing = %q", got)
	}

	f.srv.dropAll()
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[a b/c]" {
		t.Errorf("listing after the server dropped the connection = %q", got)
	}
	f.srv.dropAll()
	if o, err := s.Stat(ctx, "b/c"); err != nil || o.Size != 3 {
		t.Errorf("Stat after drop = %+v, %v", o, err)
	}
	f.srv.dropAll()
	rc, _, err := s.Open(ctx, "a")
	if err != nil {
		t.Fatalf("Open after drop: %v", err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != "aaa" {
		t.Errorf("read after drop = %q, %v", data, err)
	}
	if got := f.srv.accepted.Load(); got != 4 {
		t.Errorf("server accepted %d connections, want 4 (one, then one per drop)", got)
	}
}

// TestReconnectMidListing drops the connection from inside the listing
// callback: the listing must carry on after the last key delivered, with
// every key exactly once.
func TestReconnectMidListing(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	var want []string
	for d := 0; d < 6; d++ {
		for i := 0; i < 3; i++ {
			k := fmt.Sprintf("d%d/f%d", d, i)
			want = append(want, k)
			writeFile(t, filepath.Join(dir, filepath.FromSlash(k)), []byte(k))
		}
	}
	s := f.open(t, dir)
	var got []string
	err := s.List(context.Background(), source.ListOptions{}, func(o source.Object) error {
		got = append(got, o.Key)
		if len(got) == 5 {
			f.srv.dropAll()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listing across a drop:\n got %q\nwant %q", got, want)
	}
	if n := f.srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

// TestKeepalive checks that a connection whose server stops answering is
// closed by the keepalive probes, and the next operation redials.
func TestKeepalive(t *testing.T) {
	defer func(every, wait time.Duration) { keepaliveInterval, keepaliveTimeout = every, wait }(keepaliveInterval, keepaliveTimeout)
	keepaliveInterval, keepaliveTimeout = 10*time.Millisecond, 100*time.Millisecond
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x"), []byte("x"))
	f.srv.hang.Store(true)
	s := f.open(t, dir).(*Source)
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	select {
	case <-c.dead:
	case <-time.After(time.Minute):
		t.Fatal("connection to an unresponsive server still open after a minute")
	}
	f.srv.hang.Store(false)
	if got := listKeys(t, s, source.ListOptions{}); fmt.Sprint(got) != "[x]" {
		t.Errorf("listing after the keepalive closed the connection = %q", got)
	}
	if n := f.srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

// bigFile writes n pseudo-random bytes.
func bigFile(t *testing.T, p string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	writeFile(t, p, data)
	return data
}

// TestResumeRead drops the connection in the middle of a read: the reader
// reconnects, re-opens and continues where it was.
func TestResumeRead(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	want := bigFile(t, filepath.Join(dir, "big"), 3*readBuffer+123)
	s := f.open(t, dir)
	rc, obj, err := s.Open(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	f.srv.dropAll() // the rest of the first buffer is already here
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read across a dropped connection: %v", err)
	}
	if got := append(head, rest...); !bytes.Equal(got, want) || obj.Size != int64(len(want)) {
		t.Errorf("read %d bytes (listed %d), want the %d bytes written", len(got), obj.Size, len(want))
	}
	if n := f.srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2 (one reconnection)", n)
	}
}

func TestChangedWhileReading(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "big")
	bigFile(t, p, 2*readBuffer)
	s := f.open(t, dir)
	rc, _, err := s.Open(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	f.srv.dropAll()
	writeFile(t, p, []byte("replaced by a shorter file"))
	_, err = io.ReadAll(rc)
	if !errors.Is(err, source.ErrObjectChanged) || !strings.Contains(err.Error(), "big") {
		t.Errorf("read of a file replaced during a reconnection: error %v, want source.ErrObjectChanged naming the object", err)
	}
}

// TestAppendedWhileOpen checks the final size/mtime check: bytes appended
// after the file was opened are not silently mixed in.
func TestAppendedWhileOpen(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "growing")
	writeFile(t, p, []byte("line 1\n"))
	s := f.open(t, dir)
	rc, obj, err := s.Open(context.Background(), "growing")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString("line 2\n")
	fh.Close()
	data, err := io.ReadAll(rc)
	if !errors.Is(err, source.ErrObjectChanged) {
		t.Errorf("read of a file appended to while open: %q, %v; want source.ErrObjectChanged", data, err)
	}
	if int64(len(data)) > obj.Size {
		t.Errorf("read %d bytes, more than the %d the file had when opened", len(data), obj.Size)
	}
}

func TestEmptyFileAndCloseTwice(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), nil)
	s := f.open(t, dir)
	rc, obj, err := s.Open(context.Background(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if err != nil || len(data) != 0 || obj.Size != 0 || obj.Version != "size=0,mtime="+fmt.Sprint(obj.ModTime.Unix()) {
		t.Errorf("empty file: %q, %v, %+v", data, err, obj)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInvalidKeysAndFolders(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "folder", "x"), []byte("x"))
	s := f.open(t, dir)
	ctx := context.Background()
	for _, k := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./x"} {
		if _, _, err := s.Open(ctx, k); err == nil || !strings.Contains(err.Error(), "invalid key") {
			t.Errorf("Open(%q) error = %v, want invalid key", k, err)
		}
	}
	if _, err := s.Stat(ctx, "folder"); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Stat(folder) = %v, want ErrNotFound (folders are not objects)", err)
	}
	if _, _, err := s.Open(ctx, "folder"); err == nil {
		t.Errorf("Open(folder) succeeded, want an error")
	}
}

func TestClosedSource(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	s, err := source.Open(context.Background(), f.url(dir))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = s.List(context.Background(), source.ListOptions{}, func(source.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("List after Close: %v, want a closed error", err)
	}
}
