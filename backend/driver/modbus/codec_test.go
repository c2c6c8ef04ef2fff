package modbus

import (
	"bytes"
	hexpkg "encoding/hex"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

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
		wire, err := encodeRegisters(tt.typ, orderABCD, hmi.Number(tt.val))
		if err != nil {
			t.Fatalf("encode %s %g: %v", tt.typ, tt.val, err)
		}
		if len(wire) != 2*tt.typ.words() {
			t.Fatalf("encode %s: %d bytes", tt.typ, len(wire))
		}
		if tt.wire != nil && !bytes.Equal(wire, tt.wire) {
			t.Errorf("encode %s %g = % X, want % X", tt.typ, tt.val, wire, tt.wire)
		}
		v, err := decodeRegisters(tt.typ, orderABCD, wire)
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
	v, err := decodeRegisters(typeInt16, orderABCD, []byte{0xFF, 0x9C, 0x12, 0x34})
	if err != nil || v.Float() != -100 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := decodeRegisters(typeFloat64, orderABCD, []byte{1, 2, 3, 4}); err == nil {
		t.Fatal("short float64 decoded")
	}
	if _, err := decodeRegisters(typeBool, orderABCD, []byte{1, 2}); err == nil {
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
		_, err := encodeRegisters(tt.typ, orderABCD, tt.v)
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
		wire, err := encodeRegisters(tt.typ, orderABCD, tt.v)
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

func TestByteOrders(t *testing.T) {
	hex := func(s string) []byte {
		b, err := hexpkg.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Wire bytes per order: ABCD, BADC, CDAB, DCBA.
	tests := []struct {
		typ  dataType
		val  float64
		wire [4]string
	}{
		{typeFloat32, 123.456, [4]string{"42 f6 e9 79", "f6 42 79 e9", "e9 79 42 f6", "79 e9 f6 42"}},
		{typeInt32, -123456, [4]string{"ff fe 1d c0", "fe ff c0 1d", "1d c0 ff fe", "c0 1d fe ff"}},
		{typeUint32, 70000, [4]string{"00 01 11 70", "01 00 70 11", "11 70 00 01", "70 11 01 00"}},
		{typeInt64, -1234567890123, [4]string{"ff ff fe e0 8e 04 fb 35", "ff ff e0 fe 04 8e 35 fb", "fb 35 8e 04 fe e0 ff ff", "35 fb 04 8e e0 fe ff ff"}},
		{typeUint64, 0x0001020304050607, [4]string{"00 01 02 03 04 05 06 07", "01 00 03 02 05 04 07 06", "06 07 04 05 02 03 00 01", "07 06 05 04 03 02 01 00"}},
		{typeFloat64, math.Pi, [4]string{"40 09 21 fb 54 44 2d 18", "09 40 fb 21 44 54 18 2d", "2d 18 54 44 21 fb 40 09", "18 2d 44 54 fb 21 09 40"}},
		{typeFloat64, -12345.6789, [4]string{"c0 c8 1c d6 e6 31 f8 a1", "c8 c0 d6 1c 31 e6 a1 f8", "f8 a1 e6 31 1c d6 c0 c8", "a1 f8 31 e6 d6 1c c8 c0"}},
		// 16-bit values are high byte first whatever the order.
		{typeInt16, -100, [4]string{"ff 9c", "ff 9c", "ff 9c", "ff 9c"}},
		{typeUint16, 0x1234, [4]string{"12 34", "12 34", "12 34", "12 34"}},
	}
	for _, tt := range tests {
		for o, w := range tt.wire {
			order := byteOrder(o)
			want := hex(w)
			got, err := encodeRegisters(tt.typ, order, hmi.Number(tt.val))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("encode %s %s %g = % x, %v; want % x", tt.typ, order, tt.val, got, err, want)
			}
			v, err := decodeRegisters(tt.typ, order, want)
			wantVal := tt.val
			if tt.typ == typeFloat32 {
				wantVal = float64(float32(tt.val))
			}
			if err != nil || v.Float() != wantVal {
				t.Errorf("decode %s %s % x = %v, %v; want %v", tt.typ, order, want, v, err, wantVal)
			}
		}
	}
}

func TestParseByteOrder(t *testing.T) {
	for s, want := range map[string]byteOrder{"": orderABCD, "ABCD": orderABCD, "badc": orderBADC, "CDAB": orderCDAB, "DCBA": orderDCBA} {
		if got, err := parseByteOrder(s); err != nil || got != want {
			t.Errorf("parseByteOrder(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := parseByteOrder("ABDC"); err == nil {
		t.Error("ABDC accepted")
	}
	if s := orderCDAB.String(); s != "CDAB" {
		t.Errorf("String() = %q", s)
	}
}

func TestInt64Codec(t *testing.T) {
	// Exact big values travel as text on write.
	b, err := encodeRegisters(typeUint64, orderABCD, hmi.String("18446744073709551615"))
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte{0xFF}, 8)) {
		t.Errorf("uint64 max: % x, %v", b, err)
	}
	b, err = encodeRegisters(typeInt64, orderABCD, hmi.String("-9223372036854775808"))
	if err != nil || !bytes.Equal(b, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("int64 min: % x, %v", b, err)
	}
	for _, tt := range []struct {
		typ dataType
		v   hmi.Value
		err string
	}{
		{typeUint64, hmi.Number(-1), "out of range for uint64"},
		{typeUint64, hmi.Number(1 << 64), "out of range for uint64"},
		{typeUint64, hmi.Number(0.5), "not a whole number"},
		{typeUint64, hmi.Value{}, "no value"},
		{typeInt64, hmi.Number(1 << 63), "out of range"},
		{typeInt64, hmi.Number(math.NaN()), "not a number"},
	} {
		if _, err := encodeRegisters(tt.typ, orderABCD, tt.v); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("encode %s %v: %v, want %q", tt.typ, tt.v, err, tt.err)
		}
	}
	v, err := decodeRegisters(typeUint64, orderDCBA, bytes.Repeat([]byte{0xFF}, 8))
	if err != nil || v.Float() != math.MaxUint64 {
		t.Errorf("uint64 max decoded: %v, %v", v, err)
	}
}

func TestStringCodec(t *testing.T) {
	tests := []struct {
		length int
		wire   string
		want   string
	}{
		{6, "PUMP01", "PUMP01"},
		{6, "AB\x00\x00\x00\x00", "AB"},
		{8, "Line 1  ", "Line 1"},
		{5, "ABCDE\x00", "ABCDE"},
		{4, "A\x00C\x00", "A\x00C"}, // only trailing NULs go
		{2, "\x00\x00", ""},
		{3, "AB\xffX", "AB\uFFFD"},
	}
	for _, tt := range tests {
		v, err := decodeString([]byte(tt.wire), tt.length)
		if err != nil || v.Kind() != hmi.KindString || v.Text() != tt.want {
			t.Errorf("decodeString(%q, %d) = %q, %v; want %q", tt.wire, tt.length, v.Text(), err, tt.want)
		}
	}
	if _, err := decodeString([]byte("AB"), 4); err == nil {
		t.Error("short string decoded")
	}
	for _, tt := range []struct {
		v      hmi.Value
		length int
		wire   string
		err    string
	}{
		{hmi.String("AB"), 5, "AB\x00\x00\x00\x00", ""},
		{hmi.String("PUMP01"), 6, "PUMP01", ""},
		{hmi.String(""), 2, "\x00\x00", ""},
		{hmi.Number(42), 4, "42\x00\x00", ""},
		{hmi.String("TOO LONG"), 7, "", "8 bytes, longer than the string's length 7"},
		{hmi.String("é"), 1, "", "longer than"},
		{hmi.Value{}, 4, "", "no value"},
	} {
		b, err := encodeString(tt.v, tt.length)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("encodeString(%v, %d): %v, want %q", tt.v, tt.length, err, tt.err)
			}
			continue
		}
		if err != nil || string(b) != tt.wire {
			t.Errorf("encodeString(%v, %d) = %q, %v; want %q", tt.v, tt.length, b, err, tt.wire)
		}
	}
}

