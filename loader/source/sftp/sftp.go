// Package sftp reads objects from an SFTP server (Pismo's SFTP delivery, or
// any OpenSSH server). It registers the "sftp" scheme:
//
//	sftp://USER@HOST:PORT/ROOT/PATH/?key=~/.ssh/id_rsa&known_hosts=~/.ssh/known_hosts
//
// Login is by SSH key only: key= names a private key file (default
// ~/.ssh/id_rsa, then ~/.ssh/id_ed25519); an encrypted key is unlocked with
// the passphrase in the EVENTLAKE_SFTP_PASSPHRASE environment variable. When
// no key file is given or found, a running ssh-agent (SSH_AUTH_SOCK) is used.
// A password in the URL is refused.
//
// The server's host key is checked against known_hosts (default
// ~/.ssh/known_hosts); an unknown or changed key is refused with its SHA256
// fingerprint and instructions. insecure_ignore_host_key=true skips the check
// and logs a warning on every connection.
//
// The URL path is the root folder, absolute on the server; a path starting
// with /~/ (or no path) is relative to the login folder. Keys are
// '/'-separated paths below the root; the listing is recursive, in byte-wise
// key order, and skips names starting with '.'. An object's version is its
// size and modification time.
//
// One SSH connection is shared by all operations (SFTP multiplexes
// requests). When it drops, the next operation redials once; a read that
// fails mid-object re-opens the file and continues at the offset reached, if
// the file's size and mtime are unchanged.
package sftp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/eventlake/eventlake/loader/source"
)

func init() {
	source.Register("sftp", func(ctx context.Context, u *url.URL) (source.Source, error) {
		o, err := optionsFromURL(u)
		if err != nil {
			return nil, err
		}
		return New(ctx, o)
	})
}

// PassphraseEnv is the environment variable holding the passphrase of an
// encrypted private key.
const PassphraseEnv = "EVENTLAKE_SFTP_PASSPHRASE"

// Tunables. Variables rather than constants so tests can shorten them.
var (
	// dialTimeout bounds the TCP connect and, separately, the SSH handshake
	// plus SFTP start-up.
	dialTimeout = 10 * time.Second
	// keepaliveInterval is how often an idle connection is probed, and
	// keepaliveTimeout how long a probe may go unanswered before the
	// connection is declared dead (SFTP requests have no timeout of their
	// own: without probes a silently dropped link would hang reads).
	keepaliveInterval = 30 * time.Second
	keepaliveTimeout  = 30 * time.Second
	// readBuffer is the per-object read size: large reads are split by the
	// client into 32 KiB requests sent concurrently, which is what makes
	// SFTP fast over long round trips.
	readBuffer = 1 << 20
)

// Options configure an SFTP source.
type Options struct {
	// User is the login name (required).
	User string
	// Host is the server name or address; Port defaults to 22.
	Host string
	Port int
	// Root is the root folder: absolute, or relative to the login folder
	// when empty or starting with "~/" or "/~/".
	Root string
	// KeyFile is the private key file; empty: ~/.ssh/id_rsa, then
	// ~/.ssh/id_ed25519, then ssh-agent.
	KeyFile string
	// KnownHostsFile lists trusted host keys; empty: ~/.ssh/known_hosts.
	KnownHostsFile string
	// InsecureIgnoreHostKey skips host key verification (logged loudly).
	InsecureIgnoreHostKey bool
	// Breaker is the source's circuit breaker (default: a new one with the
	// default thresholds, see source.Breaker): once it has opened, no
	// operation dials again.
	Breaker *source.Breaker
}

// knownParams are the URL query parameters the "sftp" scheme understands.
var knownParams = []string{"key", "known_hosts", "insecure_ignore_host_key"}

