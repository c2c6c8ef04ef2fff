package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/driver/opcua"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

func getJSON(t *testing.T, r *rig, path string, hdr map[string]string) (int, any) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// serverCert is a self-signed certificate as an OPC UA server presents it.
func serverCert(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "PLC-7 OPC UA server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOPCUAEndpointsNeedAnEngineer(t *testing.T) {
	r := newRig(t, 2)
	op := map[string]string{"Authorization": "Bearer " + login(t, r, "op", "op-pass")}
	eng := map[string]string{"Authorization": "Bearer " + login(t, r, "eng", "eng-pass")}
	for _, path := range []string{"/api/v1/opcua/devices", "/api/v1/opcua/certificates", "/api/v1/opcua/browse?device=dev"} {
		if code, v := getJSON(t, r, path, nil); code != 401 {
			t.Errorf("GET %s logged out: %d %v, want 401", path, code, v)
		}
		if code, v := getJSON(t, r, path, op); code != 403 {
			t.Errorf("GET %s as operator: %d %v, want 403", path, code, v)
		}
	}
	cases := []struct {
		path string
		want int
	}{
		{"/api/v1/opcua/devices", 200},
		{"/api/v1/opcua/certificates", 200},
		{"/api/v1/opcua/browse", 400},             // no device named
		{"/api/v1/opcua/browse?device=nope", 404}, // unknown device
		{"/api/v1/opcua/browse?device=dev", 400},  // not an OPC UA device
	}
	for _, c := range cases {
		code, v := getJSON(t, r, c.path, eng)
		if code != c.want {
			t.Errorf("GET %s as engineer: %d %v, want %d", c.path, code, v, c.want)
		}
		if m, isErr := v.(map[string]any); c.want >= 400 && (!isErr || m["error"] == "") {
			t.Errorf("GET %s: no error sentence in %v", c.path, v)
		}
	}
	if _, v := getJSON(t, r, "/api/v1/opcua/devices", eng); v == nil || len(v.([]any)) != 0 {
		t.Errorf("devices = %v, want an empty list (the rig has no OPC UA device)", v)
	}
}

func TestTrustCertificateIsAudited(t *testing.T) {
	r := newRig(t, 2)
	der := serverCert(t)
	pki := opcua.NewPKI(opcua.PKIDir(r.data))
	if _, err := pki.Check(der, "plc7", "opc.tcp://10.0.0.7:4840"); !errors.Is(err, opcua.ErrUntrusted) {
		t.Fatalf("first meeting of a server certificate: %v, want ErrUntrusted", err)
	}
	thumb := opcua.Thumbprint(der)
	eng := map[string]string{"Authorization": "Bearer " + login(t, r, "eng", "eng-pass")}
	op := map[string]string{"Authorization": "Bearer " + login(t, r, "op", "op-pass")}

	_, v := getJSON(t, r, "/api/v1/opcua/certificates", eng)
	list, _ := v.([]any)
	if len(list) != 1 || list[0].(map[string]any)["status"] != "rejected" || list[0].(map[string]any)["thumbprint"] != thumb ||
		list[0].(map[string]any)["device"] != "plc7" {
		t.Fatalf("certificates = %v, want the one rejected certificate of plc7", v)
	}
	if code, m := post(t, r, "/api/v1/opcua/certificates/"+thumb+"/trust", `{}`, op); code != 403 {
		t.Errorf("operator trusts: %d %v, want 403", code, m)
	}
	if code, m := post(t, r, "/api/v1/opcua/certificates/00/trust", `{}`, eng); code != 400 {
		t.Errorf("trust a too short thumbprint: %d %v, want 400", code, m)
	}
	if code, m := post(t, r, "/api/v1/opcua/certificates/0123456789abcdef/trust", `{}`, eng); code != 404 {
		t.Errorf("trust an unknown thumbprint: %d %v, want 404", code, m)
	}
	code, m := post(t, r, "/api/v1/opcua/certificates/"+thumb+"/trust", `{}`, eng)
	if code != 200 || m["status"] != "trusted" {
		t.Fatalf("engineer trusts: %d %v, want 200 trusted", code, m)
	}
	if _, err := pki.Check(der, "plc7", "opc.tcp://10.0.0.7:4840"); err != nil {
		t.Errorf("after trust the driver's check still fails: %v", err)
	}
	if code, m := post(t, r, "/api/v1/opcua/certificates/"+thumb+"/reject", `{}`, eng); code != 200 || m["status"] != "rejected" {
		t.Errorf("engineer rejects: %d %v, want 200 rejected", code, m)
	}
	if _, err := pki.Check(der, "plc7", "opc.tcp://10.0.0.7:4840"); !errors.Is(err, opcua.ErrUntrusted) {
		t.Errorf("after reject the driver's check passes: %v", err)
	}

	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range evs {
		if e.Action != "opcua.trust" && e.Action != "opcua.reject" {
			continue
		}
		got[e.User+" "+e.Action+" "+e.Old+">"+e.New+" "+map[bool]string{true: "ok", false: "refused"}[e.Result == "ok"]]++
		if e.Result == "ok" && e.Source != "opcua certificate "+thumb {
			t.Errorf("audit source %q, want the thumbprint", e.Source)
		}
	}
	want := map[string]int{
		"op opcua.trust rejected>trusted refused":  1,
		"eng opcua.trust rejected>trusted refused": 2, // too short, unknown
		"eng opcua.trust rejected>trusted ok":      1,
		"eng opcua.reject trusted>rejected ok":     1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("audit %q: %d entries, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

// A device's refusal of a value answers 400, of the address 409, with the
// device's words; both are audited as refused.
func TestDeviceRefusalsMapToStatus(t *testing.T) {
	r := newRig(t, 2)
	eng := map[string]string{"Authorization": "Bearer " + login(t, r, "eng", "eng-pass")}
	for _, c := range []struct {
		value string
		want  int
		words string
	}{
		{"9999", 400, "illegal data value (exception 3)"},
		{"-9999", 409, "not writable (BadNotWritable)"},
	} {
		code, m := post(t, r, "/api/v1/tags/TIC101.KP/write", `{"value":`+c.value+`}`, eng)
		msg, _ := m["error"].(string)
		if code != c.want || !strings.Contains(msg, c.words) || !strings.Contains(msg, "TIC101.KP") {
			t.Errorf("write %s refused by the device: %d %v, want %d naming the tag and %q", c.value, code, m, c.want, c.words)
		}
	}
}
