package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// alarmBase has two tags and ends with "alarms:" on line 16, so the first
// alarm's "- name:" is on line 17.
const alarmBase = `version: 1
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
  - name: sp
    device: plc
    address: HR2
    type: uint16
alarms:
`

func TestAlarmTypesAndDefaults(t *testing.T) {
	src := alarmBase + `  - {name: hi, tag: a, type: hi, limit: 80}
  - {name: dev, tag: a, type: deviation, setpoint: sp, limit: 5, deadband: 1, direction: high}
  - {name: dev2, tag: a, type: deviation, setpoint: sp, limit: 5}
  - {name: roc, tag: a, type: roc, limit: 2, window: 30s, direction: low}
  - {name: roc2, tag: a, type: roc, limit: 2}
  - {name: fault, tag: a, type: discrete, equals: 0, latched: true, group: pump}
  - {name: bad, tag: a, type: bad_quality, on_delay: 5s, off_delay: 1s}
  - {name: link, type: comm, device: plc, priority: critical, max_shelve: 1h}
  - name: flow
    tag: a
    type: lo
    limit: 10
    suppressed_by: {tag: sp, equals: 0}
`
	p, err := Parse("p.yaml", []byte(src), fakeDrivers{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Alarm{}
	for _, a := range p.Alarms {
		byName[a.Name] = a
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("alarm %s: %+v", name, byName[name])
		}
	}
	a := byName["hi"]
	check("hi", a.Priority == "medium" && a.Message == "hi" && a.MaxShelve.Duration == DefaultMaxShelve && a.Direction == "" && a.Window.Duration == 0)
	a = byName["dev"]
	check("dev", a.Setpoint == "sp" && a.Direction == "high" && a.Deadband == 1)
	check("dev2", byName["dev2"].Direction == "both")
	a = byName["roc"]
	check("roc", a.Window.Duration == 30*time.Second && a.Direction == "low")
	a = byName["roc2"]
	check("roc2", a.Window.Duration == DefaultROCWindow && a.Direction == "both")
	a = byName["fault"]
	check("fault", a.Equals == 0 && a.Latched && a.Group == "pump")
	a = byName["bad"]
	check("bad", a.OnDelay.Duration == 5*time.Second && a.OffDelay.Duration == time.Second)
	a = byName["link"]
	check("link", a.Device == "plc" && a.Tag == "" && a.MaxShelve.Duration == time.Hour && a.Priority == "critical")
	a = byName["flow"]
	check("flow", a.SuppressedBy != nil && a.SuppressedBy.Tag == "sp" && a.SuppressedBy.Equals == 0)
}

func TestAlarmErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string // alarms, from line 17
		want []string
	}{
		{"comm without device", "  - {name: c, type: comm}\n",
			[]string{`p.yaml:17:5: alarms[0] "c": device is missing (a comm alarm watches a device's communication)`}},
		{"comm with a tag and an unknown device", "  - {name: c, type: comm, tag: a, device: plc9}\n",
			[]string{`p.yaml:17:32: alarms[0] "c": tag: tag is not a setting of comm alarms`,
				`p.yaml:17:43: alarms[0] "c": device: device "plc9" is not defined in devices`}},
		{"device on a tag alarm", "  - {name: h, type: hi, tag: a, limit: 1, device: plc}\n",
			[]string{`p.yaml:17:51: alarms[0] "h": device: device is not a setting of hi alarms`}},
		{"deviation without setpoint", "  - {name: d, type: deviation, tag: a, limit: 5}\n",
			[]string{`p.yaml:17:5: alarms[0] "d": setpoint is missing`}},
		{"deviation unknown setpoint, zero limit", "  - {name: d, type: deviation, tag: a, limit: 0, setpoint: nope}\n",
			[]string{`p.yaml:17:47: alarms[0] "d": limit: limit 0 must be above 0`,
				`p.yaml:17:60: alarms[0] "d": setpoint: setpoint "nope" is not defined in tags`}},
		{"deviation deadband at the limit", "  - {name: d, type: deviation, tag: a, limit: 5, deadband: 5, setpoint: sp}\n",
			[]string{`p.yaml:17:60: alarms[0] "d": deadband: deadband 5 must be below the limit 5, or the alarm would never return`}},
		{"roc window and direction", "  - {name: r, type: roc, tag: a, limit: 1, window: 100ms, direction: up}\n",
			[]string{`p.yaml:17:52: alarms[0] "r": window: window 100ms is too short (at least 1s)`,
				`p.yaml:17:70: alarms[0] "r": direction: direction "up" is not one of: both, high, low`}},
		{"roc negative limit", "  - {name: r, type: roc, tag: a, limit: -1}\n",
			[]string{`p.yaml:17:41: alarms[0] "r": limit: limit -1 must be above 0`}},
		{"limit not a number", "  - {name: h, type: hihi, tag: a, limit: NaN}\n",
			[]string{`p.yaml:17:42: alarms[0] "h": limit: limit must be a number`}},
		{"limit missing", "  - {name: h, type: lolo, tag: a}\n",
			[]string{`p.yaml:17:5: alarms[0] "h": limit is missing`}},
		{"negative deadband", "  - {name: h, type: lo, tag: a, limit: 3, deadband: -1}\n",
			[]string{`p.yaml:17:53: alarms[0] "h": deadband: deadband must be 0 or more`}},
		{"discrete without equals, with a limit", "  - {name: x, type: discrete, tag: a, limit: 1}\n",
			[]string{`p.yaml:17:5: alarms[0] "x": equals is missing (the value at which the alarm is active, e.g. 1)`,
				`p.yaml:17:46: alarms[0] "x": limit: limit is not a setting of discrete alarms`}},
		{"settings of other types", "  - {name: h, type: hi, tag: a, limit: 1, setpoint: sp, window: 1s, equals: 1, direction: high}\n",
			[]string{`p.yaml:17:53: alarms[0] "h": setpoint: setpoint is not a setting of hi alarms`,
				`p.yaml:17:65: alarms[0] "h": window: window is not a setting of hi alarms`,
				`p.yaml:17:77: alarms[0] "h": equals: equals is not a setting of hi alarms`,
				`p.yaml:17:91: alarms[0] "h": direction: direction is not a setting of hi alarms`}},
		{"bad_quality with a deadband", "  - {name: q, type: bad_quality, tag: a, deadband: 1}\n",
			[]string{`p.yaml:17:52: alarms[0] "q": deadband: deadband is not a setting of bad_quality alarms`}},
		{"suppressed_by incomplete", "  - {name: h, type: hi, tag: a, limit: 1, suppressed_by: {equals: 0}}\n" +
			"  - {name: i, type: hi, tag: a, limit: 1, suppressed_by: {tag: nope}}\n" +
			"  - {name: j, type: hi, tag: a, limit: 1, suppressed_by: {tag: sp, equals: NaN}}\n",
			[]string{`p.yaml:17:58: alarms[0] "h": suppressed_by: tag is missing`,
				`p.yaml:18:58: alarms[1] "i": suppressed_by: equals is missing (the value of nope that suppresses the alarm, e.g. 0)`,
				`p.yaml:18:64: alarms[1] "i": suppressed_by.tag: tag "nope" is not defined in tags`,
				`p.yaml:19:76: alarms[2] "j": suppressed_by.equals: equals must be a number`}},
		{"max_shelve, group, negative delay", "  - {name: h, type: hi, tag: a, limit: 1, max_shelve: 30s, group: '', on_delay: -1s}\n",
			[]string{`p.yaml:17:55: alarms[0] "h": max_shelve: max_shelve 30s is too short (at least 1m)`,
				`p.yaml:17:67: alarms[0] "h": group: group is empty (leave it out, or name the group)`,
				`p.yaml:17:81: alarms[0] "h": on_delay: duration "-1s" is negative`}},
		{"unknown type", "  - {name: h, type: rate, tag: a}\n",
			[]string{`p.yaml:17:21: alarms[0] "h": type: type "rate" is not an alarm type (one of: hihi, hi, lo, lolo, deviation, roc, discrete, bad_quality, comm)`}},
		{"misspelt field", "  - {name: h, type: hi, tag: a, limit: 1, ondelay: 1s}\n",
			[]string{`p.yaml:17:43: alarms[0] "h": unknown field "ondelay" (did you mean "on_delay"?)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(alarmBase+c.src), fakeDrivers{})
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			got := es.Error()
			if want := strings.Join(c.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