func optionsFromURL(u *url.URL) (Options, error) {
	host := u.Hostname()
	var user string
	if u.User != nil {
		user = u.User.Username()
	}
	// Never print the URL as given: it may carry a password.
	name := "sftp://" + host + u.EscapedPath()
	if user != "" {
		name = "sftp://" + url.User(user).String() + "@" + host + u.EscapedPath()
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return Options{}, fmt.Errorf("sftp source %s: passwords are not supported; log in with an SSH key (key=FILE, or ssh-agent) and remove the password from the URL", name)
		}
	}
	q := u.Query()
	for k := range q {
		if !contains(knownParams, k) {
			if strings.EqualFold(k, "password") || strings.EqualFold(k, "passphrase") {
				return Options{}, fmt.Errorf("sftp source %s: secrets are not accepted in the URL; log in with an SSH key (key=FILE) and put its passphrase in %s", name, PassphraseEnv)
			}
			return Options{}, fmt.Errorf("sftp source %s: unknown parameter %q (known: %s)", name, k, strings.Join(knownParams, ", "))
		}
	}
	o := Options{
		User:           user,
		Host:           host,
		Root:           u.Path,
		KeyFile:        q.Get("key"),
		KnownHostsFile: q.Get("known_hosts"),
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Options{}, fmt.Errorf("sftp source %s: invalid port %q", name, p)
		}
		o.Port = n
	}
	if v := q.Get("insecure_ignore_host_key"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Options{}, fmt.Errorf("sftp source %s: insecure_ignore_host_key=%q: want true or false", name, v)
		}
		o.InsecureIgnoreHostKey = b
	}
	return o, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Source is a folder on an SFTP server.
type Source struct {
	url      string // URL(): no query, no password
	user     string
	addr     string // host:port
	root     string // absolute folder on the server, resolved at New
	hostKeys hostKeyChecker
	signers  []ssh.Signer // from key files; nil: use ssh-agent
	keyDesc  string       // what we log in with, for error messages

	breaker *source.Breaker

	mu     sync.Mutex
	cur    *conn // nil: not connected
	closed bool
}

// conn is one SSH connection carrying one SFTP session.
type conn struct {
	ssh      *ssh.Client
	sftp     *sftp.Client
	dead     chan struct{} // closed when the SSH connection has ended
	stop     chan struct{} // closed by close()
	stopOnce sync.Once

	// Keepalive timing, copied from the tunables when dialing.
	probeEvery, probeWait time.Duration
}

func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

func (c *conn) close() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.ssh.Close()
		c.sftp.Close()
	})
}

// New connects to the server, checks that the root folder exists and
// returns the source. Authentication and host key problems are reported
// here.
func New(ctx context.Context, o Options) (*Source, error) {
	if o.Host == "" {
		return nil, errors.New("sftp source: missing host (sftp://USER@HOST:PORT/PATH/)")
	}
	if o.User == "" {
		return nil, fmt.Errorf("sftp source sftp://%s: missing user name (sftp://USER@HOST:PORT/PATH/)", o.Host)
	}
	if o.Port == 0 {
		o.Port = 22
	}
	host := strings.ToLower(o.Host)
	s := &Source{user: o.User, addr: net.JoinHostPort(host, strconv.Itoa(o.Port)), breaker: o.Breaker}
	if s.breaker == nil {
		s.breaker = &source.Breaker{}
	}

	// The URL always spells out the port, so that the catalog knows one
	// source by one name whether or not ":22" was written.
	rootPath := "/" + strings.Trim(o.Root, "/")
	if rootPath != "/" {
		rootPath += "/"
	}
	s.url = (&url.URL{Scheme: "sftp", User: url.User(o.User), Host: s.addr, Path: rootPath}).String()

	var err error
	if o.InsecureIgnoreHostKey {
		s.hostKeys = hostKeyChecker{insecure: true, addr: s.addr}
	} else if s.hostKeys, err = newHostKeyChecker(o.KnownHostsFile, s.addr); err != nil {
		return nil, fmt.Errorf("sftp source %s: %w", s.url, err)
	}
	if s.signers, s.keyDesc, err = loadKeys(o.KeyFile); err != nil {
		return nil, fmt.Errorf("sftp source %s: %w", s.url, err)
	}

	c, err := s.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("sftp source %s: %w", s.url, err)
	}
	// Resolve the root once: reconnections then use the same folder.
	root := strings.Trim(o.Root, "/")
	if root == "" || root == "~" || strings.HasPrefix(root, "~/") {
		wd, err := c.sftp.Getwd()
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sftp source %s: finding the login folder: %w", s.url, err)
		}
		root = path.Join(wd, strings.TrimPrefix(strings.TrimPrefix(root, "~"), "/"))
	} else {
		root = "/" + root
	}
	s.root = root
	fi, err := c.sftp.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.Close()
		return nil, fmt.Errorf("sftp source %s: folder %s does not exist on the server", s.url, root)
	case err != nil:
		s.Close()
		return nil, fmt.Errorf("sftp source %s: folder %s: %w", s.url, root, err)
	case !fi.IsDir():
		s.Close()
		return nil, fmt.Errorf("sftp source %s: %s is not a folder", s.url, root)
	}
	return s, nil
}

