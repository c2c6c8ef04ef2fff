package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeDrivers accepts addresses starting with "HR" for modbus-tcp and "ns=" for opcua.
type fakeDrivers struct{}

func (fakeDrivers) Names() []string { return []string{DriverModbusTCP, DriverOPCUA} }
func (fakeDrivers) CheckAddress(driver, addr, typ string) error {
	switch {
	case driver == DriverModbusTCP && !strings.HasPrefix(addr, "HR") && !strings.HasPrefix(addr, "IR") && !strings.HasPrefix(addr, "C") && !strings.HasPrefix(addr, "DI"):
		return fmt.Errorf("address %q: unknown table", addr)
	case driver == DriverOPCUA && !strings.HasPrefix(addr, "ns="):
		return fmt.Errorf("address %q: not a node id", addr)
	}
	return nil
}

func TestDemoProjectIsValid(t *testing.T) {
	data, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("demo.yaml", data, fakeDrivers{})
	if err != nil {
		t.Fatalf("demo project: %v", err)
	}
	if got := p.Summary(); got != `project "Demo mixing line": 2 devices, 13 tags, 11 alarms, 1 loops, 1 interlocks` {
		t.Errorf("summary = %q", got)
	}
	if len(p.Hash) != 64 {
		t.Errorf("hash %q is not a hex SHA-256", p.Hash)
	}
	plc, _ := p.Device("plc1")
	if plc.Scan.Duration != 200*time.Millisecond || plc.Timeout.Duration != 500*time.Millisecond || plc.UnitID != 1 {
		t.Errorf("plc1 = %+v", plc)
	}
	lvl, _ := p.Tag("T101.Level")
	if got := lvl.Scale.Apply(5000); got != 50 {
		t.Errorf("scale 5000 = %v, want 50", got)
	}
	if got := lvl.Scale.Invert(50); got != 5000 {
		t.Errorf("invert 50 = %v, want 5000", got)
	}
}

const good = `version: 1
name: t
devices:
  - name: plc
    driver: modbus-tcp
    host: 10.0.0.1
tags:
  - name: a
    device: plc
    address: HR1
    type: uint16
`

func TestDefaults(t *testing.T) {
	p, err := Parse("p.yaml", []byte(good), fakeDrivers{})
	if err != nil {
		t.Fatal(err)
	}
	d := p.Devices[0]
	if d.Port != 502 || d.UnitID != 1 || d.Timeout.Duration != time.Second || d.Scan.Duration != time.Second {
		t.Errorf("defaults not applied: %+v", d)
	}
	if p.Server.Listen != DefaultListen {
		t.Errorf("listen = %q", p.Server.Listen)
	}
}

