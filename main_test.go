package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", "examples/demo.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("check demo: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `examples/demo.yaml: ok: project "Demo mixing line": 2 devices, 11 tags, 4 alarms, 1 loops`) {
		t.Errorf("summary = %q", out.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src := strings.Replace(string(mustRead(t, "examples/demo.yaml")), "address: HR0", "address: HR70000", 1)
	src = strings.Replace(src, "writable: true\n    description: Inlet", "writeable: true\n    description: Inlet", 1)
	os.WriteFile(bad, []byte(src), 0o644)
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"check", "--config", bad}, &out, &errb); code != 1 {
		t.Fatalf("check bad file: exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], bad+":") || !strings.Contains(lines[0], `tags[1] "XV101.Open": unknown field "writeable"`) ||
		!strings.Contains(lines[1], `tags[6] "CV201.Speed": address: address "HR70000"`) || lines[2] != "2 problems found" {
		t.Errorf("check output:\n%s", errb.String())
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServeBrokenConfigStartsNothing(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("devices:\n  - name: x\n    driver: modbus-tcp\n    hots: a\n"), 0o644)
	data := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--config", bad, "--data", data}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), bad+`:4:5: devices[0] "x": unknown field "hots" (did you mean "host"?)`) {
		t.Errorf("stderr = %q", errb.String())
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a broken project created the data directory")
	}
}

func TestServePortInUseAndSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", "examples/demo.yaml", "--listen", ln.Addr().String(), "--data", t.TempDir()}, &out, &errb)
	if code != 1 || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 || !strings.Contains(errb.String(), "address already in use") {
		t.Errorf("port in use: exit %d, stderr %q; want 1 and one line", code, errb.String())
	}

	// A signal (here: the context ending) stops the server with exit 0.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	out.Reset()
	go func() {
		done <- run(ctx, []string{"serve", "--config", "examples/demo.yaml", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--log-level", "error"}, &out, &errb)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("stop: exit %d, stderr %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestUnknownCommandAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "edgehmi ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
}
