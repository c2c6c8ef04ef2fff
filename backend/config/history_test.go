package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHistorySettings(t *testing.T) {
	p, err := Parse("p.yaml", []byte(good), fakeDrivers{})
	if err != nil {
		t.Fatal(err)
	}
	tag := &p.Tags[0]
	if p.History.Retention.Duration != DefaultHistoryRetention || p.History.MaxSize != DefaultHistoryMaxSize ||
		p.HistoryHeartbeat(tag) != DefaultHistoryHeartbeat || p.Historized(tag) || tag.HistoryDeadband() != 0 {
		t.Errorf("defaults: %+v", p.History)
	}
	src := good + "    deadband: 2\n  - name: b\n    device: plc\n    address: HR2\n    type: uint16\n    history: {deadband: 0.5, heartbeat: 10s}\n" +
		"  - name: c\n    device: plc\n    address: HR3\n    type: uint16\n    history: {disabled: true}\n" +
		"history:\n  retention: 7d\n  max_size: 512MB\n  heartbeat: 30s\n"
	if p, err = Parse("p.yaml", []byte(src), fakeDrivers{}); err != nil {
		t.Fatal(err)
	}
	a, b, c := &p.Tags[0], &p.Tags[1], &p.Tags[2]
	if p.History.Retention.Duration != 7*24*time.Hour || p.History.MaxSize != 512<<20 {
		t.Errorf("history %+v", p.History)
	}
	if a.HistoryDeadband() != 2 || p.HistoryHeartbeat(a) != 30*time.Second || b.HistoryDeadband() != 0.5 || p.HistoryHeartbeat(b) != 10*time.Second {
		t.Errorf("tag settings: a %g %s, b %g %s", a.HistoryDeadband(), p.HistoryHeartbeat(a), b.HistoryDeadband(), p.HistoryHeartbeat(b))
	}
	if p.Historized(a) || !p.Historized(b) || p.Historized(c) {
		t.Errorf("historized: a (no setting) %v, b (settings) %v, c (disabled) %v; want false true false", p.Historized(a), p.Historized(b), p.Historized(c))
	}
	// history.all records tags without a setting, not disabled ones; a
	// tag's empty setting marks it for recording.
	all := good + "  - name: c\n    device: plc\n    address: HR3\n    type: uint16\n    history: {disabled: true}\n" +
		"  - name: d\n    device: plc\n    address: HR4\n    type: uint16\n    history: {}\n" +
		"history:\n  all: true\n"
	if p, err = Parse("p.yaml", []byte(all), fakeDrivers{}); err != nil {
		t.Fatal(err)
	}
	if !p.Historized(&p.Tags[0]) || p.Historized(&p.Tags[1]) || !p.Historized(&p.Tags[2]) {
		t.Errorf("history.all: a %v, c (disabled) %v, d {} %v; want true false true", p.Historized(&p.Tags[0]), p.Historized(&p.Tags[1]), p.Historized(&p.Tags[2]))
	}
	if p, err = Parse("p.yaml", []byte(good+"  - name: d\n    device: plc\n    address: HR4\n    type: uint16\n    history: {}\n"), fakeDrivers{}); err != nil {
		t.Fatal(err)
	}
	if p.Historized(&p.Tags[0]) || !p.Historized(&p.Tags[1]) {
		t.Errorf("without history.all: a %v, d {} %v; want false true", p.Historized(&p.Tags[0]), p.Historized(&p.Tags[1]))
	}
	bad := good + "    history: {deadband: -1, heartbeat: 100ms}\nhistory:\n  retention: 10m\n  max_size: 1KB\n  heartbeat: 1ms\n"
	_, err = Parse("p.yaml", []byte(bad), fakeDrivers{})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err %v", err)
	}
	got := err.Error()
	for _, want := range []string{"retention 10m0s is too short", "max_size 1024 bytes is too small", "heartbeat 1ms is too short",
		`tags[0] "a": history.deadband: deadband must be 0 or more`, `tags[0] "a": history.heartbeat: heartbeat 100ms is too short`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if _, err := Parse("p.yaml", []byte(good+"history:\n  max_size: lots\n  retention: 3w\n"), fakeDrivers{}); err == nil ||
		!strings.Contains(err.Error(), `"lots" is not a size`) || !strings.Contains(err.Error(), `"3w" is not a duration`) {
		t.Errorf("bad units: %v", err)
	}
}