// URL implements source.Source: sftp://USER@HOST:PORT/ROOT/PATH/, so that
// URL()+key is the object's address. The user is part of it: on Pismo each
// login sees its own organisation's files.
func (s *Source) URL() string { return s.url }

// Close implements source.Source.
func (s *Source) Close() error {
	s.mu.Lock()
	c := s.cur
	s.cur, s.closed = nil, true
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
	return nil
}

// --- authentication -------------------------------------------------------

// loadKeys reads the private key file, or the default ones. It returns no
// signers (and no error) when none is given or found: ssh-agent is then
// used at connection time.
func loadKeys(file string) ([]ssh.Signer, string, error) {
	if file != "" {
		sg, err := loadKey(file)
		if err != nil {
			return nil, "", err
		}
		return []ssh.Signer{sg}, "key " + file, nil
	}
	home, herr := os.UserHomeDir()
	if herr != nil {
		return nil, "", nil
	}
	var signers []ssh.Signer
	var names []string
	var firstErr error
	for _, name := range []string{"id_rsa", "id_ed25519"} {
		p := filepath.Join(home, ".ssh", name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		sg, err := loadKey(p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		signers = append(signers, sg)
		names = append(names, p)
	}
	if len(signers) == 0 && firstErr != nil {
		// A default key exists but cannot be used: say why rather than
		// falling back to an agent silently.
		return nil, "", firstErr
	}
	if len(signers) == 0 {
		return nil, "", nil
	}
	return signers, "key " + strings.Join(names, ", "), nil
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

// loadKey parses one private key file, unlocking it with PassphraseEnv if
// it is encrypted. Errors name the file, never its content.
func loadKey(file string) (ssh.Signer, error) {
	data, err := os.ReadFile(expandHome(file))
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("key file %s does not exist", file)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("key file %s: permission denied", file)
		}
		return nil, fmt.Errorf("key file %s cannot be read: %w", file, err)
	}
	sg, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pass := os.Getenv(PassphraseEnv)
		if pass == "" {
			return nil, fmt.Errorf("key file %s is encrypted: put its passphrase in the %s environment variable", file, PassphraseEnv)
		}
		sg, err = ssh.ParsePrivateKeyWithPassphrase(data, []byte(pass))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("key file %s: the passphrase in %s is wrong", file, PassphraseEnv)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s is not a usable private key: %v", file, err)
	}
	return sg, nil
}

// authMethods returns how to log in; the returned function releases the
// ssh-agent connection, if one was opened.
func (s *Source) authMethods() ([]ssh.AuthMethod, func(), error) {
	if len(s.signers) > 0 {
		return []ssh.AuthMethod{ssh.PublicKeys(s.signers...)}, func() {}, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("no SSH key: pass key=FILE, or create ~/.ssh/id_rsa or ~/.ssh/id_ed25519, or run an ssh-agent (SSH_AUTH_SOCK)")
	}
	ac, err := net.DialTimeout("unix", sock, dialTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("no SSH key file, and the ssh-agent at SSH_AUTH_SOCK=%s cannot be reached: %v", sock, err)
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(ac).Signers)}, func() { ac.Close() }, nil
}

func (s *Source) authDesc() string {
	if s.keyDesc != "" {
		return s.keyDesc
	}
	return "the keys of the ssh-agent (SSH_AUTH_SOCK)"
}

// --- host keys ------------------------------------------------------------

// hostKeyChecker verifies server keys against a known_hosts file.
type hostKeyChecker struct {
	insecure bool
	addr     string
	file     string              // known_hosts path as given (for messages)
	check    ssh.HostKeyCallback // nil: the file does not exist (every host is unknown)
}

func newHostKeyChecker(file, addr string) (hostKeyChecker, error) {
	h := hostKeyChecker{addr: addr, file: file}
	if h.file == "" {
		h.file = "~/.ssh/known_hosts"
	}
	p := expandHome(h.file)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		if file != "" {
			return h, fmt.Errorf("known_hosts file %s does not exist", file)
		}
		// A missing default file is not an error yet: the connection then
		// fails with the server's fingerprint and how to trust it.
		return h, nil
	}
	cb, err := knownhosts.New(p)
	if err != nil {
		return h, fmt.Errorf("known_hosts file %s: %v", h.file, err)
	}
	h.check = cb
	return h, nil
}

