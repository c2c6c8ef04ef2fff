package modbus

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Multi-register values are big-endian with the high word first (ABCD), the
// byte order of the Modbus data model itself, so decoding is a plain
// big-endian read of the register bytes as they came off the wire.

// decodeRegisters decodes a value of type t from the start of b, which holds
// registers as sent on the wire (2 bytes each, big-endian).
func decodeRegisters(t dataType, b []byte) (hmi.Value, error) {
	if n := 2 * t.words(); n == 0 || len(b) < n {
		if n == 0 {
			return hmi.Value{}, fmt.Errorf("%s is not a register type", t)
		}
		return hmi.Value{}, fmt.Errorf("%s needs %d bytes, got %d", t, n, len(b))
	}
	switch t {
	case typeInt16:
		return hmi.Number(float64(int16(binary.BigEndian.Uint16(b)))), nil
	case typeUint16:
		return hmi.Number(float64(binary.BigEndian.Uint16(b))), nil
	case typeInt32:
		return hmi.Number(float64(int32(binary.BigEndian.Uint32(b)))), nil
	case typeUint32:
		return hmi.Number(float64(binary.BigEndian.Uint32(b))), nil
	case typeFloat32:
		return hmi.Number(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
	default: // typeFloat64
		return hmi.Number(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
	}
}

// bitAt returns bit i of a packed coil or discrete input response (LSB of the
// first byte is the first bit).
func bitAt(b []byte, i int) bool {
	return b[i/8]>>(uint(i)%8)&1 == 1
}

// encodeRegisters converts v to the wire bytes of type t, checking that the
// value fits the type exactly.
func encodeRegisters(t dataType, v hmi.Value) ([]byte, error) {
	b := make([]byte, 2*t.words())
	switch t {
	case typeInt16, typeUint16, typeInt32, typeUint32:
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
		default:
			lo, hi = 0, math.MaxUint32
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("value %d is out of range for %s (%d to %d)", n, t, lo, hi)
		}
		if t.words() == 1 {
			binary.BigEndian.PutUint16(b, uint16(n))
		} else {
			binary.BigEndian.PutUint32(b, uint32(n))
		}
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
		return nil, fmt.Errorf("%s is not a register type", t)
	}
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
