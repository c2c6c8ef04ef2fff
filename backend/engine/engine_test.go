package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

func demoProject(t *testing.T) *config.Project {
	t.Helper()
	data, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := config.Parse("examples/demo.yaml", data, Drivers())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func quality(e *Engine, tag string) hmi.Quality {
	s, _ := e.Tags().GetByName(tag)
	return s.Quality
}

// TestDemoEndToEnd runs the demo project against the built-in plant over
// real Modbus TCP and OPC UA: values arrive, the PID loop drives the
// temperature, and killing the Modbus server marks only its tags Bad until
// it returns.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(context.Background(), Options{Project: demoProject(t), DataDir: dir, Listen: "127.0.0.1:0", Demo: true,
		Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			e.Stop(context.Background())
		}
	}()
	for _, tag := range []string{"T101.Level", "XV101.Open", "CV201.Count", "TIC101.PV", "TIC101.SP", "TIC101.OUT"} {
		waitFor(t, 10*time.Second, tag+" good", func() bool { return quality(e, tag) == hmi.Good })
	}
	pv0, _ := e.Tags().GetByName("TIC101.PV")
	waitFor(t, 20*time.Second, "the PID loop to heat the mixer by 3 °C", func() bool {
		pv, _ := e.Tags().GetByName("TIC101.PV")
		return pv.Value.Float() > pv0.Value.Float()+3
	})

	// Kill the plant's Modbus server: plc1's tags go Bad within a timeout
	// (500 ms in the demo) plus a scan; the OPC UA tags are unaffected.
	if err := e.Sim().StopModbus(); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "T101.Level bad", func() bool { return quality(e, "T101.Level") == hmi.Bad })
	t.Logf("Modbus tags Bad %v after the server stopped", took)
	if took > 1500*time.Millisecond {
		t.Errorf("Modbus tags took %v to go Bad, want within a timeout (500ms) and a scan (200ms)", took)
	}
	if s, _ := e.Tags().GetByName("T101.Level"); s.Reason == "" {
		t.Error("Bad without a reason")
	}
	pvBefore, _ := e.Tags().GetByName("TIC101.PV")
	time.Sleep(600 * time.Millisecond)
	pvAfter, _ := e.Tags().GetByName("TIC101.PV")
	if pvAfter.Quality != hmi.Good || !pvAfter.TS.After(pvBefore.TS) {
		t.Errorf("OPC UA tag stalled while Modbus was down: %+v then %+v", pvBefore, pvAfter)
	}
	if err := e.Sim().StartModbus(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "T101.Level good again", func() bool { return quality(e, "T101.Level") == hmi.Good })

	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	// Everything logged was committed: start, device connects and losses, stop.
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.Events(context.Background(), store.EventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, x := range ev {
		seen[x.Source+"/"+x.Action]++
	}
	for _, want := range []string{"edgehmi/start", "edgehmi/stop", "plc1/connect", "plc1/disconnect", "heater/connect"} {
		if seen[want] == 0 {
			t.Errorf("no %s event in the log: %v", want, seen)
		}
	}
	if seen["plc1/connect"] < 2 {
		t.Errorf("plc1 connected %d times, want a reconnect", seen["plc1/connect"])
	}
}

func TestPortInUse(t *testing.T) {
	e, err := Start(context.Background(), Options{Project: demoProject(t), DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	addr := e.URL()[len("http://"):]
	_, err = Start(context.Background(), Options{Project: demoProject(t), DataDir: t.TempDir(), Listen: addr,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		t.Fatal("started twice on one port")
	}
	t.Log(err)
}

func TestTLSSelfSigned(t *testing.T) {
	p := demoProject(t)
	p.Server.TLS = &config.TLS{Listen: "127.0.0.1:0", SelfSigned: true}
	dir := t.TempDir()
	e, err := Start(context.Background(), Options{Project: p, DataDir: dir, Listen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	if !strings.HasPrefix(e.URL(), "https://") {
		t.Fatalf("URL %s is not https", e.URL())
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, SelfSignedKey)); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.URL() + "/healthz")
	if err != nil {
		t.Fatalf("https with the self-signed certificate as root: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("https healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	// Plain HTTP on server.listen redirects to the same path over HTTPS.
	resp, err = client.Get("http://" + e.RedirectAddr() + "/api/v1/tags?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.URL(), "https://"))
	if want := "https://127.0.0.1:" + port + "/api/v1/tags?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("redirect: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}
