package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver/opcua"
	"github.com/edgehmi/edgehmi/backend/engine"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/sim"
	"github.com/edgehmi/edgehmi/backend/store"
)

func TestBrowseCommand(t *testing.T) {
	ctx := context.Background()
	s, err := sim.Start(ctx, sim.Options{ModbusAddr: "127.0.0.1:0", OPCUAAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"browse", s.OPCUAEndpoint(), "--depth", "2", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("browse: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"Objects", "i=85", "TIC101", "ns=2;s=TIC101"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tree lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(ctx, []string{"browse", s.OPCUAEndpoint(), "--node", "nsu=" + sim.OPCUANamespaceURI + ";s=" + sim.NodeTIC101, "--depth", "1", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("browse --node: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "ns=2;s=TIC101.SP") || !strings.HasPrefix(out.String(), "TIC101") {
		t.Errorf("tree of TIC101:\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(ctx, []string{"browse", s.OPCUAEndpoint(), "--depth", "2", "--tags", "--device", "plant", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("browse --tags: exit %d: %s", code, errb.String())
	}
	// The tags paste into a project that validates.
	project := "devices:\n  - name: plant\n    driver: opcua\n    endpoint: " + s.OPCUAEndpoint() + "\ntags:\n" + out.String()
	p, err := config.Parse("browsed.yaml", []byte(project), engine.Drivers())
	if err != nil {
		t.Fatalf("browsed tags do not validate: %v\n%s", err, project)
	}
	if _, ok := p.Tag("TIC101.PV"); !ok {
		t.Errorf("no tag TIC101.PV among the browsed tags:\n%s", out.String())
	}

	if code := run(ctx, []string{"browse", "opc.tcp://127.0.0.1:1", "--timeout", "500ms", "--data", data}, &out, &errb); code != 1 {
		t.Errorf("browse of a closed port: exit %d", code)
	}
	if code := run(ctx, []string{"browse"}, &out, &errb); code != 2 {
		t.Errorf("browse without an endpoint: exit %d", code)
	}
}

// selfSigned makes a server-like certificate.
func selfSigned(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now(), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOPCUACertsCommand(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"opcua", "certs", "--data", data}, &out, &errb); code != 0 || !strings.Contains(out.String(), "no OPC UA server certificates") {
		t.Fatalf("certs on an empty directory: %d %q %q", code, out.String(), errb.String())
	}
	pki := opcua.NewPKI(opcua.PKIDir(data))
	der := selfSigned(t, "press-line-plc")
	if _, err := pki.Check(der, "press", "opc.tcp://10.0.0.5:4840"); err == nil {
		t.Fatal("an unknown certificate passed the check")
	}
	thumb := opcua.Thumbprint(der)
	out.Reset()
	if code := run(ctx, []string{"opcua", "certs", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("certs: %d %s", code, errb.String())
	}
	for _, want := range []string{"rejected", thumb, "CN=press-line-plc", "press", "opc.tcp://10.0.0.5:4840", time.Now().AddDate(1, 0, 0).Format("2006")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("certs lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(ctx, []string{"opcua", "trust", strings.ToUpper(thumb[:12]), "--user", "alice", "--data", data}, &out, &errb); code != 0 || !strings.Contains(out.String(), "trusted: "+thumb) {
		t.Fatalf("trust: %d %q %q", code, out.String(), errb.String())
	}
	if _, err := pki.Check(der, "press", "opc.tcp://10.0.0.5:4840"); err != nil {
		t.Errorf("the trusted certificate fails the check: %v", err)
	}
	if code := run(ctx, []string{"opcua", "untrust", thumb, "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("untrust: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := run(ctx, []string{"opcua", "trust", "0123456789", "--user", "alice", "--data", data}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no such certificate") {
		t.Errorf("trust of an unknown thumbprint: %d %q", code, errb.String())
	}
	if code := run(ctx, []string{"opcua", "trust"}, &out, &errb); code != 2 {
		t.Errorf("trust without a thumbprint: %d", code)
	}

	// Each change is audited, failed ones too.
	st, err := store.Open(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.Events(ctx, store.EventQuery{Kind: hmi.EventAudit, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.User+" "+e.Action+" "+e.New+" "+e.Result)
	}
	want := []string{"alice opcua.trust  certificate 0123456789: no such certificate",
		"cli:" + osUser() + " opcua.untrust rejected ok", "alice opcua.trust trusted ok"}
	if len(got) != 3 || !strings.HasPrefix(got[0], want[0]) || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("audit trail (newest first):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
