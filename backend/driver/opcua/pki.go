package opcua

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files under the data directory.
const (
	// dirName is the driver's directory under the data directory.
	dirName = "opcua"
	// clientCertFile and clientKeyFile are edgehmi's application instance
	// certificate and its private key (PEM), made on first use.
	clientCertFile = "client.crt"
	clientKeyFile  = "client.key"
)

// Dir is the OPC UA driver's directory under a data directory.
func Dir(dataDir string) string { return filepath.Join(dataDir, dirName) }

// PKIDir is the directory of server certificates under a data directory:
// DATA/opcua/pki, holding trusted/ and rejected/.
func PKIDir(dataDir string) string { return filepath.Join(Dir(dataDir), "pki") }

// ErrUntrusted is wrapped by the error of a connection refused because the
// server's certificate is not trusted.
var ErrUntrusted = errors.New("server certificate is not trusted")

// ErrNoCert is returned by Trust and Reject for a thumbprint that matches
// no certificate.
var ErrNoCert = errors.New("no such certificate")

// PKI is a directory of OPC UA server certificates, trusted explicitly:
// trusted/ holds the certificates an engineer trusted, rejected/ those the
// driver met and refused. Certificates are files named by their SHA-1
// thumbprint, PEM with a few "Key: value" lines before the block (the
// device and endpoint they came from); DER, PEM or CRT files put into
// trusted/ by hand count as well.
//
// A PKI holds no state beyond its directory: several drivers, the CLI and
// the HTTP API may use the same directory at once.
type PKI struct {
	dir string
}

// NewPKI returns the PKI rooted at dir (e.g. PKIDir(dataDir)). It does no
// I/O: the directories are made when a certificate is first saved.
func NewPKI(dir string) *PKI { return &PKI{dir: dir} }

// Dir is the PKI's directory.
func (p *PKI) Dir() string { return p.dir }

// Cert is a server certificate in the PKI.
type Cert struct {
	// Thumbprint is the SHA-1 of the DER certificate, lower-case hex, as
	// OPC UA identifies certificates.
	Thumbprint string    `json:"thumbprint"`
	Subject    string    `json:"subject"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	// ApplicationURI is the URI in the certificate's subject alternative
	// names (the server's application URI).
	ApplicationURI string `json:"application_uri,omitempty"`
	// Trusted is true for certificates in trusted/, false in rejected/.
	Trusted bool `json:"trusted"`
	// Device and Endpoint the certificate was met at, if known.
	Device   string `json:"device,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// File is the certificate's path.
	File string `json:"file"`
}

// Status is "trusted" or "rejected".
func (c Cert) Status() string {
	if c.Trusted {
		return "trusted"
	}
	return "rejected"
}

// Thumbprint is the SHA-1 thumbprint of a DER certificate, lower-case hex.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}

// List returns the certificates of the PKI, trusted first, each group by
// subject. Files that hold no certificate are skipped.
func (p *PKI) List() ([]Cert, error) {
	var out []Cert
	for _, trusted := range []bool{true, false} {
		certs, err := p.list(trusted)
		if err != nil {
			return nil, err
		}
		out = append(out, certs...)
	}
	return out, nil
}

func (p *PKI) sub(trusted bool) string {
	if trusted {
		return filepath.Join(p.dir, "trusted")
	}
	return filepath.Join(p.dir, "rejected")
}

func (p *PKI) list(trusted bool) ([]Cert, error) {
	dir := p.sub(trusted)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opcua certificates: %w", err)
	}
	var out []Cert
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		c, _, err := readCert(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // not a certificate
		}
		c.Trusted = trusted
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cert) int {
		return strings.Compare(a.Subject+a.Thumbprint, b.Subject+b.Thumbprint)
	})
	return out, nil
}

// readCert reads a certificate file: PEM (with optional "Key: value" lines
// before the block) or DER.
func readCert(file string) (Cert, []byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Cert{}, nil, err
	}
	der := b
	var meta []byte
	if i := bytes.Index(b, []byte("-----BEGIN CERTIFICATE-----")); i >= 0 {
		meta = b[:i]
		block, _ := pem.Decode(b[i:])
		if block == nil {
			return Cert{}, nil, fmt.Errorf("%s: bad PEM", file)
		}
		der = block.Bytes
	}
	c, err := describe(der)
	if err != nil {
		return Cert{}, nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, line := range strings.Split(string(meta), "\n") {
		k, v, ok := strings.Cut(line, ":")
		switch v = strings.TrimSpace(v); {
		case !ok:
		case strings.EqualFold(strings.TrimSpace(k), "device"):
			c.Device = v
		case strings.EqualFold(strings.TrimSpace(k), "endpoint"):
			c.Endpoint = v
		}
	}
	c.File = file
	return c, der, nil
}