// algorithms returns the host key algorithms of the keys known for the
// host first, so that the server is asked for a key we can verify
// (otherwise it may offer, say, its RSA key while known_hosts holds its
// ed25519 one, and the check fails although the host is trusted), then the
// other supported ones, so that a server without any known key type still
// gets as far as the check and its fingerprint is reported. Nil: defaults.
func (h hostKeyChecker) algorithms() []string {
	if h.insecure || h.check == nil {
		return nil
	}
	// knownhosts has no lookup API: checking a throwaway key yields a
	// KeyError listing every key known for the host.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := h.check(h.addr, &net.TCPAddr{}, probe); !errors.As(err, &ke) {
		return nil
	}
	if len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			add(a)
		}
	}
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		add(a)
	}
	return algos
}

// algorithmsFor maps a key type to the signature algorithms that prove it.
func algorithmsFor(keyType string) []string {
	switch keyType {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	default:
		return []string{keyType}
	}
}

// callback is the ssh.HostKeyCallback: it turns knownhosts' terse errors
// into ones that name the host and fingerprint and say what to do.
func (h hostKeyChecker) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	fp := ssh.FingerprintSHA256(key)
	if h.insecure {
		slog.Warn("sftp: HOST KEY NOT VERIFIED (insecure_ignore_host_key=true): this connection could be intercepted; add the host to known_hosts instead",
			"host", h.addr, "key_type", key.Type(), "fingerprint", fp)
		return nil
	}
	host, port, _ := net.SplitHostPort(h.addr)
	add := fmt.Sprintf("ssh-keyscan -p %s %s >> %s", port, host, h.file)
	if h.check == nil {
		return fmt.Errorf("host key of %s (%s %s) cannot be verified: known_hosts file %s does not exist; after checking the fingerprint with the server's operator, add it with: %s",
			h.addr, key.Type(), fp, h.file, add)
	}
	err := h.check(hostname, remote, key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return fmt.Errorf("host key of %s (%s %s) is marked @revoked in %s line %d: refusing to connect", h.addr, key.Type(), fp, re.Revoked.Filename, re.Revoked.Line)
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return fmt.Errorf("host %s is unknown: it is not in %s; its %s key has fingerprint %s. After checking the fingerprint with the server's operator, add it with: %s (or set insecure_ignore_host_key=true, not recommended)",
			h.addr, h.file, key.Type(), fp, add)
	case errors.As(err, &ke):
		var where []string
		for _, w := range ke.Want {
			where = append(where, fmt.Sprintf("%s line %d (%s)", w.Filename, w.Line, ssh.FingerprintSHA256(w.Key)))
		}
		return fmt.Errorf("HOST KEY MISMATCH for %s: it presented a %s key with fingerprint %s, which does not match %s. The server's key changed or someone is intercepting the connection. If the operator confirms a new key, remove the old entry with: ssh-keygen -R '%s' -f %s, then add the new one with: %s",
			h.addr, key.Type(), fp, strings.Join(where, ", "), knownhosts.Normalize(h.addr), h.file, add)
	default:
		return fmt.Errorf("checking the host key of %s against %s: %v", h.addr, h.file, err)
	}
}

// hostKeyError marks errors from the host key check after ssh wrapped them.
type hostKeyError struct{ err error }

func (e *hostKeyError) Error() string { return e.err.Error() }
func (e *hostKeyError) Unwrap() error { return e.err }

// --- connections ----------------------------------------------------------

// get returns the live connection, dialing one if there is none (or it
// died). Dialing happens under the mutex: concurrent operations that find
// the connection gone wait for a single redial instead of each making one.
func (s *Source) get(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("source is closed")
	}
	if s.cur != nil && !s.cur.isDead() {
		return s.cur, nil
	}
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	if err := s.breaker.Check(); err != nil {
		return nil, err
	}
	c, err := s.dial(ctx)
	if ctx.Err() == nil {
		// A failed dial fails one operation: the breaker takes the
		// store as dead after a streak of them.
		err = s.breaker.GaveUp(s.breaker.Observe(err))
	}
	if err != nil {
		return nil, err
	}
	s.cur = c
	return c, nil
}

