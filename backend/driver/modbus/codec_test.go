package modbus

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		typ  dataType
		val  float64
		wire []byte
	}{
		{typeInt16, 0, []byte{0x00, 0x00}},
		{typeInt16, -1, []byte{0xFF, 0xFF}},
		{typeInt16, -32768, []byte{0x80, 0x00}},
		{typeInt16, 32767, []byte{0x7F, 0xFF}},
		{typeUint16, 65535, []byte{0xFF, 0xFF}},
		{typeUint16, 4660, []byte{0x12, 0x34}},
		{typeInt32, -2, []byte{0xFF, 0xFF, 0xFF, 0xFE}},
		{typeInt32, math.MinInt32, []byte{0x80, 0x00, 0x00, 0x00}},
		{typeInt32, 0x12345678, []byte{0x12, 0x34, 0x56, 0x78}}, // ABCD: high word first
		{typeUint32, 4294967295, []byte{0xFF, 0xFF, 0xFF, 0xFF}},
		{typeUint32, 70000, []byte{0x00, 0x01, 0x11, 0x70}},
		{typeFloat32, 1.5, []byte{0x3F, 0xC0, 0x00, 0x00}},
		{typeFloat32, -273.15, nil},
		{typeFloat32, 123.456, nil},
		{typeFloat64, math.Pi, []byte{0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}},
		{typeFloat64, -1e300, nil},
	}
	for _, tt := range tests {
		wire, err := encodeRegisters(tt.typ, hmi.Number(tt.val))
		if err != nil {
			t.Fatalf("encode %s %g: %v", tt.typ, tt.val, err)
		}
		if len(wire) != 2*tt.typ.words() {
			t.Fatalf("encode %s: %d bytes", tt.typ, len(wire))
		}
		if tt.wire != nil && !bytes.Equal(wire, tt.wire) {
			t.Errorf("encode %s %g = % X, want % X", tt.typ, tt.val, wire, tt.wire)
		}
		v, err := decodeRegisters(tt.typ, wire)
		if err != nil {
			t.Fatalf("decode %s: %v", tt.typ, err)
		}
		want := tt.val
		if tt.typ == typeFloat32 {
			want = float64(float32(tt.val))
		}
		if v.Kind() != hmi.KindNumber || v.Float() != want {
			t.Errorf("decode %s % X = %v, want %v", tt.typ, wire, v, want)
		}
	}
}

func TestDecodeExtraBytesIgnored(t *testing.T) {
	v, err := decodeRegisters(typeInt16, []byte{0xFF, 0x9C, 0x12, 0x34})
	if err != nil || v.Float() != -100 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := decodeRegisters(typeFloat64, []byte{1, 2, 3, 4}); err == nil {
		t.Fatal("short float64 decoded")
	}
	if _, err := decodeRegisters(typeBool, []byte{1, 2}); err == nil {
		t.Fatal("bool decoded from registers")
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		typ dataType
		v   hmi.Value
		err string
	}{
		{typeUint16, hmi.Number(70000), "out of range for uint16"},
		{typeUint16, hmi.Number(-1), "out of range for uint16"},
		{typeInt16, hmi.Number(1.5), "not a whole number"},
		{typeInt16, hmi.Number(32768), "out of range for int16"},
		{typeInt16, hmi.Number(-32769), "out of range for int16"},
		{typeInt32, hmi.Number(1 << 31), "out of range for int32"},
		{typeUint32, hmi.Number(1 << 32), "out of range for uint32"},
		{typeUint32, hmi.Number(math.NaN()), "not a number"},
		{typeInt16, hmi.Number(math.Inf(1)), "not a number"},
		{typeInt16, hmi.Number(1e300), "out of range"},
		{typeInt16, hmi.String("abc"), "not a number"},
		{typeInt16, hmi.Value{}, "no value"},
		{typeFloat32, hmi.Number(1e39), "out of range for float32"},
		{typeFloat32, hmi.Number(math.NaN()), "not a finite number"},
		{typeFloat64, hmi.Number(math.Inf(-1)), "not a finite number"},
		{typeFloat64, hmi.Value{}, "no value"},
	}
	for _, tt := range tests {
		_, err := encodeRegisters(tt.typ, tt.v)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("encode %s %v: error %v, want %q", tt.typ, tt.v, err, tt.err)
		}
	}
}

func TestEncodeAccepts(t *testing.T) {
	tests := []struct {
		typ  dataType
		v    hmi.Value
		wire []byte
	}{
		{typeInt16, hmi.Bool(true), []byte{0, 1}},
		{typeInt16, hmi.String("-5"), []byte{0xFF, 0xFB}},
		{typeUint32, hmi.String("4294967295"), []byte{0xFF, 0xFF, 0xFF, 0xFF}},
		{typeInt16, hmi.Number(math.Copysign(0, -1)), []byte{0, 0}},
		{typeFloat32, hmi.String("2.5"), []byte{0x40, 0x20, 0, 0}},
	}
	for _, tt := range tests {
		wire, err := encodeRegisters(tt.typ, tt.v)
		if err != nil || !bytes.Equal(wire, tt.wire) {
			t.Errorf("encode %s %v = % X, %v; want % X", tt.typ, tt.v, wire, err, tt.wire)
		}
	}
}

func TestCoilValue(t *testing.T) {
	good := []struct {
		v    hmi.Value
		want bool
	}{
		{hmi.Bool(true), true}, {hmi.Bool(false), false},
		{hmi.Number(1), true}, {hmi.Number(0), false},
		{hmi.String("true"), true}, {hmi.String("0"), false},
	}
	for _, tt := range good {
		got, err := coilValue(tt.v)
		if err != nil || got != tt.want {
			t.Errorf("coilValue(%v) = %v, %v", tt.v, got, err)
		}
	}
	for _, v := range []hmi.Value{hmi.Number(2), hmi.Number(0.5), hmi.Number(math.NaN()), hmi.String("on"), {}} {
		if _, err := coilValue(v); err == nil {
			t.Errorf("coilValue(%v) accepted", v)
		}
	}
}

func TestBitAt(t *testing.T) {
	data := []byte{0b1000_0101, 0b0000_0010}
	want := []bool{true, false, true, false, false, false, false, true, false, true}
	for i, w := range want {
		if got := bitAt(data, i); got != w {
			t.Errorf("bit %d = %v, want %v", i, got, w)
		}
	}
}

func FuzzDecodeRegisters(f *testing.F) {
	f.Add(uint8(typeInt16), []byte{0xFF, 0xFF})
	f.Add(uint8(typeFloat32), []byte{0x3F, 0xC0, 0x00, 0x00})
	f.Add(uint8(typeFloat64), []byte{0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18})
	f.Add(uint8(typeUint32), []byte{0x00})
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		dt := dataType(typ)
		v, err := decodeRegisters(dt, b)
		if err != nil {
			if dt.words() > 0 && len(b) >= 2*dt.words() {
				t.Fatalf("decode %s % X: %v", dt, b, err)
			}
			return
		}
		if v.Kind() != hmi.KindNumber {
			t.Fatalf("decode %s gave %v", dt, v.Kind())
		}
		if math.IsNaN(v.Float()) {
			return // NaN payloads need not survive the trip through float64
		}
		wire, err := encodeRegisters(dt, v)
		if err != nil {
			if math.IsInf(v.Float(), 0) {
				return // infinities are refused on write
			}
			t.Fatalf("re-encode %s %v: %v", dt, v, err)
		}
		if !bytes.Equal(wire, b[:len(wire)]) {
			t.Fatalf("round trip %s: % X -> %v -> % X", dt, b[:len(wire)], v, wire)
		}
	})
}
