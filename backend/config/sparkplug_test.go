package config

import (
	"strings"
	"testing"
)

func TestSparkplugSection(t *testing.T) {
	p, err := Parse("p.yaml", []byte(good), fakeDrivers{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Sparkplug != nil {
		t.Fatal("no section, no edge node")
	}
	src := good + "sparkplug:\n  brokers: [\"tcp://127.0.0.1:1883\"]\n  group_id: plant\n  edge_node: hmi1\n"
	if p, err = Parse("p.yaml", []byte(src), fakeDrivers{}); err != nil {
		t.Fatal(err)
	}
	s := p.Sparkplug
	if s.ClientID != "edgehmi-plant-hmi1" || s.Buffer.MaxRows != DefaultSparkplugBufferRows || *s.QoS != 1 || s.MaxMetrics != DefaultSparkplugMaxMetrics ||
		s.PublishPeriod.Duration != DefaultSparkplugPublishPeriod || s.Commands.Enabled || s.CommandRole().String() != "operator" ||
		s.KeepAlive.Duration != DefaultSparkplugKeepAlive || s.RetryMax.Duration != DefaultSparkplugRetryMax {
		t.Errorf("defaults %+v", s)
	}
	bad := good + "sparkplug:\n  brokers: [\"http://x\"]\n  group_id: \"a/b\"\n  edge_node: hmi1\n  password: x\n  password_env: Y\n" +
		"  tls: {ca: ca.pem}\n  commands: {enabled: true, role: viewer}\n  buffer: {max_rows: 5}\n  qos: 2\n  tags: [nope]\n  colour: red\n"
	_, err = Parse("p.yaml", []byte(bad), fakeDrivers{})
	if err == nil {
		t.Fatal("bad section accepted")
	}
	for _, want := range []string{"scheme \"http\"", "group_id \"a/b\"", "one of password", "a password needs a username", "need an ssl://",
		"commands need operator", "max_rows 5", "qos 2", "no tag \"nope\"", "colour"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	if !strings.Contains(err.Error(), "p.yaml:") {
		t.Errorf("errors without FILE:LINE:COL: %v", err)
	}
}
