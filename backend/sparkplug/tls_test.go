package sparkplug

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTLSAndPassword connects to mosquitto over TLS (a CA of the test's
// own) with a user name and a password read from a file, as a plant's
// broker would be set up; a wrong password is refused and said so.
func TestTLSAndPassword(t *testing.T) {
	mosq := mosquittoPath(t)
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		need(t, "mosquitto_passwd is not installed (apt-get install mosquitto)")
	}
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", ca, caKey)
	if out, err := exec.Command(passwd, "-b", "-c", filepath.Join(dir, "passwd"), "edge", "s3cret pass").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	port := freePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	// user: run as whoever starts it (as root, mosquitto would otherwise
	// switch to its own user, which may not read the test's files).
	me := "root"
	if u := os.Getenv("USER"); u != "" {
		me = u
	}
	write(t, conf, fmt.Sprintf("user %s\nlistener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nallow_anonymous false\npassword_file %s\n",
		me, port, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "passwd")))
	b := &broker{t: t, path: mosq, port: port, conf: conf}
	b.start()
	t.Cleanup(b.kill)

	for _, tc := range []struct {
		password string
		ok       bool
	}{{"s3cret pass", true}, {"wrong", false}} {
		write(t, filepath.Join(dir, "pw"), tc.password+"\n")
		cfg := testConfig("ssl://127.0.0.1:" + strconv.Itoa(port))
		cfg.Username, cfg.PasswordFile = "edge", filepath.Join(dir, "pw")
		cfg.TLS.CA = filepath.Join(dir, "ca.pem")
		n := start(t, Options{Config: cfg, Tags: testTags()})
		if tc.ok {
			waitUntil(t, 10*time.Second, "births over TLS", func() bool { return n.Status().Births >= 1 })
		} else {
			waitUntil(t, 10*time.Second, "the refusal", func() bool { return n.Status().LastError != "" })
			st := n.Status()
			if st.Births != 0 || st.Connected {
				t.Errorf("wrong password: status %+v, want not connected", st)
			}
			if !strings.Contains(strings.ToLower(st.LastError), "not authorized") && !strings.Contains(strings.ToLower(st.LastError), "password") {
				t.Errorf("wrong password: last error %q does not say why", st.LastError)
			}
		}
		n.stop()
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newCert writes NAME.pem and NAME.key in dir: a CA when parent is nil,
// else a server certificate for 127.0.0.1 signed by parent.
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "edgehmi test " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		signer, signKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, name+".pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, filepath.Join(dir, name+".key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}
