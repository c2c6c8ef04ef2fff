package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// controlBase has the tags of a tank, a pump and two loops; "loops:" and
// the rest are appended (the first appended line is line 48).
const controlBase = `version: 1
name: t
devices:
  - name: plc
    driver: modbus-tcp
    host: 10.0.0.1
tags:
  - name: T101.Level
    device: plc
    address: IR0
    type: uint16
  - name: P101.Start
    device: plc
    address: C0
    type: bool
    writable: true
    momentary: 300ms
  - name: P101.Running
    device: plc
    address: C1
    type: bool
    writable: true
  - name: XV101.Cmd
    device: plc
    address: C2
    type: bool
    writable: true
  - name: CV-201/Speed
    device: plc
    address: HR0
    type: float32
    writable: true
    low: 0
    high: 60
    confirm_delta: 10
  - name: TIC.PV
    device: plc
    address: HR2
    type: float32
  - name: TIC.SP
    device: plc
    address: HR4
    type: float32
    writable: true
    low: 20
    high: 110
`

func TestControlSettingsAndDefaults(t *testing.T) {
	src := controlBase + `loops:
  - {name: outer, pv: TIC.PV, sp: TIC.SP, kp: 1, ti: 30}
  - name: inner
    pv: TIC.PV
    sp: TIC.SP
    out: CV-201/Speed
    kp: 2
    ti: 5
    td: 1
    d_filter: 0.2
    p_on: measurement
    out_rate: 5
    sp_high: 100
    sp_ramp: 0.5
    sp_from: outer
    fail_safe: 0
  - {name: plain, pv: TIC.PV, sp: TIC.SP, out: CV-201/Speed, kp: 1, fail_safe: hold, mode: manual}
interlocks:
  - name: P101.DryRun
    when: "T101.Level < 5 && P101.Running"
    blocks: [{tag: P101.Start, value: 1}]
    forces: [{tag: P101.Running, value: 0}, {tag: XV101.Cmd, value: 1}]
    message: "Tank low: pump would run dry"
  - name: speed
    when: tag("CV-201/Speed") > 50 or not XV101.Cmd
    blocks: [{tag: CV-201/Speed}]
`
	p, err := Parse("p.yaml", []byte(src), fakeDrivers{})
	if err != nil {
		t.Fatal(err)
	}
	outer, inner, plain := p.Loops[0], p.Loops[1], p.Loops[2]
	if outer.POn != POnError || outer.DFilter != DefaultDFilter || outer.Mode != ModeAuto || outer.Out != "" ||
		outer.OutLow != 0 || outer.OutHigh != 100 || outer.FailSafe.Output || outer.Period.Duration != DefaultLoopPeriod {
		t.Errorf("outer defaults: %+v", outer)
	}
	if outer.SPLow == nil || *outer.SPLow != 20 || outer.SPHigh == nil || *outer.SPHigh != 110 {
		t.Errorf("outer setpoint limits %v..%v, want the SP tag's 20..110", outer.SPLow, outer.SPHigh)
	}
	if inner.Mode != ModeCascade || inner.POn != POnMeasurement || inner.DFilter != 0.2 || inner.OutRate != 5 ||
		*inner.SPLow != 20 || *inner.SPHigh != 100 || inner.SPRamp != 0.5 || inner.FailSafe != (FailSafe{Output: true, Value: 0}) {
		t.Errorf("inner: %+v", inner)
	}
	if plain.FailSafe.Output || plain.FailSafe.String() != "hold" || plain.Mode != ModeManual {
		t.Errorf("plain: %+v", plain)
	}
	if s, ok := p.Secondary("outer"); !ok || s.Name != "inner" {
		t.Errorf("secondary of outer = %v", s)
	}
	start, _ := p.Tag("P101.Start")
	speed, _ := p.Tag("CV-201/Speed")
	if start.Momentary.Duration != 300*time.Millisecond || speed.ConfirmDelta != 10 {
		t.Errorf("momentary %v, confirm_delta %g", start.Momentary, speed.ConfirmDelta)
	}
	il := p.Interlocks[0]
	if il.Cond == nil || strings.Join(il.Cond.Refs, ",") != "T101.Level,P101.Running" || il.Message != "Tank low: pump would run dry" {
		t.Fatalf("interlock: %+v, cond %+v", il, il.Cond)
	}
	if sp := p.Interlocks[1]; sp.Message != "speed" || sp.Blocks[0].Value != nil || strings.Join(sp.Cond.Refs, ",") != "CV-201/Speed,XV101.Cmd" {
		t.Errorf("second interlock: %+v refs %v", sp, sp.Cond.Refs)
	}
	if !strings.Contains(p.Summary(), "3 loops, 2 interlocks") {
		t.Errorf("summary %q", p.Summary())
	}
}

func TestControlErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"loop settings", `loops:
  - name: L
    pv: TIC.PV
    sp: TIC.SP
    out: CV-201/Speed
    kp: 1
    ti: -1
    d_filter: 2
    p_on: setpoint
    out_rate: -3
    sp_low: 10
    sp_high: 120
    sp_ramp: NaN
    mode: cascade
    fail_safe: 200
`, []string{
			`p.yaml:53:9: loops[0] "L": ti: ti must be 0 or more`,
			`p.yaml:54:15: loops[0] "L": d_filter: d_filter 2 is out of range (above 0, at most 1: the filter's time constant is d_filter·td)`,
			`p.yaml:55:11: loops[0] "L": p_on: p_on "setpoint" is not one of: error, measurement`,
			`p.yaml:56:15: loops[0] "L": out_rate: out_rate must be 0 or more`,
			`p.yaml:57:13: loops[0] "L": sp_low: sp_low 10 is below the low limit 20 of tag "TIC.SP"`,
			`p.yaml:58:14: loops[0] "L": sp_high: sp_high 120 is above the high limit 110 of tag "TIC.SP"`,
			`p.yaml:59:14: loops[0] "L": sp_ramp: sp_ramp must be a number`,
			`p.yaml:60:11: loops[0] "L": mode: mode cascade needs sp_from (the primary loop)`,
			`p.yaml:61:16: loops[0] "L": fail_safe: fail_safe 200 is outside the output limits 0..100`,
		}},
		{"fail_safe word", "loops:\n  - {name: L, pv: TIC.PV, sp: TIC.SP, out: CV-201/Speed, kp: 1, fail_safe: off}\n",
			[]string{`p.yaml:48:76: loops[0] "L": fail_safe: want "hold" or an output value, got "off"`}},
		{"cascades", `loops:
  - {name: A, pv: TIC.PV, sp: TIC.SP, kp: 1, sp_from: B}
  - {name: B, pv: TIC.PV, sp: TIC.SP, kp: 1, sp_from: A}
  - {name: C, pv: TIC.PV, sp: TIC.SP, out: CV-201/Speed, kp: 1, sp_from: C}
  - {name: D, pv: TIC.PV, sp: TIC.SP, out: CV-201/Speed, kp: 1, sp_from: nope}
  - {name: E, pv: TIC.PV, sp: TIC.SP, kp: 1}
`, []string{
			`p.yaml:48:55: loops[0] "A": sp_from: sp_from of loop "A" makes a cycle of cascades`,
			`p.yaml:49:55: loops[1] "B": sp_from: sp_from of loop "B" makes a cycle of cascades`,
			`p.yaml:50:74: loops[2] "C": sp_from: sp_from names the loop itself`,
			`p.yaml:51:74: loops[3] "D": sp_from: sp_from "nope" is not a loop of the project`,
			`p.yaml:52:5: loops[4] "E": out is missing`,
		}},
		{"interlocks", `interlocks:
  - name: typo
    when: T101.Levle < 5
    blocks: [{tag: P101.Start, value: 1}]
  - name: syntax
    when: "T101.Level <"
    forces: [{tag: P101.Running}]
  - name: type
    when: T101.Level + 1
    forces: [{tag: T101.Level, value: 0}]
  - name: call
    when: tag(XV101.Cmd)
    blocks: [{tag: nope}]
  - name: empty
    when: P101.Running
  - name: limits
    when: P101.Running
    forces: [{tag: CV-201/Speed, value: 70}]
    blocks: [{tag: CV-201/Speed, value: Inf}]
  - name: unknown-call
    when: tag("T101.Lvl") > 2
    blocks: [{tag: P101.Start}]
  - name: mismatch
    when: T101.Level == "high"
    blocks: [{tag: P101.Start}]
`, []string{
			`p.yaml:49:11: interlocks[0] "typo": when: unknown tag "T101.Levle" (at column 1 of the condition)`,
			`p.yaml:52:11: interlocks[1] "syntax": when: unexpected token EOF (at 1:12 of the condition)`,
			`p.yaml:53:14: interlocks[1] "syntax": forces[0]: value is missing (the value forced, e.g. 0)`,
			`p.yaml:55:11: interlocks[2] "type": when: expected bool, but got float64`,
			`p.yaml:56:20: interlocks[2] "type": forces[0].tag: forced tag "T101.Level" is not writable`,
			`p.yaml:58:11: interlocks[3] "call": when: tag() takes one tag name in quotes, e.g. tag("T101.Level") (at column 1 of the condition)`,
			`p.yaml:59:20: interlocks[3] "call": blocks[0].tag: tag "nope" is not defined in tags`,
			`p.yaml:60:5: interlocks[4] "empty": the interlock neither blocks nor forces anything (give blocks, forces or both)`,
			`p.yaml:64:41: interlocks[5] "limits": forces[0].value: value 70 is outside the limits of tag "CV-201/Speed" (0..60)`,
			`p.yaml:65:41: interlocks[5] "limits": blocks[0].value: value must be a number`,
			`p.yaml:67:11: interlocks[6] "unknown-call": when: unknown tag "T101.Lvl" (at column 1 of the condition)`,
			`p.yaml:70:11: interlocks[7] "mismatch": when: invalid operation: == (mismatched types float64 and string) (at 1:12 of the condition)`,
		}},
		{"tag controls", strings.Replace(controlBase, "    address: HR2\n    type: float32\n", "    address: HR2\n    type: float32\n    momentary: 1s\n    confirm_delta: -1\n", 1),
			[]string{`p.yaml:40:16: tags[5] "TIC.PV": momentary: momentary is set but the tag is not writable`,
				`p.yaml:41:20: tags[5] "TIC.PV": confirm_delta: confirm_delta is set but the tag is not writable`}},
		{"momentary range", strings.Replace(controlBase, "momentary: 300ms", "momentary: 2m", 1),
			[]string{`p.yaml:17:16: tags[1] "P101.Start": momentary: momentary 2m0s is out of range (50ms-10s)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.src
			if !strings.HasPrefix(src, "version") {
				src = controlBase + src
			}
			_, err := Parse("p.yaml", []byte(src), fakeDrivers{})
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

func TestExprEval(t *testing.T) {
	types := map[string]string{"T101.Level": "uint16", "P101.Running": "bool", "T101": "double", "CV-201/Mode": "string", "A.B.C": "double"}
	lookup := func(n string) (string, bool) { typ, ok := types[n]; return typ, ok }
	cases := []struct {
		src  string
		refs string
		vals []hmi.Value
		want bool
	}{
		{"T101.Level < 5", "T101.Level", []hmi.Value{hmi.Number(4.9)}, true},
		{"T101.Level < 5", "T101.Level", []hmi.Value{hmi.Number(5)}, false},
		{"T101.Level < 5 and P101.Running", "T101.Level,P101.Running", []hmi.Value{hmi.Number(1), hmi.Bool(false)}, false},
		{"T101.Level < 5 and P101.Running", "T101.Level,P101.Running", []hmi.Value{hmi.Number(1), hmi.Bool(true)}, true},
		// A tag named like the first part of another: the longest name wins.
		{"T101 > 1 && T101.Level > 1", "T101,T101.Level", []hmi.Value{hmi.Number(2), hmi.Number(0)}, false},
		{`tag("CV-201/Mode") == "jog" || tag("T101.Level") >= 50`, "CV-201/Mode,T101.Level", []hmi.Value{hmi.String("jog"), hmi.Number(0)}, true},
		{"A.B.C != 0", "A.B.C", []hmi.Value{hmi.Number(1)}, true},
		{"abs(T101.Level - 50) > 10 and T101.Level == T101.Level", "T101.Level", []hmi.Value{hmi.Number(39)}, true},
		// NaN compares false; the interlock runner treats it as unusable before.
		{"T101.Level < 5", "T101.Level", []hmi.Value{hmi.Number(math.NaN())}, false},
	}
	for _, c := range cases {
		x, err := CompileExpr(c.src, lookup)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if got := strings.Join(x.Refs, ","); got != c.refs {
			t.Errorf("%s: refs %s, want %s", c.src, got, c.refs)
		}
		got, err := x.Eval(c.vals)
		if err != nil || got != c.want {
			t.Errorf("%s with %v = %v, %v; want %v", c.src, c.vals, got, err, c.want)
		}
	}
	x, _ := CompileExpr("T101.Level < 5", lookup)
	if _, err := x.Eval(nil); err == nil {
		t.Error("Eval with too few values did not fail")
	}
	for _, bad := range []string{"", "  ", "T101.Level <", "Nope > 1", "T101.Level.X > 1", `tag("T101.Level", 1) > 0`, `len(tag("x")) > 0`} {
		if _, err := CompileExpr(bad, lookup); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
