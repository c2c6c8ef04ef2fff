package modbus

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// byteOrder is how the bytes of a 32- or 64-bit value are laid out in its
// registers, named after a 32-bit value whose big-endian bytes are A B C D:
//
//	ABCD  big-endian, high word first (the Modbus data model's own order)
//	BADC  the bytes of each register swapped
//	CDAB  the registers in reverse order (word-swapped)
//	DCBA  little-endian
//
// For 64-bit values the rule carries over: CDAB reverses all four registers,
// BADC swaps the bytes inside each, DCBA does both. 16-bit values and strings
// are always high byte first.
type byteOrder uint8

const (
	orderABCD byteOrder = iota
	orderBADC
	orderCDAB
	orderDCBA
)

var orderNames = [...]string{orderABCD: "ABCD", orderBADC: "BADC", orderCDAB: "CDAB", orderDCBA: "DCBA"}

func (o byteOrder) String() string {
	if int(o) < len(orderNames) {
		return orderNames[o]
	}
	return "order(" + strconv.Itoa(int(o)) + ")"
}

// parseByteOrder parses "ABCD", "BADC", "CDAB" or "DCBA" (case-insensitive);
// "" is ABCD.
func parseByteOrder(s string) (byteOrder, error) {
	if s == "" {
		return orderABCD, nil
	}
	for i, n := range orderNames {
		if strings.EqualFold(n, s) {
			return byteOrder(i), nil
		}
	}
	return 0, fmt.Errorf("byte order %q is not one of ABCD, BADC, CDAB, DCBA", s)
}

// reorder converts in place between big-endian bytes (ABCD) and order o.
// Every order is its own inverse, so the same call encodes and decodes.
// Values of one register are left alone.
func reorder(o byteOrder, b []byte) {
	if len(b) < 4 {
		return
	}
	if o == orderBADC || o == orderDCBA { // swap the bytes in each register
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
	if o == orderCDAB || o == orderDCBA { // reverse the registers
		for i, j := 0, len(b)-2; i < j; i, j = i+2, j-2 {
			b[i], b[i+1], b[j], b[j+1] = b[j], b[j+1], b[i], b[i+1]
		}
	}
}

// decodeRegisters decodes a value of numeric type t in byte order o from the
// start of b, which holds registers as sent on the wire (2 bytes each,
// big-endian). 64-bit integers beyond 2^53 lose precision: values are
// float64.
func decodeRegisters(t dataType, o byteOrder, b []byte) (hmi.Value, error) {
	n := 2 * t.words()
	if n == 0 {
		return hmi.Value{}, fmt.Errorf("%s is not a numeric register type", t)
	}
	if len(b) < n {
		return hmi.Value{}, fmt.Errorf("%s needs %d bytes, got %d", t, n, len(b))
	}
	var buf [8]byte
	w := buf[:n]
	copy(w, b)
	reorder(o, w)
	switch t {
	case typeInt16:
		return hmi.Number(float64(int16(binary.BigEndian.Uint16(w)))), nil
	case typeUint16:
		return hmi.Number(float64(binary.BigEndian.Uint16(w))), nil
	case typeInt32:
		return hmi.Number(float64(int32(binary.BigEndian.Uint32(w)))), nil
	case typeUint32:
		return hmi.Number(float64(binary.BigEndian.Uint32(w))), nil
	case typeFloat32:
		return hmi.Number(float64(math.Float32frombits(binary.BigEndian.Uint32(w)))), nil
	case typeInt64:
		return hmi.Number(float64(int64(binary.BigEndian.Uint64(w)))), nil
	case typeUint64:
		return hmi.Number(float64(binary.BigEndian.Uint64(w))), nil
	default: // typeFloat64
		return hmi.Number(math.Float64frombits(binary.BigEndian.Uint64(w))), nil
	}
}

// decodeString decodes a string of length characters from the start of b
// (2 per register, high byte first); trailing NULs and spaces are trimmed.
func decodeString(b []byte, length int) (hmi.Value, error) {
	if len(b) < length {
		return hmi.Value{}, fmt.Errorf("string of %d characters needs %d bytes, got %d", length, length, len(b))
	}
	s := strings.TrimRight(string(b[:length]), "\x00 ")
	return hmi.String(strings.ToValidUTF8(s, "\uFFFD")), nil
}

// encodeString converts v to the wire bytes of a string of length
// characters: high byte first, padded with NULs to whole registers.
func encodeString(v hmi.Value, length int) ([]byte, error) {
	if v.Kind() == hmi.KindNone {
		return nil, fmt.Errorf("no value to write")
	}
	s := v.Text()
	if len(s) > length {
		return nil, fmt.Errorf("value %q is %d bytes, longer than the string's length %d", s, len(s), length)
	}
	b := make([]byte, 2*((length+1)/2))
	copy(b, s)
	return b, nil
}

// bitAt returns bit i of a packed coil or discrete input response (LSB of the
// first byte is the first bit).
func bitAt(b []byte, i int) bool {
	return b[i/8]>>(uint(i)%8)&1 == 1
}

// registerBit returns bit n (0 = least significant) of the register at the
// start of b.
func registerBit(b []byte, n int8) bool {
	return binary.BigEndian.Uint16(b)>>uint(n)&1 == 1
}

// encodeRegisters converts v to the wire bytes of numeric type t in byte
// order o, checking that the value fits the type exactly.
func encodeRegisters(t dataType, o byteOrder, v hmi.Value) ([]byte, error) {
	b := make([]byte, 2*t.words())
	switch t {
	case typeInt16, typeUint16, typeInt32, typeUint32, typeInt64:
		n, err := integerValue(v)
		if err != nil {
			return nil, err
		}
		var lo, hi int64
		switch t {
		case typeInt16:
			lo, hi = math.MinInt16, math.MaxInt16
		case typeUint16:
			lo, hi = 0, math.MaxUint16
		case typeInt32:
			lo, hi = math.MinInt32, math.MaxInt32
		case typeUint32:
			lo, hi = 0, math.MaxUint32
		default:
			lo, hi = math.MinInt64, math.MaxInt64
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("value %d is out of range for %s (%d to %d)", n, t, lo, hi)
		}
		switch t.words() {
		case 1:
			binary.BigEndian.PutUint16(b, uint16(n))
		case 2:
			binary.BigEndian.PutUint32(b, uint32(n))
		default:
			binary.BigEndian.PutUint64(b, uint64(n))
		}
	case typeUint64:
		n, err := unsignedValue(v)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint64(b, n)
	case typeFloat32:
		f, err := floatValue(v)
		if err != nil {
			return nil, err
		}
		if math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Errorf("value %g is out of range for float32", f)
		}
		binary.BigEndian.PutUint32(b, math.Float32bits(float32(f)))
	case typeFloat64:
		f, err := floatValue(v)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint64(b, math.Float64bits(f))
	default:
		return nil, fmt.Errorf("%s is not a numeric register type", t)
	}
	reorder(o, b)
	return b, nil
}

