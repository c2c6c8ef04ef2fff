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

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", "examples/demo.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("check demo: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `examples/demo.yaml: ok: project "Demo mixing line": 2 devices, 13 tags, 11 alarms, 1 loops, 1 interlocks`) {
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

func TestUserCommands(t *testing.T) {
	data := t.TempDir()
	cmd := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := userCmd(context.Background(), append(args, "--data", data), strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, errs := cmd("", "list"); code != 0 || !strings.Contains(errs, "no users") {
		t.Errorf("list of none: %d %q", code, errs)
	}
	if code, out, errs := cmd("s3cret-pw\n", "add", "ann", "--role", "admin"); code != 0 || !strings.Contains(out, `user "ann" added with role admin`) {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"s3cret-pw\n", []string{"add", "ann", "--role", "admin"}, 1, "already exists"},
		{"s3cret-pw\n", []string{"add", "bob", "--role", "boss"}, 2, "unknown role"},
		{"", []string{"add", "bob", "--role", "viewer"}, 1, "no password on stdin"},
		{"abc\n", []string{"add", "bob", "--role", "viewer"}, 1, "too short"},
		{"", []string{"disable", "nobody"}, 1, "not found"},
		{"", []string{"add"}, 2, "give the user's name"},
	} {
		if code, _, errs := cmd(c.stdin, c.args...); code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("user %v: exit %d %q, want %d and %q", c.args, code, errs, c.code, c.msg)
		}
	}
	if code, _, errs := cmd("", "disable", "ann"); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := cmd("n3w-password\n", "passwd", "ann"); code != 0 {
		t.Fatal(errs)
	}
	_, out, _ := cmd("", "list")
	if !strings.Contains(out, "ann") || !strings.Contains(out, "admin") || !strings.Contains(out, "disabled") {
		t.Errorf("list = %q", out)
	}
	// Every change, failed ones too, is in the audit trail.
	st, err := store.Open(context.Background(), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, _ := st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Source: "user:ann"})
	actions := map[string]int{}
	for _, e := range ev {
		actions[e.Action+"/"+map[bool]string{true: "ok", false: "error"}[e.Result == "ok"]]++
	}
	if actions["user.add/ok"] != 1 || actions["user.add/error"] != 1 || actions["user.disable/ok"] != 1 || actions["user.passwd/ok"] != 1 {
		t.Errorf("audited user changes: %v", actions)
	}
}
