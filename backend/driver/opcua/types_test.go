package opcua

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

func TestCheckAddress(t *testing.T) {
	good := []struct{ addr, typ string }{
		{"ns=2;s=TIC101.PV", "double"},
		{"i=2258", "string"},
		{"ns=0;i=2258", "uint32"},
		{"ns=1;g=5ce9dbce-5d79-434c-9ac3-1cfba9a6e92c", "bool"},
		{"b=aGVsbG8=", "int16"},
		{"ns=3;b=aGVsbG8=", "uint16"},
		{"s=Plain", "int32"},
		{"ns=2;s=a;b", "int64"},
		{"ns=2;i=7", "uint64"},
		{"ns=2;i=8", "float"},
	}
	for _, g := range good {
		if err := CheckAddress(g.addr, g.typ); err != nil {
			t.Errorf("CheckAddress(%q, %q): %v", g.addr, g.typ, err)
		}
	}
	bad := []struct{ addr, typ, err string }{
		{"", "double", "not an OPC UA node id"},
		{"TIC101.PV", "double", `address "TIC101.PV": not an OPC UA node id`},
		{"ns=2", "double", "not an OPC UA node id"},
		{"ns=2;x=1", "double", "not an OPC UA node id"},
		{"ns=2;s=", "double", "not an OPC UA node id"},
		{"i=-1", "double", "invalid numeric id"},
		{"i=4294967296", "double", "out of range"},
		{"ns=70000;i=1", "double", "out of range"},
		{"ns=1;g=zz", "double", "invalid guid"},
		{"ns=2;s=X", "float64", `unknown data type "float64"`},
		{"ns=2;s=X", "", `unknown data type ""`},
	}
	for _, b := range bad {
		err := CheckAddress(b.addr, b.typ)
		if err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("CheckAddress(%q, %q) = %v, want %q", b.addr, b.typ, err, b.err)
		}
	}
}

func TestKind(t *testing.T) {
	k := Kind()
	if k.Name != "opcua" || k.CheckAddress == nil || k.New == nil {
		t.Fatalf("Kind() = %+v", k)
	}
	d, err := k.New(config.Device{Endpoint: "opc.tcp://127.0.0.1:4840"}, driver.Env{})
	if err != nil {
		t.Fatal(err)
	}
	dd := d.(*Driver)
	if dd.s.timeout != DefaultTimeout || dd.scan != DefaultScan || dd.queue != 1 || dd.publish != 0 {
		t.Errorf("defaults: timeout %v scan %v queue %d publish %v", dd.s.timeout, dd.scan, dd.queue, dd.publish)
	}
	if dd.s.mode != ua.MessageSecurityModeNone || dd.s.policy != "None" {
		t.Errorf("default security: %v %s", dd.s.mode, dd.s.policy)
	}
}

func TestNewRejects(t *testing.T) {
	env := driver.Env{DataDir: t.TempDir()}
	for _, c := range []struct {
		dev config.Device
		env driver.Env
		err string
	}{
		{config.Device{}, env, "endpoint is missing"},
		{config.Device{Endpoint: "opc.tcp://h:4840", Security: "sign"}, driver.Env{}, "needs a data directory"},
		{config.Device{Endpoint: "opc.tcp://h:4840", Security: "Basic256Sha256"}, env, "is not one of"},
		{config.Device{Endpoint: "opc.tcp://h:4840", Security: "sign", SecurityPolicy: "Basic512"}, env, "is not one of"},
		{config.Device{Endpoint: "opc.tcp://h:4840", SecurityPolicy: "Basic256"}, env, "needs security"},
		{config.Device{Endpoint: "opc.tcp://h:4840", Password: "x"}, env, "needs a username"},
	} {
		if _, err := New(c.dev, c.env); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("New(%+v): %v, want %q", c.dev, err, c.err)
		}
	}
	for _, s := range []string{"", "none", "None", "sign", "sign_and_encrypt"} {
		if _, err := New(config.Device{Endpoint: "opc.tcp://h:4840", Security: s}, env); err != nil {
			t.Errorf("security %q: %v", s, err)
		}
	}
	for _, p := range Policies {
		d, err := New(config.Device{Endpoint: "opc.tcp://h:4840", Security: "sign", SecurityPolicy: p}, env)
		if err != nil || d.s.policy != p || d.s.mode != ua.MessageSecurityModeSign {
			t.Errorf("policy %q: %v", p, err)
		}
	}
}