// coilValue converts v to a coil state: booleans, 0 or 1, or "true"/"false".
func coilValue(v hmi.Value) (bool, error) {
	switch v.Kind() {
	case hmi.KindBool:
		return v.Truth(), nil
	case hmi.KindNumber:
		switch v.Float() {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return false, fmt.Errorf("value %s does not fit a coil (true/false or 1/0)", v)
	case hmi.KindString:
		b, err := strconv.ParseBool(v.Text())
		if err != nil {
			return false, fmt.Errorf("value %q does not fit a coil (true/false or 1/0)", v.Text())
		}
		return b, nil
	}
	return false, fmt.Errorf("no value to write")
}

// integerValue returns v as a whole number; fractions are an error, not
// rounded, so that a wrongly scaled write is refused rather than altered.
func integerValue(v hmi.Value) (int64, error) {
	switch v.Kind() {
	case hmi.KindNone:
		return 0, fmt.Errorf("no value to write")
	case hmi.KindString:
		if n, err := strconv.ParseInt(v.Text(), 10, 64); err == nil {
			return n, nil
		}
	}
	f := v.Float()
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("value %q is not a number", v.Text())
	case f != math.Trunc(f):
		return 0, fmt.Errorf("value %s is not a whole number", v)
	case f < math.MinInt64 || f >= math.MaxInt64:
		return 0, fmt.Errorf("value %s is out of range", v)
	}
	return int64(f), nil
}

// unsignedValue returns v as a whole number in 0..2^64-1 (for uint64).
func unsignedValue(v hmi.Value) (uint64, error) {
	switch v.Kind() {
	case hmi.KindNone:
		return 0, fmt.Errorf("no value to write")
	case hmi.KindString:
		if n, err := strconv.ParseUint(v.Text(), 10, 64); err == nil {
			return n, nil
		}
	}
	f := v.Float()
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("value %q is not a number", v.Text())
	case f != math.Trunc(f):
		return 0, fmt.Errorf("value %s is not a whole number", v)
	case f < 0 || f >= 1<<64:
		return 0, fmt.Errorf("value %s is out of range for uint64 (0 to 18446744073709551615)", v)
	}
	return uint64(f), nil
}

// floatValue returns v as a finite number.
func floatValue(v hmi.Value) (float64, error) {
	if v.IsZero() {
		return 0, fmt.Errorf("no value to write")
	}
	f := v.Float()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("value %q is not a finite number", v.Text())
	}
	return f, nil
}
