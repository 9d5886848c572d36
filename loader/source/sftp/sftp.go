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
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

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