// drop discards c if it is still the current connection.
func (s *Source) drop(c *conn) {
	s.mu.Lock()
	if s.cur == c {
		s.cur = nil
	}
	s.mu.Unlock()
	c.close()
}

func (s *Source) dial(ctx context.Context) (*conn, error) {
	auth, release, err := s.authMethods()
	if err != nil {
		return nil, err
	}
	defer release()
	cfg := &ssh.ClientConfig{
		User: s.user,
		Auth: auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if err := s.hostKeys.callback(hostname, remote, key); err != nil {
				return &hostKeyError{err}
			}
			return nil
		},
		HostKeyAlgorithms: s.hostKeys.algorithms(),
		Timeout:           dialTimeout,
	}
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", s.addr, err)
	}
	// The handshake has no context of its own: bound it with a deadline,
	// and cut it short when ctx ends.
	nc.SetDeadline(time.Now().Add(dialTimeout))
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	sc, chans, reqs, err := ssh.NewClientConn(nc, s.addr, cfg)
	if err != nil {
		stop()
		nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var hk *hostKeyError
		if errors.As(err, &hk) {
			return nil, hk.err
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("login as %q refused by %s: the server accepts none of %s (have the server's operator authorize the public key, or pass key=FILE): %v", s.user, s.addr, s.authDesc(), err)
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", s.addr, err)
	}
	cl := ssh.NewClient(sc, chans, reqs)
	sf, err := sftp.NewClient(cl)
	if !stop() || ctx.Err() != nil {
		cl.Close()
		if err == nil {
			sf.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("starting SFTP on %s: %w", s.addr, err)
	}
	nc.SetDeadline(time.Time{})
	c := &conn{ssh: cl, sftp: sf, dead: make(chan struct{}), stop: make(chan struct{}),
		probeEvery: keepaliveInterval, probeWait: keepaliveTimeout}
	go func() {
		cl.Wait()
		close(c.dead)
		s.drop(c)
	}()
	go c.keepalive()
	return c, nil
}

// keepalive probes the connection while it is open and closes it when a
// probe fails or goes unanswered, so that blocked requests fail and the
// next operation redials.
func (c *conn) keepalive() {
	t := time.NewTicker(c.probeEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.dead:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		timer := time.NewTimer(c.probeWait)
		select {
		case err := <-reply:
			timer.Stop()
			if err != nil {
				c.ssh.Close()
				return
			}
		case <-timer.C:
			slog.Warn("sftp: connection not answering keepalive probes; closing it", "host", c.ssh.RemoteAddr().String())
			c.ssh.Close()
			return
		case <-c.stop:
			timer.Stop()
			return
		}
	}
}

// connLost reports whether err means the connection is gone (rather than
// an answer from the server, such as "no such file").
func connLost(err error, c *conn) bool {
	if err == nil {
		return false
	}
	var se *sftp.StatusError
	if errors.As(err, &se) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return false
	}
	return c.isDead() ||
		errors.Is(err, sftp.ErrSSHFxConnectionLost) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ETIMEDOUT)
}

// do runs op on the current connection. If the connection turns out to be
// lost, it redials once and runs op again.
func (s *Source) do(ctx context.Context, op func(c *conn) error) error {
	c, err := s.get(ctx)
	if err != nil {
		return err
	}
	err = op(c)
	if !connLost(err, c) {
		return err
	}
	slog.Info("sftp: connection lost; reconnecting", "source", s.url, "error", err)
	s.drop(c)
	c, rerr := s.get(ctx)
	if rerr != nil {
		return fmt.Errorf("%w (connection lost: %v)", rerr, err)
	}
	return op(c)
}

// --- objects --------------------------------------------------------------

func version(fi os.FileInfo) string {
	return fmt.Sprintf("size=%d,mtime=%d", fi.Size(), fi.ModTime().Unix())
}

func object(key string, fi os.FileInfo) source.Object {
	return source.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC(), Version: version(fi)}
}

// path maps a key to a path on the server, refusing keys that would leave
// the root.
func (s *Source) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("sftp source %s: invalid key %q", s.url, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("sftp source %s: invalid key %q", s.url, key)
		}
	}
	return path.Join(s.root, key), nil
}

