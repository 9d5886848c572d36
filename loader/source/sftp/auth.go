package sftp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

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