func TestRegisterBit(t *testing.T) {
	b := []byte{0x80, 0x05} // 0x8005: bits 0, 2 and 15
	for n := range int8(16) {
		want := n == 0 || n == 2 || n == 15
		if got := registerBit(b, n); got != want {
			t.Errorf("bit %d = %v", n, got)
		}
	}
}

// numericTypes are the register types the fuzzer covers, with every order.
var numericTypes = []dataType{typeInt16, typeUint16, typeInt32, typeUint32, typeFloat32, typeInt64, typeUint64, typeFloat64}

func FuzzDecodeRegisters(f *testing.F) {
	for _, typ := range append(numericTypes, typeString, typeBool, 0) {
		for o := range byteOrder(4) {
			f.Add(uint8(typ), uint8(o), []byte{0x42, 0xF6, 0xE9, 0x79, 0x3F, 0xC0, 0x00, 0x00})
		}
	}
	f.Add(uint8(typeFloat64), uint8(orderCDAB), []byte{0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18})
	f.Add(uint8(typeUint32), uint8(orderABCD), []byte{0x00})
	f.Add(uint8(typeString), uint8(7), []byte("AB\x00 "))
	f.Fuzz(func(t *testing.T, typ, ord uint8, b []byte) {
		dt := dataType(typ)
		order := byteOrder(ord % 4)
		if dt == typeString {
			fuzzString(t, b, int(ord))
			return
		}
		v, err := decodeRegisters(dt, order, b)
		if err != nil {
			if dt.words() > 0 && len(b) >= 2*dt.words() {
				t.Fatalf("decode %s %s % X: %v", dt, order, b, err)
			}
			return
		}
		if v.Kind() != hmi.KindNumber {
			t.Fatalf("decode %s gave %v", dt, v.Kind())
		}
		if math.IsNaN(v.Float()) {
			return // NaN payloads need not survive the trip through float64
		}
		wire, err := encodeRegisters(dt, order, v)
		if err != nil {
			if math.IsInf(v.Float(), 0) {
				return // infinities are refused on write
			}
			if (dt == typeInt64 && v.Float() == 1<<63) || (dt == typeUint64 && v.Float() == 1<<64) {
				return // rounded up past the top by float64
			}
			t.Fatalf("re-encode %s %s %v: %v", dt, order, v, err)
		}
		if (dt == typeInt64 || dt == typeUint64) && math.Abs(v.Float()) > 1<<53 {
			// float64 holds 53 bits: the trip is exact only up to rounding.
			back, err := decodeRegisters(dt, order, wire)
			if err != nil || back != v {
				t.Fatalf("round trip %s %s: %v -> % X -> %v, %v", dt, order, v, wire, back, err)
			}
			return
		}
		if !bytes.Equal(wire, b[:len(wire)]) {
			t.Fatalf("round trip %s %s: % X -> %v -> % X", dt, order, b[:len(wire)], v, wire)
		}
	})
}

