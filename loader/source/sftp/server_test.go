package sftp

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
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testServer is an in-process SSH server on 127.0.0.1 that accepts one
// client key and serves SFTP over the local file system.
type testServer struct {
	addr     string
	hostKey  ssh.Signer
	accepted atomic.Int64 // TCP connections accepted
	// hang, when set, makes the server leave keepalive probes unanswered,
	// like a server or network path that stopped responding.
	hang atomic.Bool

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// newTestServer starts a server accepting the client key authorized; sftp
// server options (e.g. a working directory) apply to every session.
func newTestServer(t *testing.T, authorized ssh.PublicKey, opts ...sftp.ServerOption) *testServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerKeys(t, authorized, []ssh.Signer{hostKey}, opts...)
}

// newTestServerKeys is newTestServer with the given host keys; hostKey is
// the first.
func newTestServerKeys(t *testing.T, authorized ssh.PublicKey, hostKeys []ssh.Signer, opts ...sftp.ServerOption) *testServer {
	t.Helper()
	hostKey := hostKeys[0]
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range hostKeys {
		cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{addr: ln.Addr().String(), hostKey: hostKey, ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[nc] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(nc, cfg, opts)
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.dropAll()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) serve(nc net.Conn, cfg *ssh.ServerConfig, opts []sftp.ServerOption) {
	defer nc.Close()
	_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for req := range reqs {
			if req.WantReply && !s.hang.Load() {
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
				// Payload of "subsystem": a uint32 length, then the name.
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv, err := sftp.NewServer(ch, opts...)
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

// dropAll closes every client connection, as a server restart or a network
// failure would.
func (s *testServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// clientKey is a generated client key pair, written to a file.
type clientKey struct {
	pub  ssh.PublicKey
	priv ed25519.PrivateKey
	file string
}

func newClientKey(t *testing.T, dir string) clientKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	k := clientKey{pub: pub, priv: priv, file: filepath.Join(dir, "id_ed25519")}
	k.write(t, k.file, "")
	return k
}

// write stores the private key in OpenSSH format, encrypted when
// passphrase is not empty.
func (k clientKey) write(t *testing.T, file, passphrase string) {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k.priv, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k.priv, "test key", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeKnownHosts writes a known_hosts file trusting key for addr.
func writeKnownHosts(t *testing.T, file, addr string, key ssh.PublicKey) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sourceURL builds an sftp:// URL for root on the server with the given
// query parameters.
func sourceURL(addr, root string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	u := url.URL{Scheme: "sftp", User: url.User("tester"), Host: addr, Path: root + "/", RawQuery: q.Encode()}
	return u.String()
}