func (s *Source) wrap(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sftp source %s%s: %w", s.url, key, source.ErrNotFound)
	}
	return fmt.Errorf("sftp source %s%s: %w", s.url, key, err)
}

// errStop ends a walk when the caller's callback returned an error.
var errStop = errors.New("listing stopped")

// List implements source.Source. The tree is walked folder by folder, each
// folder's entries sorted so that the walk yields keys in byte-wise order
// (a folder "a" sorts as "a/", after a file "a-b"). Folders that cannot
// hold keys matching Prefix, or only keys <= StartAfter, are not read.
// If the connection drops mid-walk, the walk resumes after the last key
// delivered.
func (s *Source) List(ctx context.Context, opts source.ListOptions, fn func(source.Object) error) error {
	last := opts.StartAfter
	var cbErr error
	err := s.do(ctx, func(c *conn) error {
		o := opts
		o.StartAfter = last
		return s.walk(ctx, c.sftp, "", o, func(obj source.Object) error {
			if err := fn(obj); err != nil {
				cbErr = err
				return errStop
			}
			last = obj.Key
			return nil
		})
	})
	if cbErr != nil {
		return cbErr
	}
	if err != nil {
		return fmt.Errorf("sftp source %s: %w", s.url, err)
	}
	return nil
}

type entry struct {
	name  string
	dir   bool
	fi    os.FileInfo
	order string // name, plus "/" for a folder
}

// walk lists the folder at key prefix dir ("" or ending in '/').
func (s *Source) walk(ctx context.Context, cl *sftp.Client, dir string, opts source.ListOptions, emit func(source.Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := path.Join(s.root, dir)
	infos, err := cl.ReadDirContext(ctx, full)
	if err != nil {
		if dir != "" && errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing
		}
		return fmt.Errorf("listing %s: %w", full, err)
	}
	entries := make([]entry, 0, len(infos))
	for _, fi := range infos {
		name := fi.Name()
		if name == "" || name[0] == '.' || strings.Contains(name, "/") {
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// Links to files are followed; links to folders are not (they
			// could loop).
			t, err := cl.Stat(path.Join(full, name))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // dangling
				}
				return fmt.Errorf("following link %s: %w", path.Join(full, name), err)
			}
			if !t.Mode().IsRegular() {
				continue
			}
			fi = t
		}
		e := entry{name: name, dir: fi.IsDir(), fi: fi, order: name}
		if e.dir {
			e.order += "/"
		} else if !fi.Mode().IsRegular() {
			continue
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].order < entries[j].order })
	for _, e := range entries {
		key := dir + e.name
		if e.dir {
			k := key + "/"
			if opts.Prefix != "" && !strings.HasPrefix(k, opts.Prefix) && !strings.HasPrefix(opts.Prefix, k) {
				continue
			}
			// Every key below k starts with k: if StartAfter is beyond k
			// without starting with it, it is beyond all of them.
			if opts.StartAfter > k && !strings.HasPrefix(opts.StartAfter, k) {
				continue
			}
			if err := s.walk(ctx, cl, k, opts, emit); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(key, opts.Prefix) || (opts.StartAfter != "" && key <= opts.StartAfter) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(object(key, e.fi)); err != nil {
			return err
		}
	}
	return nil
}

// Stat implements source.Source.
func (s *Source) Stat(ctx context.Context, key string) (source.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return source.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return source.Object{}, err
	}
	var fi os.FileInfo
	err = s.do(ctx, func(c *conn) error {
		var err error
		fi, err = c.sftp.Stat(p)
		return err
	})
	if err != nil {
		return source.Object{}, s.wrap(key, err)
	}
	if !fi.Mode().IsRegular() {
		return source.Object{}, s.wrap(key, fs.ErrNotExist)
	}
	return object(key, fi), nil
}

// Open implements source.Source. The returned object describes the file as
// opened (fstat on the handle).
func (s *Source) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, source.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, source.Object{}, err
	}
	f, fi, c, err := s.open(ctx, p)
	if err != nil {
		return nil, source.Object{}, s.wrap(key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, source.Object{}, fmt.Errorf("sftp source %s%s: not a regular file", s.url, key)
	}
	obj := object(key, fi)
	r := &reader{s: s, key: key, path: p, want: obj, c: c, f: f, resumedAt: -1}
	if obj.Size > 0 {
		r.buf = make([]byte, min(int64(readBuffer), obj.Size))
	}
	return r, obj, nil
}

