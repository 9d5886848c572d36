package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

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
