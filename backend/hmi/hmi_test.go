package hmi

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestValueJSONRoundTrip(t *testing.T) {
	for _, c := range []struct {
		v    Value
		json string
	}{{Number(42.5), "42.5"}, {Number(-1e-7), "-1e-07"}, {Bool(true), "true"}, {Bool(false), "false"},
		{String("a\"b"), `"a\"b"`}, {Value{}, "null"}, {Number(math.NaN()), "null"}, {Number(math.Inf(1)), "null"}} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", c.v, b, err, c.json)
		}
		if math.IsNaN(c.v.Float()) || math.IsInf(c.v.Float(), 0) {
			continue
		}
		var back Value
		if err := json.Unmarshal(b, &back); err != nil || back != c.v {
			t.Errorf("round trip of %s = %#v, %v", b, back, err)
		}
	}
	var v Value
	if err := json.Unmarshal([]byte(`{"x":1}`), &v); err == nil {
		t.Error("an object was accepted as a value")
	}
}

func TestRoles(t *testing.T) {
	op, err := ParseRole("operator")
	if err != nil || op != RoleOperator {
		t.Fatal(op, err)
	}
	if !RoleEngineer.Allows(RoleOperator) || RoleViewer.Allows(RoleOperator) || RoleNone.Allows(RoleNone) {
		t.Error("role order wrong")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestEventJSONTimesAreMillis(t *testing.T) {
	b, _ := json.Marshal(Event{TS: time.UnixMilli(1700000000123), Kind: EventAudit, Action: "write"})
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["ts"] != float64(1700000000123) || m["kind"] != "audit" {
		t.Errorf("event JSON = %s", b)
	}
}