// describe parses a DER certificate into a Cert.
func describe(der []byte) (Cert, error) {
	x, err := x509.ParseCertificate(der)
	if err != nil {
		return Cert{}, fmt.Errorf("not a certificate: %w", err)
	}
	c := Cert{Thumbprint: Thumbprint(der), Subject: x.Subject.String(), NotBefore: x.NotBefore, NotAfter: x.NotAfter}
	if len(x.URIs) > 0 {
		c.ApplicationURI = x.URIs[0].String()
	}
	return c, nil
}

// normThumbprint reads a thumbprint as written by people: any case, with
// or without ":" or spaces between the bytes.
func normThumbprint(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
}

// find returns the certificate of a thumbprint (or of a unique prefix of
// at least 8 hex digits) among trusted or rejected.
func (p *PKI) find(thumbprint string, trusted bool) (Cert, error) {
	want := normThumbprint(thumbprint)
	if len(want) < 8 {
		return Cert{}, fmt.Errorf("thumbprint %q is too short (give at least 8 hex digits of it)", thumbprint)
	}
	certs, err := p.list(trusted)
	if err != nil {
		return Cert{}, err
	}
	var hits []Cert
	for _, c := range certs {
		if strings.HasPrefix(c.Thumbprint, want) {
			hits = append(hits, c)
		}
	}
	switch len(hits) {
	case 0:
		return Cert{}, fmt.Errorf("certificate %s: %w in %s", thumbprint, ErrNoCert, p.sub(trusted))
	case 1:
		return hits[0], nil
	}
	return Cert{}, fmt.Errorf("thumbprint %q matches %d certificates: give more of it", thumbprint, len(hits))
}

// Trust moves a rejected certificate to trusted/, and returns it. A
// certificate already trusted is returned as it is.
func (p *PKI) Trust(thumbprint string) (Cert, error) { return p.move(thumbprint, true) }

// Reject moves a trusted certificate to rejected/ (untrusting it), and
// returns it. A certificate already rejected is returned as it is.
func (p *PKI) Reject(thumbprint string) (Cert, error) { return p.move(thumbprint, false) }

func (p *PKI) move(thumbprint string, trust bool) (Cert, error) {
	c, err := p.find(thumbprint, !trust)
	if errors.Is(err, ErrNoCert) {
		if done, err2 := p.find(thumbprint, trust); err2 == nil {
			return done, nil
		}
	}
	if err != nil {
		return Cert{}, err
	}
	to := p.sub(trust)
	if err := os.MkdirAll(to, 0o700); err != nil {
		return Cert{}, fmt.Errorf("opcua certificate %s: %w", c.Thumbprint, err)
	}
	dst := filepath.Join(to, filepath.Base(c.File))
	if err := os.Rename(c.File, dst); err != nil {
		return Cert{}, fmt.Errorf("opcua certificate %s: %w", c.Thumbprint, err)
	}
	c.File, c.Trusted = dst, trust
	return c, nil
}

// Check reports whether a server's certificate (DER) is trusted. An
// unknown certificate is saved into rejected/ (with the device and
// endpoint it came from) and an *UntrustedError is returned, which wraps
// ErrUntrusted and tells the engineer how to trust it.
func (p *PKI) Check(der []byte, device, endpoint string) (Cert, error) {
	c, err := describe(der)
	if err != nil {
		return Cert{}, fmt.Errorf("server certificate of %s: %w", endpoint, err)
	}
	for _, trusted := range []bool{true, false} {
		certs, err := p.list(trusted)
		if err != nil {
			return Cert{}, err
		}
		for _, k := range certs {
			if k.Thumbprint == c.Thumbprint {
				if trusted {
					return k, nil
				}
				return k, &UntrustedError{Cert: k, PKI: p.dir}
			}
		}
	}
	c.Device, c.Endpoint = device, endpoint
	file, err := p.save(c, der)
	if err != nil {
		return Cert{}, err
	}
	c.File = file
	return c, &UntrustedError{Cert: c, PKI: p.dir}
}

// save writes a certificate into rejected/.
func (p *PKI) save(c Cert, der []byte) (string, error) {
	dir := p.sub(false)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("opcua certificates: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: %s\nDevice: %s\nEndpoint: %s\nSaved: %s\n", c.Subject, c.Device, c.Endpoint, time.Now().UTC().Format(time.RFC3339))
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	file := filepath.Join(dir, c.Thumbprint+".pem")
	if err := writeFileAtomic(file, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("opcua certificate %s: %w", c.Thumbprint, err)
	}
	return file, nil
}

// UntrustedError is a server certificate that is not (yet) trusted.
type UntrustedError struct {
	Cert Cert
	PKI  string // the PKI directory
}

func (e *UntrustedError) Error() string {
	cmd := "edgehmi opcua trust " + e.Cert.Thumbprint
	if opcuaDir := filepath.Dir(e.PKI); filepath.Base(e.PKI) == "pki" && filepath.Base(opcuaDir) == dirName {
		if data := filepath.Dir(opcuaDir); data != "data" && data != "./data" {
			cmd += " --data " + data
		}
	}
	return fmt.Sprintf("server certificate %q (SHA-1 thumbprint %s) is not trusted: it is saved in %s; if it is this server's, trust it with `%s` (or move the file to %s)",
		e.Cert.Subject, e.Cert.Thumbprint, filepath.Join(e.PKI, "rejected"), cmd, filepath.Join(e.PKI, "trusted"))
}