func TestVariantValue(t *testing.T) {
	tests := []struct {
		typ  dataType
		v    any
		want hmi.Value
		err  string
	}{
		{typeBool, true, hmi.Bool(true), ""},
		{typeInt16, int16(-5), hmi.Number(-5), ""},
		{typeUint16, uint16(65000), hmi.Number(65000), ""},
		{typeInt32, int32(-70000), hmi.Number(-70000), ""},
		{typeUint32, uint32(4e9), hmi.Number(4e9), ""},
		{typeInt64, int64(-1 << 40), hmi.Number(-1 << 40), ""},
		{typeUint64, uint64(1 << 60), hmi.Number(1 << 60), ""},
		{typeFloat, float32(1.5), hmi.Number(1.5), ""},
		{typeDouble, 2.25, hmi.Number(2.25), ""},
		{typeDouble, float32(0.5), hmi.Number(0.5), ""}, // any number fits any numeric type
		{typeInt32, uint8(7), hmi.Number(7), ""},
		{typeString, "hello", hmi.String("hello"), ""},
		{typeString, ua.NewLocalizedText("text"), hmi.String("text"), ""},
		{typeBool, 1.0, hmi.Value{}, "type mismatch: node holds Double, tag declares bool"},
		{typeDouble, "x", hmi.Value{}, "type mismatch: node holds String, tag declares double"},
		{typeDouble, []float64{1, 2}, hmi.Value{}, "select an element with #<index>"},
		{typeDouble, time.Unix(0, 0), hmi.Value{}, "type mismatch: node holds DateTime, tag declares double"},
		{typeSByte, int8(-100), hmi.Number(-100), ""},
		{typeByte, uint8(200), hmi.Number(200), ""},
		{typeDateTime, time.UnixMilli(1714566600123), hmi.Number(1714566600123), ""},
		{typeDateTime, time.Time{}, hmi.Number(0), ""},
		{typeDateTime, 5.0, hmi.Value{}, "type mismatch: node holds Double, tag declares datetime"},
	}
	for _, tt := range tests {
		got, err := variantValue(tt.typ, ua.MustVariant(tt.v), -1)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("variantValue(%s, %T) = %v, %v; want %q", tt.typ, tt.v, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("variantValue(%s, %T %v) = %v, %v; want %v", tt.typ, tt.v, tt.v, got, err, tt.want)
		}
	}
	if _, err := variantValue(typeDouble, nil, -1); err == nil {
		t.Error("nil variant accepted")
	}
	if _, err := variantValue(typeDouble, &ua.Variant{}, -1); err == nil {
		t.Error("null variant accepted")
	}
	// Array elements: a server that applies the IndexRange answers one
	// element, one that ignores it the whole array.
	elems := []struct {
		v       any
		element int
		want    hmi.Value
		err     string
	}{
		{[]float64{7.5}, 3, hmi.Number(7.5), ""},
		{[]float64{1, 2, 3, 4}, 3, hmi.Number(4), ""},
		{[]float64{1, 2}, 5, hmi.Value{}, "array element 5 is out of range (the array has 2)"},
		{[]int32{1, 2}, 0, hmi.Number(1), ""},
		{[]bool{true, false}, 1, hmi.Value{}, "type mismatch"},
		{2.5, 0, hmi.Value{}, "not an array: drop #0"},
	}
	for _, e := range elems {
		got, err := variantValue(typeDouble, ua.MustVariant(e.v), e.element)
		if e.err != "" {
			if err == nil || !strings.Contains(err.Error(), e.err) {
				t.Errorf("variantValue(%v #%d) = %v, %v; want %q", e.v, e.element, got, err, e.err)
			}
			continue
		}
		if err != nil || got != e.want {
			t.Errorf("variantValue(%v #%d) = %v, %v; want %v", e.v, e.element, got, err, e.want)
		}
	}
}

func TestNewVariant(t *testing.T) {
	good := []struct {
		typ  dataType
		v    hmi.Value
		want any
	}{
		{typeBool, hmi.Bool(true), true},
		{typeBool, hmi.Number(0), false},
		{typeBool, hmi.String("true"), true},
		{typeInt16, hmi.Number(-32768), int16(-32768)},
		{typeUint16, hmi.Number(65535), uint16(65535)},
		{typeInt32, hmi.Number(-2147483648), int32(-2147483648)},
		{typeUint32, hmi.Number(4294967295), uint32(4294967295)},
		{typeInt64, hmi.String("-9223372036854775808"), int64(math.MinInt64)},
		{typeInt64, hmi.Number(-1 << 53), int64(-1 << 53)},
		{typeUint64, hmi.String("18446744073709551615"), uint64(math.MaxUint64)},
		{typeUint64, hmi.Number(1 << 60), uint64(1 << 60)},
		{typeFloat, hmi.Number(1.5), float32(1.5)},
		{typeDouble, hmi.Number(-273.15), -273.15},
		{typeString, hmi.String("abc"), "abc"},
		{typeString, hmi.Number(2.5), "2.5"},
		{typeSByte, hmi.Number(-128), int8(-128)},
		{typeByte, hmi.Number(255), uint8(255)},
		{typeDateTime, hmi.Number(1714566600123), time.UnixMilli(1714566600123).UTC()},
		{typeDateTime, hmi.String("2024-05-01T12:30:00Z"), time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)},
	}
	for _, g := range good {
		v, err := newVariant(g.typ, g.v)
		if err != nil {
			t.Errorf("newVariant(%s, %v): %v", g.typ, g.v, err)
			continue
		}
		if v.Value() != g.want {
			t.Errorf("newVariant(%s, %v) = %T %v, want %T %v", g.typ, g.v, v.Value(), v.Value(), g.want, g.want)
		}
	}
	bad := []struct {
		typ dataType
		v   hmi.Value
		err string
	}{
		{typeInt16, hmi.Number(1.5), "not a whole number"},
		{typeInt16, hmi.Number(40000), "out of range for int16"},
		{typeUint16, hmi.Number(70000), "out of range for uint16"},
		{typeUint16, hmi.Number(-1), "out of range for uint16"},
		{typeUint32, hmi.Number(1 << 32), "out of range for uint32"},
		{typeInt32, hmi.Number(math.NaN()), "not a finite number"},
		{typeInt64, hmi.Number(1e19), "out of range for int64"},
		{typeUint64, hmi.Number(-1), "out of range for uint64"},
		{typeUint64, hmi.Number(2e19), "out of range for uint64"},
		{typeFloat, hmi.Number(1e39), "out of range for float"},
		{typeDouble, hmi.Number(math.Inf(1)), "not a finite number"},
		{typeBool, hmi.Number(2), "does not fit bool"},
		{typeBool, hmi.String("yes please"), "does not fit bool"},
		{typeDouble, hmi.Value{}, "no value"},
		{typeSByte, hmi.Number(128), "out of range for sbyte"},
		{typeByte, hmi.Number(-1), "out of range for byte"},
		{typeDateTime, hmi.String("yesterday"), "not a time"},
		{typeDateTime, hmi.Number(1e17), "out of range for datetime"},
		{typeDateTime, hmi.Number(0.5), "not a whole number"},
	}
	for _, b := range bad {
		_, err := newVariant(b.typ, b.v)
		if err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("newVariant(%s, %v) = %v, want %q", b.typ, b.v, err, b.err)
		}
	}
}