func TestExplicitZeroUnitIDKept(t *testing.T) {
	src := strings.Replace(good, "host: 10.0.0.1", "host: 10.0.0.1\n    unit_id: 0", 1)
	p, err := Parse("p.yaml", []byte(src), fakeDrivers{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Devices[0].UnitID != 0 {
		t.Errorf("unit_id = %d, want explicit 0", p.Devices[0].UnitID)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // every error line, in order
	}{
		{"misspelt field", strings.Replace(good, "type: uint16", "type: uint16\n    writeable: true", 1),
			[]string{`p.yaml:12:5: tags[0] "a": unknown field "writeable" (did you mean "writable"?)`}},
		{"unknown top-level field", "name: x\ndevise: []\n",
			[]string{`p.yaml:2:1: unknown field "devise" (did you mean "devices"?)`}},
		{"wrong kinds", strings.Replace(good, "host: 10.0.0.1", "host: 10.0.0.1\n    port: http\n    scan: fast", 1),
			[]string{`p.yaml:7:11: devices[0] "plc": port: want a whole number, got "http"`,
				`p.yaml:8:11: devices[0] "plc": scan: "fast" is not a duration (write e.g. "500ms" or "2s")`}},
		{"unknown device and driver", strings.Replace(strings.Replace(good, "modbus-tcp", "modbus-rtu", 1), "device: plc", "device: plc2", 1),
			[]string{`p.yaml:5:13: devices[0] "plc": driver: unknown driver "modbus-rtu" (one of: modbus-tcp, opcua)`,
				`p.yaml:9:13: tags[0] "a": device: device "plc2" is not defined in devices`}},
		{"bad address", strings.Replace(good, "HR1", "XX1", 1),
			[]string{`p.yaml:10:14: tags[0] "a": address: address "XX1": unknown table`}},
		{"duplicate tag", good + "  - name: a\n    device: plc\n    address: HR2\n    type: uint16\n",
			[]string{`p.yaml:12:11: tags[1] "a": name: tag name "a" is already used by tags[0]`}},
		{"alarm on missing tag", good + "alarms:\n  - name: hi\n    tag: b\n    type: high\n    limit: 3\n",
			[]string{`p.yaml:14:10: alarms[0] "hi": tag: tag "b" is not defined in tags`,
				`p.yaml:15:11: alarms[0] "hi": type: type "high" is not an alarm type (one of: hihi, hi, lo, lolo, deviation, roc, discrete, bad_quality, comm)`}},
		{"loop output not writable", good + "loops:\n  - name: L\n    pv: a\n    sp: a\n    out: a\n    kp: 1\n",
			[]string{`p.yaml:16:10: loops[0] "L": out: out tag "a" is not writable (set writable: true on it)`}},
		{"opcua settings", "devices:\n  - name: ua\n    driver: opcua\n    port: 4840\n    security: signed\n",
			[]string{`p.yaml:2:5: devices[0] "ua": endpoint is missing (e.g. opc.tcp://192.168.0.10:4840)`,
				`p.yaml:4:11: devices[0] "ua": port: port is not a setting of opcua devices`,
				`p.yaml:5:15: devices[0] "ua": security: security "signed" is not one of: none, sign, sign_and_encrypt`}},
		{"opcua security", "devices:\n  - name: ua\n    driver: opcua\n    endpoint: opc.tcp://h:4840\n    security_policy: Basic256Sha256\n    username: op\n" +
			"  - name: ub\n    driver: opcua\n    endpoint: opc.tcp://h:4840\n    security: sign\n    security_policy: Basic512\n    password: x\n    password_env: X\n    queue_size: 0\n    publish_interval: 1ms\n" +
			"  - name: uc\n    driver: opcua\n    endpoint: opc.tcp://h:4840\n    username: op\n    password_env: 1X\n  - name: plc\n    driver: modbus-tcp\n    host: h\n    username: op\n",
			[]string{`p.yaml:2:5: devices[0] "ua": username "op" needs a password or password_env (the name of an environment variable holding it)`,
				`p.yaml:5:22: devices[0] "ua": security_policy: security_policy "Basic256Sha256" needs security: sign or sign_and_encrypt`,
				`p.yaml:11:22: devices[1] "ub": security_policy: security_policy "Basic512" is not one of: Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, Basic256, Basic128Rsa15`,
				`p.yaml:13:19: devices[1] "ub": password_env: give password or password_env, not both`,
				`p.yaml:14:17: devices[1] "ub": queue_size: 0 is out of range (1-10000)`,
				`p.yaml:15:23: devices[1] "ub": publish_interval: 1ms is too short (at least 10ms)`,
				`p.yaml:20:19: devices[2] "uc": password_env: password_env "1X" is not an environment variable name (letters, digits and _)`,
				`p.yaml:24:15: devices[3] "plc": username: username is not a setting of modbus-tcp devices`}},
		{"syntax error", "devices:\n  - name: [\n", []string{`p.yaml:2:1: YAML syntax: did not find expected node content`}},
		{"empty", "", []string{`p.yaml: the file is empty`}},
		{"version", "version: 2\n", []string{`p.yaml:1:10: version: version 2 is not supported (this edgehmi reads version 1)`}},
		{"tls without files", "server:\n  tls:\n    listen: 0.0.0.0:8443\n",
			[]string{`p.yaml:3:5: server.tls: tls needs cert and key files, or self_signed: true`}},
		{"tls both", "server:\n  listen: 0.0.0.0:80\n  tls: {listen: 0.0.0.0:80, cert: c.pem, key: k.pem, self_signed: true}\n",
			[]string{`p.yaml:3:17: server.tls.listen: tls listen "0.0.0.0:80" is the same address as server.listen`,
				`p.yaml:3:67: server.tls.self_signed: give either cert and key, or self_signed: true, not both`}},
		{"sessions", "server:\n  session_idle: 10s\n  ui_idle_logout: 5s\n",
			[]string{`p.yaml:2:17: server.session_idle: session_idle 10s is too short (at least 1m)`,
				`p.yaml:3:19: server.ui_idle_logout: ui_idle_logout 5s is too short (at least 30s, or 0 for never)`}},
		{"write role", strings.Replace(good, "type: uint16", "type: uint16\n    write_role: boss", 1),
			[]string{`p.yaml:12:17: tags[0] "a": write_role: write_role "boss" is not one of: operator, engineer, admin`}},
		{"write role on a read-only tag", strings.Replace(good, "type: uint16", "type: uint16\n    write_role: engineer", 1),
			[]string{`p.yaml:12:17: tags[0] "a": write_role: write_role is set but the tag is not writable`}},
		{"bad bool", strings.Replace(good, "type: uint16", "type: uint16\n    writable: yes", 1),
			[]string{`p.yaml:12:15: tags[0] "a": writable: want true or false, got "yes"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(c.src), fakeDrivers{})
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			got := strings.Split(es.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"writeable", "writable", 1}, {"kitten", "sitting", 3}, {"", "abc", 3}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q,%q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