func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// writeFileAtomic writes a file by renaming a temporary one into place.
func writeFileAtomic(file string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// Identity is edgehmi's application instance certificate (DER) and key.
type Identity struct {
	Cert []byte
	Key  *rsa.PrivateKey
	// URI is the application URI in the certificate.
	URI string
}

// Thumbprint is the certificate's SHA-1 thumbprint.
func (id Identity) Thumbprint() string { return Thumbprint(id.Cert) }

// PEM is the certificate in PEM, for a server's administrator to trust.
func (id Identity) PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert}))
}

// ClientIdentity loads edgehmi's client certificate and key from
// DATA/opcua/client.crt and client.key, making them on first use (RSA
// 2048, self-signed, valid 20 years, application URI
// urn:<host>:edgehmi). Several drivers may call it at once: one makes the
// pair and the others load it.
func ClientIdentity(dataDir string) (Identity, error) {
	if dataDir == "" {
		return Identity{}, errors.New("opcua: no data directory to keep the client certificate in")
	}
	dir := Dir(dataDir)
	certFile, keyFile := filepath.Join(dir, clientCertFile), filepath.Join(dir, clientKeyFile)
	id, err := loadIdentity(certFile, keyFile)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	if fi, err := os.Stat(keyFile); err == nil && time.Since(fi.ModTime()) > 10*time.Second {
		if _, err := os.Stat(certFile); errors.Is(err, fs.ErrNotExist) {
			os.Remove(keyFile) // a key whose certificate was deleted: make a new pair
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Identity{}, fmt.Errorf("opcua client certificate: %w", err)
	}
	certPEM, keyPEM, err := newClientCert()
	if err != nil {
		return Identity{}, fmt.Errorf("opcua client certificate: %w", err)
	}
	// The key goes into place first, then the certificate; a caller
	// that loses the race waits for the winner's pair.
	tmpKey := keyFile + ".new-" + rand.Text()[:8]
	if err := os.WriteFile(tmpKey, keyPEM, 0o600); err != nil {
		return Identity{}, fmt.Errorf("opcua client key: %w", err)
	}
	defer os.Remove(tmpKey)
	if err := os.Link(tmpKey, keyFile); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return Identity{}, fmt.Errorf("opcua client key: %w", err)
		}
		return awaitIdentity(certFile, keyFile)
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return Identity{}, fmt.Errorf("opcua client certificate: %w", err)
	}
	return loadIdentity(certFile, keyFile)
}

// awaitIdentity loads a pair that another caller is writing.
func awaitIdentity(certFile, keyFile string) (Identity, error) {
	var err error
	for range 100 {
		var id Identity
		if id, err = loadIdentity(certFile, keyFile); err == nil {
			return id, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Identity{}, err
}

func loadIdentity(certFile, keyFile string) (Identity, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return Identity{}, fmt.Errorf("opcua client key: %w", err)
	}
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return Identity{}, fmt.Errorf("opcua client certificate: %w", err)
	}
	kblock, _ := pem.Decode(kb)
	if kblock == nil {
		return Identity{}, fmt.Errorf("opcua client key %s: not PEM", keyFile)
	}
	var key *rsa.PrivateKey
	switch kblock.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kblock.Bytes)
	default:
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(kblock.Bytes); err == nil {
			var ok bool
			if key, ok = k.(*rsa.PrivateKey); !ok {
				err = errors.New("not an RSA key (OPC UA needs RSA)")
			}
		}
	}
	if err != nil {
		return Identity{}, fmt.Errorf("opcua client key %s: %w", keyFile, err)
	}
	cblock, _ := pem.Decode(cb)
	if cblock == nil || cblock.Type != "CERTIFICATE" {
		return Identity{}, fmt.Errorf("opcua client certificate %s: not a PEM certificate", certFile)
	}
	x, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return Identity{}, fmt.Errorf("opcua client certificate %s: %w", certFile, err)
	}
	if pub, ok := x.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return Identity{}, fmt.Errorf("opcua client certificate %s does not match the key %s", certFile, keyFile)
	}
	id := Identity{Cert: cblock.Bytes, Key: key}
	if len(x.URIs) > 0 {
		id.URI = x.URIs[0].String()
	}
	return id, nil
}

// newClientCert makes a self-signed application instance certificate as
// OPC UA Part 6 6.2.2 describes it, and its key, in PEM.
func newClientCert() (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	uri := &url.URL{Scheme: "urn", Opaque: host + ":edgehmi"}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "edgehmi@" + host, Organization: []string{"edgehmi"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              []string{host},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}