func TestQuality(t *testing.T) {
	tests := []struct {
		sc     ua.StatusCode
		q      hmi.Quality
		reason string
	}{
		{ua.StatusOK, hmi.Good, ""},
		{ua.StatusGoodLocalOverride, hmi.Good, ""},
		{ua.StatusUncertain, hmi.Uncertain, "Uncertain"},
		{ua.StatusUncertainLastUsableValue, hmi.Uncertain, "UncertainLastUsableValue"},
		{ua.StatusUncertainSensorCalibration | 0x0400, hmi.Uncertain, "UncertainSensorCalibration"}, // info bits ignored
		{ua.StatusBad, hmi.Bad, "Bad"},
		{ua.StatusBadNodeIDUnknown, hmi.Bad, "BadNodeIdUnknown"},
		{ua.StatusBadTCPEndpointURLInvalid, hmi.Bad, "BadTcpEndpointUrlInvalid"},
		{ua.StatusBadCertificateURIInvalid, hmi.Bad, "BadCertificateUriInvalid"},
		{ua.StatusBadUserAccessDenied | 0x0000_0400, hmi.Bad, "BadUserAccessDenied"},
		{ua.StatusBadSensorFailure, hmi.Bad, "BadSensorFailure"},
		{ua.StatusCode(0xC1230000), hmi.Bad, "0xC1230000"},
	}
	for _, tt := range tests {
		q, reason := quality(tt.sc)
		if q != tt.q || reason != tt.reason {
			t.Errorf("quality(0x%08X) = %v %q, want %v %q", uint32(tt.sc), q, reason, tt.q, tt.reason)
		}
	}
}

func TestSample(t *testing.T) {
	now := time.Now()
	src := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := src.Add(time.Second)
	s := sample(typeDouble, -1, &ua.DataValue{Value: ua.MustVariant(1.5), SourceTimestamp: src, ServerTimestamp: srv}, now)
	if s.Quality != hmi.Good || s.Value.Float() != 1.5 || !s.TS.Equal(src) {
		t.Errorf("source ts: %+v", s)
	}
	s = sample(typeDouble, -1, &ua.DataValue{Value: ua.MustVariant(1.5), ServerTimestamp: srv}, now)
	if !s.TS.Equal(srv) {
		t.Errorf("server ts fallback: %+v", s)
	}
	s = sample(typeDouble, -1, &ua.DataValue{Value: ua.MustVariant(1.5)}, now)
	if !s.TS.Equal(now) {
		t.Errorf("now fallback: %+v", s)
	}
	s = sample(typeDouble, -1, &ua.DataValue{Value: ua.MustVariant(1.5), Status: ua.StatusUncertainLastUsableValue}, now)
	if s.Quality != hmi.Uncertain || s.Value.Float() != 1.5 || s.Reason != "UncertainLastUsableValue" {
		t.Errorf("uncertain: %+v", s)
	}
	s = sample(typeDouble, -1, &ua.DataValue{Status: ua.StatusBadNodeIDUnknown}, now)
	if s.Quality != hmi.Bad || s.Reason != "BadNodeIdUnknown" || !s.Value.IsZero() {
		t.Errorf("bad: %+v", s)
	}
	s = sample(typeBool, -1, &ua.DataValue{Value: ua.MustVariant(1.5)}, now)
	if s.Quality != hmi.Bad || !strings.Contains(s.Reason, "type mismatch") {
		t.Errorf("mismatch: %+v", s)
	}
	s = sample(typeDouble, -1, nil, now)
	if s.Quality != hmi.Bad {
		t.Errorf("nil: %+v", s)
	}
}
