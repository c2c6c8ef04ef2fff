package config

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"
)

// validator checks a decoded project and fills in defaults. It reports
// through the decoder, which knows where each field stands.
type validator struct {
	d       *decoder
	p       *Project
	drivers DriverChecker
}

// errorf reports a problem at path, or at the nearest enclosing field that
// was written in the file.
func (v *validator) errorf(path, format string, args ...any) {
	if v.d.failed[path] {
		return // already reported as undecodable
	}
	ps := v.place(path)
	msg := fmt.Sprintf(format, args...)
	if label := v.d.label(path); label != "" {
		msg = label + ": " + msg
	}
	v.d.errs = append(v.d.errs, Error{File: v.d.file, Line: ps.line, Col: ps.col, Msg: msg})
}

// place is where path stands in the file, or the nearest enclosing field
// that was written there.
func (v *validator) place(path string) pos {
	at := path
	for at != "" {
		if ps, ok := v.d.pos[at]; ok {
			return ps
		}
		i := strings.LastIndexAny(at, ".[")
		if i < 0 {
			break
		}
		at = at[:i]
	}
	return v.d.pos[""]
}

func (v *validator) set(path string) bool {
	_, ok := v.d.pos[path]
	return ok
}

// namePattern is what device, tag, alarm and loop names may contain: no
// spaces, and no "*" (websocket subscriptions use it as a wildcard).
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$`)

func (v *validator) name(path, kind, name string, seen map[string]string) {
	switch {
	case name == "":
		v.errorf(path, "%s needs a name", kind)
	case !namePattern.MatchString(name):
		v.errorf(path+".name", "%s name %q may hold only letters, digits and _ . : / -", kind, name)
	case seen[name] != "":
		v.errorf(path+".name", "%s name %q is already used by %s", kind, name, seen[name])
	default:
		seen[name] = path
	}
}

func (v *validator) validate() {
	p := v.p
	if !v.set("version") {
		p.Version = 1
	} else if p.Version != 1 {
		v.errorf("version", "version %d is not supported (this edgehmi reads version 1)", p.Version)
	}
	if p.Server.Listen == "" {
		p.Server.Listen = DefaultListen
	} else if _, _, err := net.SplitHostPort(p.Server.Listen); err != nil {
		v.errorf("server.listen", "listen %q is not host:port", p.Server.Listen)
	}
	if t := p.Server.TLS; t != nil {
		switch {
		case t.Listen == "":
			v.errorf("server.tls", "tls needs listen, the HTTPS address (e.g. 0.0.0.0:8443)")
		case t.Listen == p.Server.Listen && !strings.HasSuffix(t.Listen, ":0"):
			v.errorf("server.tls.listen", "tls listen %q is the same address as server.listen", t.Listen)
		default:
			if _, _, err := net.SplitHostPort(t.Listen); err != nil {
				v.errorf("server.tls.listen", "listen %q is not host:port", t.Listen)
			}
		}
		switch {
		case t.SelfSigned && (t.Cert != "" || t.Key != ""):
			v.errorf("server.tls.self_signed", "give either cert and key, or self_signed: true, not both")
		case !t.SelfSigned && (t.Cert == "" || t.Key == ""):
			v.errorf("server.tls", "tls needs cert and key files, or self_signed: true")
		}
	}
	if !v.set("server.session_idle") {
		p.Server.SessionIdle.Duration = DefaultSessionIdle
	} else if p.Server.SessionIdle.Duration < time.Minute {
		v.errorf("server.session_idle", "session_idle %s is too short (at least 1m)", p.Server.SessionIdle.Duration)
	}
	if !v.set("server.session_lifetime") {
		p.Server.SessionLifetime.Duration = DefaultSessionLifetime
	} else if p.Server.SessionLifetime.Duration < p.Server.SessionIdle.Duration {
		v.errorf("server.session_lifetime", "session_lifetime %s is shorter than session_idle %s", p.Server.SessionLifetime.Duration, p.Server.SessionIdle.Duration)
	}
	if d := p.Server.UIIdleLogout.Duration; d != 0 && d < 30*time.Second {
		v.errorf("server.ui_idle_logout", "ui_idle_logout %s is too short (at least 30s, or 0 for never)", d)
	}
	v.scanClasses()
	v.devices()
	v.tags()
	v.alarms()
	v.loops()
	v.interlocks()
	v.history()
	v.sparkplug()
	v.displays()
}

func (v *validator) scanClasses() {
	seen := map[string]string{}
	for i := range v.p.ScanClasses {
		c := &v.p.ScanClasses[i]
		path := fmt.Sprintf("scan_classes[%d]", i)
		v.name(path, "scan class", c.Name, seen)
		if !v.set(path + ".period") {
			v.errorf(path, "period is missing (e.g. 100ms)")
		} else if c.Period.Duration < minPeriod {
			v.errorf(path+".period", "%s is too short (at least %s)", c.Period.Duration, minPeriod)
		}
	}
}

func (v *validator) devices() {
	seen := map[string]string{}
	var known []string
	if v.drivers != nil {
		known = v.drivers.Names()
	}
	for i := range v.p.Devices {
		d := &v.p.Devices[i]
		path := fmt.Sprintf("devices[%d]", i)
		v.name(path, "device", d.Name, seen)
		switch {
		case d.Driver == "":
			v.errorf(path, "driver is missing (one of: %s)", strings.Join(known, ", "))
			continue
		case known != nil && !slices.Contains(known, d.Driver):
			v.errorf(path+".driver", "unknown driver %q (one of: %s)", d.Driver, strings.Join(known, ", "))
			continue
		}
		switch d.Driver {
		case DriverModbusTCP:
			v.notFor(path, d.Driver, "endpoint", "security", "security_policy", "username", "password", "password_env", "publish_interval", "queue_size")
			if d.Host == "" {
				v.errorf(path, "host is missing")
			}
			if !v.set(path + ".port") {
				d.Port = DefaultModbusPort
			} else if d.Port < 1 || d.Port > 65535 {
				v.errorf(path+".port", "port %d is out of range (1-65535)", d.Port)
			}
			if !v.set(path + ".unit_id") {
				d.UnitID = 1
			} else if d.UnitID < 0 || d.UnitID > 255 {
				v.errorf(path+".unit_id", "unit_id %d is out of range (0-255)", d.UnitID)
			}
			v.duration(path+".timeout", &d.Timeout, DefaultModbusTimeout)
			v.intRange(path+".max_registers", &d.MaxRegisters, 1, 125, 125)
			v.intRange(path+".max_bits", &d.MaxBits, 1, 2000, 2000)
			v.intRange(path+".max_gap", &d.MaxGap, 0, 124, 16)
			if d.ByteOrder == "" {
				d.ByteOrder = "ABCD"
			} else if !slices.Contains(byteOrders, d.ByteOrder) {
				v.errorf(path+".byte_order", "byte_order %q is not one of: %s", d.ByteOrder, strings.Join(byteOrders, ", "))
			}
		case DriverOPCUA:
			v.notFor(path, d.Driver, "host", "port", "unit_id", "max_registers", "max_bits", "max_gap", "byte_order")
			if d.Endpoint == "" {
				v.errorf(path, "endpoint is missing (e.g. opc.tcp://192.168.0.10:4840)")
			} else if !strings.HasPrefix(d.Endpoint, "opc.tcp://") {
				v.errorf(path+".endpoint", "endpoint %q must start with opc.tcp://", d.Endpoint)
			}
			v.opcua(path, d)
			v.duration(path+".timeout", &d.Timeout, DefaultOPCUATimeout)
		}
		v.duration(path+".scan", &d.Scan, DefaultScan)
	}
}

var byteOrders = []string{"ABCD", "BADC", "CDAB", "DCBA"}

// OPC UA security modes and policies.
var (
	opcuaModes    = []string{"none", "sign", "sign_and_encrypt"}
	opcuaPolicies = []string{"Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss", "Basic256", "Basic128Rsa15"}
	envName       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// opcua checks an OPC UA device's security, identity and subscription
// settings and fills in their defaults.
func (v *validator) opcua(path string, d *Device) {
	switch {
	case d.Security == "":
		d.Security = "none"
	case !slices.Contains(opcuaModes, d.Security):
		v.errorf(path+".security", "security %q is not one of: %s", d.Security, strings.Join(opcuaModes, ", "))
	}
	switch {
	case d.Security == "none" && d.SecurityPolicy != "" && d.SecurityPolicy != "None":
		v.errorf(path+".security_policy", "security_policy %q needs security: sign or sign_and_encrypt", d.SecurityPolicy)
	case d.Security == "none":
		d.SecurityPolicy = "None"
	case d.SecurityPolicy == "":
		d.SecurityPolicy = "Basic256Sha256"
	case !slices.Contains(opcuaPolicies, d.SecurityPolicy):
		v.errorf(path+".security_policy", "security_policy %q is not one of: %s", d.SecurityPolicy, strings.Join(opcuaPolicies, ", "))
	}
	switch {
	case d.Password != "" && d.PasswordEnv != "":
		v.errorf(path+".password_env", "give password or password_env, not both")
	case d.Username == "" && (d.Password != "" || d.PasswordEnv != ""):
		v.errorf(path, "a password needs a username")
	case d.Username != "" && d.Password == "" && d.PasswordEnv == "":
		v.errorf(path, "username %q needs a password or password_env (the name of an environment variable holding it)", d.Username)
	case d.PasswordEnv != "" && !envName.MatchString(d.PasswordEnv):
		v.errorf(path+".password_env", "password_env %q is not an environment variable name (letters, digits and _)", d.PasswordEnv)
	}
	if v.set(path+".publish_interval") && d.PublishInterval.Duration < minPeriod {
		v.errorf(path+".publish_interval", "%s is too short (at least %s)", d.PublishInterval.Duration, minPeriod)
	}
	v.intRange(path+".queue_size", &d.QueueSize, 1, 10000, 1)
}

// intRange checks a whole number field, or sets its default when omitted.
func (v *validator) intRange(path string, n *int, lo, hi, def int) {
	switch {
	case !v.set(path):
		*n = def
	case *n < lo || *n > hi:
		v.errorf(path, "%d is out of range (%d-%d)", *n, lo, hi)
	}
}

// notFor reports fields that belong to other drivers.
func (v *validator) notFor(path, driver string, fields ...string) {
	for _, f := range fields {
		if v.set(path + "." + f) {
			v.errorf(path+"."+f, "%s is not a setting of %s devices", f, driver)
		}
	}
}

func (v *validator) duration(path string, d *Duration, def time.Duration) {
	switch {
	case !v.set(path):
		d.Duration = def
	case d.Duration < minPeriod:
		v.errorf(path, "%s is too short (at least %s)", d.Duration, minPeriod)
	}
}

func (v *validator) tags() {
	seen := map[string]string{}
	for i := range v.p.Tags {
		t := &v.p.Tags[i]
		path := fmt.Sprintf("tags[%d]", i)
		v.name(path, "tag", t.Name, seen)
		dev, ok := v.p.Device(t.Device)
		switch {
		case t.Device == "":
			v.errorf(path, "device is missing")
		case !ok:
			v.errorf(path+".device", "device %q is not defined in devices", t.Device)
		}
		if ok && dev.Driver != DriverModbusTCP {
			v.notFor(path, dev.Driver, "byte_order", "unit_id")
		}
		if t.ByteOrder != "" && !slices.Contains(byteOrders, t.ByteOrder) {
			v.errorf(path+".byte_order", "byte_order %q is not one of: %s", t.ByteOrder, strings.Join(byteOrders, ", "))
		}
		if t.UnitID != nil && (*t.UnitID < 0 || *t.UnitID > 255) {
			v.errorf(path+".unit_id", "unit_id %d is out of range (0-255)", *t.UnitID)
		}
		if t.ScanClass != "" {
			if _, known := v.p.ScanPeriod(t.ScanClass); !known {
				v.errorf(path+".scan_class", "scan_class %q is not defined in scan_classes", t.ScanClass)
			}
		}
		if t.Length < 0 || t.Length > 250 {
			v.errorf(path+".length", "length %d is out of range (1-250 characters)", t.Length)
		}
		if t.Type == "string" && t.Length == 0 && ok && dev.Driver == DriverModbusTCP {
			v.errorf(path, "a Modbus string tag needs a length (characters)")
		}
		switch {
		case t.Address == "":
			v.errorf(path, "address is missing")
		case t.Type == "":
			v.errorf(path, "type is missing")
		case ok && v.drivers != nil:
			if err := v.drivers.CheckAddress(dev.Driver, t.Address, t.Type); err != nil {
				v.errorf(path+".address", "%v", err)
			}
		}
		if s := t.Scale; s != nil {
			if s.RawLow == s.RawHigh {
				v.errorf(path+".scale", "scale raw_low and raw_high are both %g (they must differ)", s.RawLow)
			}
			if s.EngLow == s.EngHigh {
				v.errorf(path+".scale", "scale eng_low and eng_high are both %g (they must differ)", s.EngLow)
			}
		}
		if t.Low != nil && t.High != nil && *t.Low > *t.High {
			v.errorf(path+".low", "low %g is above high %g", *t.Low, *t.High)
		}
		if t.Deadband < 0 || math.IsNaN(t.Deadband) {
			v.errorf(path+".deadband", "deadband must be 0 or more")
		}
		switch p := t.DeadbandPercent; {
		case p == 0:
		case p < 0 || p > 100 || math.IsNaN(p):
			v.errorf(path+".deadband_percent", "deadband_percent %g is out of range (0-100)", p)
		case t.Deadband != 0:
			v.errorf(path+".deadband_percent", "give deadband or deadband_percent, not both")
		case t.Span() == 0:
			v.errorf(path+".deadband_percent", "deadband_percent needs a span: set low and high, or a scale")
		}
		v.tagControls(path, t)
		switch t.WriteRole {
		case "":
			t.WriteRole = "operator"
		case "operator", "engineer", "admin":
			if !t.Writable {
				v.errorf(path+".write_role", "write_role is set but the tag is not writable")
			}
		default:
			v.errorf(path+".write_role", "write_role %q is not one of: operator, engineer, admin", t.WriteRole)
		}
	}
}

var (
	alarmTypes      = []string{"hihi", "hi", "lo", "lolo", "deviation", "roc", "discrete", "bad_quality", "comm"}
	alarmPriorities = []string{"critical", "high", "medium", "low"}
	alarmDirections = []string{"both", "high", "low"}
)

// alarmFields are the settings that belong to some alarm types only, and
// the types they belong to.
var alarmFields = []struct {
	field string
	types []string
}{
	{"tag", []string{"hihi", "hi", "lo", "lolo", "deviation", "roc", "discrete", "bad_quality"}},
	{"device", []string{"comm"}},
	{"limit", []string{"hihi", "hi", "lo", "lolo", "deviation", "roc"}},
	{"deadband", []string{"hihi", "hi", "lo", "lolo", "deviation", "roc"}},
	{"setpoint", []string{"deviation"}},
	{"direction", []string{"deviation", "roc"}},
	{"window", []string{"roc"}},
	{"equals", []string{"discrete"}},
}

// Shortest durations of alarm settings.
const (
	minROCWindow = time.Second
	minMaxShelve = time.Minute
)

func (v *validator) alarms() {
	seen := map[string]string{}
	for i := range v.p.Alarms {
		a := &v.p.Alarms[i]
		path := fmt.Sprintf("alarms[%d]", i)
		v.name(path, "alarm", a.Name, seen)
		known := slices.Contains(alarmTypes, a.Type)
		if !known {
			v.errorf(path+".type", "type %q is not an alarm type (one of: %s)", a.Type, strings.Join(alarmTypes, ", "))
		} else {
			for _, f := range alarmFields {
				if v.set(path+"."+f.field) && !slices.Contains(f.types, a.Type) {
					v.errorf(path+"."+f.field, "%s is not a setting of %s alarms", f.field, a.Type)
				}
			}
		}
		switch {
		case a.Type == "comm":
			if a.Device == "" {
				v.errorf(path, "device is missing (a comm alarm watches a device's communication)")
			} else if _, ok := v.p.Device(a.Device); !ok {
				v.errorf(path+".device", "device %q is not defined in devices", a.Device)
			}
		case known || !v.set(path+".device"):
			v.tagRef(path+".tag", "tag", a.Tag)
		}
		if a.Priority == "" {
			a.Priority = "medium"
		} else if !slices.Contains(alarmPriorities, a.Priority) {
			v.errorf(path+".priority", "priority %q is not one of: %s", a.Priority, strings.Join(alarmPriorities, ", "))
		}
		switch a.Type {
		case "hihi", "hi", "lo", "lolo":
			v.alarmLimit(path, a, false)
		case "deviation":
			v.alarmLimit(path, a, true)
			v.tagRef(path+".setpoint", "setpoint", a.Setpoint)
		case "roc":
			v.alarmLimit(path, a, true)
			if !v.set(path + ".window") {
				a.Window.Duration = DefaultROCWindow
			} else if a.Window.Duration < minROCWindow {
				v.errorf(path+".window", "window %s is too short (at least %s)", a.Window.Duration, minROCWindow)
			}
		case "discrete":
			if !v.set(path + ".equals") {
				v.errorf(path, "equals is missing (the value at which the alarm is active, e.g. 1)")
			} else if math.IsNaN(a.Equals) || math.IsInf(a.Equals, 0) {
				v.errorf(path+".equals", "equals must be a number")
			}
		}
		if a.Type == "deviation" || a.Type == "roc" {
			if a.Direction == "" {
				a.Direction = "both"
			} else if !slices.Contains(alarmDirections, a.Direction) {
				v.errorf(path+".direction", "direction %q is not one of: %s", a.Direction, strings.Join(alarmDirections, ", "))
			}
		}
		if c := a.SuppressedBy; c != nil {
			v.tagRef(path+".suppressed_by.tag", "tag", c.Tag)
			if !v.set(path + ".suppressed_by.equals") {
				v.errorf(path+".suppressed_by", "equals is missing (the value of %s that suppresses the alarm, e.g. 0)", c.Tag)
			} else if math.IsNaN(c.Equals) || math.IsInf(c.Equals, 0) {
				v.errorf(path+".suppressed_by.equals", "equals must be a number")
			}
		}
		if v.set(path+".group") && a.Group == "" {
			v.errorf(path+".group", "group is empty (leave it out, or name the group)")
		}
		if !v.set(path + ".max_shelve") {
			a.MaxShelve.Duration = DefaultMaxShelve
		} else if a.MaxShelve.Duration < minMaxShelve {
			v.errorf(path+".max_shelve", "max_shelve %s is too short (at least 1m)", a.MaxShelve.Duration)
		}
		if a.Message == "" {
			a.Message = a.Name
		}
	}
}

// alarmLimit checks the limit and deadband of an analog alarm; positive
// limits (deviation, roc) must be above 0, and above the deadband, or the
// alarm could never return.
func (v *validator) alarmLimit(path string, a *Alarm, positive bool) {
	switch {
	case !v.set(path + ".limit"):
		v.errorf(path, "limit is missing")
		return
	case math.IsNaN(a.Limit) || math.IsInf(a.Limit, 0):
		v.errorf(path+".limit", "limit must be a number")
		return
	case positive && a.Limit <= 0:
		v.errorf(path+".limit", "limit %g must be above 0", a.Limit)
		return
	}
	switch {
	case a.Deadband < 0 || math.IsNaN(a.Deadband) || math.IsInf(a.Deadband, 0):
		v.errorf(path+".deadband", "deadband must be 0 or more")
	case positive && a.Deadband >= a.Limit:
		v.errorf(path+".deadband", "deadband %g must be below the limit %g, or the alarm would never return", a.Deadband, a.Limit)
	}
}

// tagRef checks that a field names a defined tag and returns it.
func (v *validator) tagRef(path, field, name string) *Tag {
	if name == "" {
		v.errorf(path[:strings.LastIndexByte(path, '.')], "%s is missing", field)
		return nil
	}
	t, ok := v.p.Tag(name)
	if !ok {
		v.errorf(path, "%s %q is not defined in tags", field, name)
		return nil
	}
	return t
}