// fuzzString checks that a string decoded from any bytes writes back to the
// same bytes, up to the trimmed tail, and decodes again to itself.
func fuzzString(t *testing.T, b []byte, length int) {
	length = 1 + length%maxStringLength
	v, err := decodeString(b, length)
	if err != nil {
		if len(b) >= length {
			t.Fatalf("decodeString(% X, %d): %v", b, length, err)
		}
		return
	}
	wire, err := encodeString(v, length)
	if err != nil {
		if !utf8.Valid(b[:length]) {
			return // invalid UTF-8 is replaced, and may grow
		}
		t.Fatalf("encodeString(%q, %d): %v", v.Text(), length, err)
	}
	if len(wire) != 2*((length+1)/2) {
		t.Fatalf("encodeString: %d bytes for length %d", len(wire), length)
	}
	back, err := decodeString(wire, length)
	if err != nil || back != v {
		t.Fatalf("string round trip: %q -> % X -> %q, %v", v.Text(), wire, back.Text(), err)
	}
	if utf8.Valid(b[:length]) && !bytes.HasPrefix(b[:length], []byte(v.Text())) {
		t.Fatalf("decodeString(% X) = %q is not a prefix", b[:length], v.Text())
	}
}

// BenchmarkDecode decodes one value of each register type, in ABCD and in
// the word-swapped CDAB order; ns/op is per value.
func BenchmarkDecode(b *testing.B) {
	cases := []struct {
		t dataType
		n int
	}{{typeUint16, 2}, {typeInt32, 4}, {typeFloat32, 4}, {typeFloat64, 8}}
	for _, o := range []byteOrder{orderABCD, orderCDAB} {
		for _, c := range cases {
			buf := make([]byte, c.n)
			for i := range buf {
				buf[i] = byte(0x41 + i)
			}
			b.Run(c.t.String()+"/"+o.String(), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := decodeRegisters(c.t, o, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
