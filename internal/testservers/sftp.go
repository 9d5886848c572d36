package testservers

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SFTPUser is the login name the SFTP server expects.
const SFTPUser = "tester"

// SFTPServer is an in-process SSH server on 127.0.0.1 serving SFTP over the
// local file system, with a generated host key and one authorized,
// generated client key.
type SFTPServer struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	// Root is the login folder: paths in URLs starting with /~/ are relative
	// to it.
	Root string
	// KeyFile is the client's private key (OpenSSH format, unencrypted) and
	// KnownHosts a known_hosts file trusting the server's host key.
	KeyFile, KnownHosts string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool

	killAfter atomic.Int64 // > 0: Kill once this many bytes were sent
	sent      atomic.Int64
	killOnce  sync.Once
}

// KillAfter makes the server die (Kill) once it has sent n bytes to its
// clients, in the middle of whatever it was sending: a store that goes away
// during a load.
func (s *SFTPServer) KillAfter(n int64) { s.killAfter.Store(n) }

// Kill stops the server as a crash would: the listener is closed (new
// connections are refused) and every open connection is cut.
func (s *SFTPServer) Kill() {
	s.killOnce.Do(func() {
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
}

// countingConn counts what the server sends and kills it past KillAfter.
type countingConn struct {
	net.Conn
	s *SFTPServer
}

func (c countingConn) Write(b []byte) (int, error) {
	if lim := c.s.killAfter.Load(); lim > 0 && c.s.sent.Add(int64(len(b))) > lim {
		c.s.Kill()
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

// SFTP starts an SFTP server whose login folder is rootDir. Like OpenSSH
// without a chroot, it serves the whole file system; absolute paths work
// too.
func SFTP(t testing.TB, rootDir string) *SFTPServer {
	t.Helper()
	hostKey := newSigner(t)
	clientPriv, clientKey := newKey(t)
	dir := t.TempDir()
	s := &SFTPServer{
		Root:       rootDir,
		KeyFile:    filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		HostKey:    hostKey.PublicKey(),
		conns:      map[net.Conn]bool{},
	}
	writePrivateKey(t, s.KeyFile, clientPriv)

	authorized := clientKey.PublicKey().Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == SFTPUser && bytes.Equal(key.Marshal(), authorized) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("SFTP test server: %v", err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	WriteKnownHosts(t, s.KnownHosts, s.Addr, s.HostKey)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[nc] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(countingConn{nc, s}, cfg)
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		s.Kill()
		s.wg.Wait()
	})
	return s
}

// URL is the sftp:// source URL of dir (relative to Root; "" is Root),
// logging in with KeyFile and checking the host key against knownHosts
// ("" means the server's KnownHosts file).
func (s *SFTPServer) URL(dir, knownHosts string) string {
	if knownHosts == "" {
		knownHosts = s.KnownHosts
	}
	p := "/~/"
	if d := strings.Trim(dir, "/"); d != "" {
		p += d + "/"
	}
	u := url.URL{
		Scheme: "sftp", User: url.User(SFTPUser), Host: s.Addr, Path: p,
		RawQuery: url.Values{"key": {s.KeyFile}, "known_hosts": {knownHosts}}.Encode(),
	}
	return u.String()
}

// ForeignKnownHosts writes a known_hosts file that lists this server's
// address with another, freshly generated key (as after a host key change,
// or with a server impersonating this one), and returns its path.
func (s *SFTPServer) ForeignKnownHosts(t testing.TB) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	WriteKnownHosts(t, file, s.Addr, newSigner(t).PublicKey())
	return file
}

// WriteKnownHosts writes a known_hosts file trusting key for addr
// (host:port).
func WriteKnownHosts(t testing.TB, file, addr string, key ssh.PublicKey) {
	t.Helper()
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
		t.Fatalf("writing known_hosts: %v", err)
	}
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, sg := newKey(t)
	return sg
}

func newKey(t testing.TB) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, sg
}

// writePrivateKey stores key in OpenSSH format, readable by its owner only.
func writePrivateKey(t testing.TB, file string, key ed25519.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "testservers client key")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("writing the client key: %v", err)
	}
}

func (s *SFTPServer) serve(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Global requests (the client's keepalive probes) get a reply,
		// which is all a probe needs.
		for req := range reqs {
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer ch.Close()
			for req := range creqs {
				// A "subsystem" payload is a uint32 length, then the name.
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.Root))
				if err != nil {
					return
				}
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					srv.Serve()
					srv.Close()
				}()
			}
		}()
	}
}