func (s *Source) open(ctx context.Context, p string) (*sftp.File, os.FileInfo, *conn, error) {
	var f *sftp.File
	var fi os.FileInfo
	var fc *conn
	err := s.do(ctx, func(c *conn) error {
		ff, err := c.sftp.Open(p)
		if err != nil {
			return err
		}
		st, err := ff.Stat()
		if err != nil {
			ff.Close()
			return err
		}
		f, fi, fc = ff, st, c
		return nil
	})
	return f, fi, fc, err
}

// reader streams one object through a buffer filled with large concurrent
// ReadAt calls, tracking the offset reached so that a failed read can
// resume on a fresh handle (and connection).
type reader struct {
	s    *Source
	key  string
	path string
	want source.Object // as opened: size and mtime must not change

	c *conn
	f *sftp.File

	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	off        int64 // file offset of the next byte to fetch
	resumedAt  int64 // offset of the last resume; -1: none
	err        error // sticky: io.EOF or the failure
	closed     bool
}

func (r *reader) Read(p []byte) (int, error) {
	for {
		if r.start < r.end {
			n := copy(p, r.buf[r.start:r.end])
			r.start += n
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.closed {
			return 0, fmt.Errorf("sftp source %s%s: read after close", r.s.url, r.key)
		}
		if len(p) == 0 {
			return 0, nil
		}
		r.fill()
	}
}

func (r *reader) where() string { return r.s.url + r.key }

// fill fetches the next chunk, or sets r.err.
func (r *reader) fill() {
	if r.off >= r.want.Size {
		r.err = r.finish()
		return
	}
	want := int(min(int64(len(r.buf)), r.want.Size-r.off))
	n, err := r.f.ReadAt(r.buf[:want], r.off)
	r.start, r.end = 0, n
	r.off += int64(n)
	switch {
	case err == nil || (err == io.EOF && n == want):
		return
	case n > 0:
		// Deliver what arrived; the next fill retries from r.off and
		// meets the error again if it persists.
		return
	case err == io.EOF:
		// The file ends before the size it had when opened, or the server
		// answered a short read: reopen and compare.
		r.err = r.resume(fmt.Errorf("unexpected end of file at byte %d of %d", r.off, r.want.Size))
	default:
		r.err = r.resume(err)
	}
}

// finish checks, once every byte is read, that the file did not change
// while it was read (an append or rewrite in place would mix versions).
func (r *reader) finish() error {
	fi, err := r.f.Stat()
	if err != nil {
		if err := r.resume(err); err != nil {
			return err
		}
		return io.EOF // resume compared size and mtime
	}
	if err := r.compare(fi); err != nil {
		return err
	}
	return io.EOF
}

func (r *reader) compare(fi os.FileInfo) error {
	if fi.Size() != r.want.Size || fi.ModTime().Unix() != r.want.ModTime.Unix() {
		return fmt.Errorf("sftp source %s: %w (opened as %s, now %s)", r.where(), source.ErrObjectChanged, r.want.Version, version(fi))
	}
	return nil
}

// resume re-opens the file after a failed read (redialing if the
// connection is gone) and continues at r.off, provided the file is
// unchanged. It gives up when the previous resume made no progress.
func (r *reader) resume(cause error) error {
	if r.resumedAt == r.off {
		return fmt.Errorf("sftp source %s: reading at byte %d: %w", r.where(), r.off, cause)
	}
	r.resumedAt = r.off
	r.f.Close()
	if connLost(cause, r.c) {
		r.s.drop(r.c)
	}
	slog.Info("sftp: read failed; re-opening", "object", r.where(), "offset", r.off, "error", cause)
	f, fi, c, err := r.s.open(context.Background(), r.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sftp source %s: %w (removed; reading at byte %d failed: %v)", r.where(), source.ErrObjectChanged, r.off, cause)
		}
		return fmt.Errorf("sftp source %s: reading at byte %d: %v; re-opening failed: %w", r.where(), r.off, cause, err)
	}
	r.f, r.c = f, c
	return r.compare(fi)
}

// Close implements io.Closer.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.buf = nil
	r.start, r.end = 0, 0
	if err := r.f.Close(); err != nil && !connLost(err, r.c) && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("sftp source %s: close: %w", r.where(), err)
	}
	return nil
}
