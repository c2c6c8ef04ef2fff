package opcua

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// dataType is a tag's declared OPC UA data type.
type dataType uint8

const (
	typeBool dataType = iota + 1
	typeSByte
	typeByte
	typeInt16
	typeUint16
	typeInt32
	typeUint32
	typeInt64
	typeUint64
	typeFloat
	typeDouble
	typeString
	typeDateTime
)

var typeNames = [...]string{
	typeBool:     "bool",
	typeSByte:    "sbyte",
	typeByte:     "byte",
	typeInt16:    "int16",
	typeUint16:   "uint16",
	typeInt32:    "int32",
	typeUint32:   "uint32",
	typeInt64:    "int64",
	typeUint64:   "uint64",
	typeFloat:    "float",
	typeDouble:   "double",
	typeString:   "string",
	typeDateTime: "datetime",
}

const typeList = "bool, sbyte, byte, int16, uint16, int32, uint32, int64, uint64, float, double, string, datetime"

func (t dataType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// kind is the hmi kind values of the type have.
func (t dataType) kind() hmi.Kind {
	switch t {
	case typeBool:
		return hmi.KindBool
	case typeString:
		return hmi.KindString
	}
	return hmi.KindNumber
}

func parseType(s string) (dataType, bool) {
	for i, n := range typeNames {
		if n != "" && n == s {
			return dataType(i), true
		}
	}
	return 0, false
}

// parsePoint parses an address and declared data type.
func parsePoint(addr, typ string) (address, dataType, error) {
	a, err := parseAddress(addr)
	if err != nil {
		return address{}, 0, err
	}
	t, ok := parseType(typ)
	if !ok {
		return address{}, 0, fmt.Errorf("address %q: unknown data type %q (%s)", addr, typ, typeList)
	}
	return a, t, nil
}

// CheckAddress validates an OPC UA node id and data type without I/O.
func CheckAddress(address, dataType string) error {
	_, _, err := parsePoint(address, dataType)
	return err
}

// typeName names an OPC UA built-in type for messages ("Double").
func typeName(id ua.TypeID) string { return strings.TrimPrefix(id.String(), "TypeID") }

// variantValue converts a variant to a Value of the declared kind: a
// scalar, or for an address of an array element (element >= 0) that
// element. Any numeric variant fits any numeric type; booleans, strings and
// DateTimes must match. A DateTime is a number: Unix milliseconds.
func variantValue(t dataType, v *ua.Variant, element int) (hmi.Value, error) {
	if v == nil || v.Value() == nil {
		return hmi.Value{}, fmt.Errorf("no value")
	}
	x := v.Value()
	if v.Has(ua.VariantArrayValues) {
		if element < 0 {
			return hmi.Value{}, fmt.Errorf("node holds an array of %s: select an element with #<index> after the node id", typeName(v.Type()))
		}
		rv := reflect.ValueOf(x)
		if rv.Kind() != reflect.Slice {
			return hmi.Value{}, fmt.Errorf("node holds a multi-dimensional array of %s, which is not supported", typeName(v.Type()))
		}
		// A server that applied the IndexRange answers one element;
		// one that ignored it, the whole array.
		switch {
		case rv.Len() == 1:
			x = rv.Index(0).Interface()
		case element < rv.Len():
			x = rv.Index(element).Interface()
		default:
			return hmi.Value{}, fmt.Errorf("array element %d is out of range (the array has %d)", element, rv.Len())
		}
	} else if element >= 0 {
		return hmi.Value{}, fmt.Errorf("node holds a single %s, not an array: drop #%d from the address", typeName(v.Type()), element)
	}
	var val hmi.Value
	isTime := false
	switch x := x.(type) {
	case bool:
		val = hmi.Bool(x)
	case int8:
		val = hmi.Number(float64(x))
	case uint8:
		val = hmi.Number(float64(x))
	case int16:
		val = hmi.Number(float64(x))
	case uint16:
		val = hmi.Number(float64(x))
	case int32:
		val = hmi.Number(float64(x))
	case uint32:
		val = hmi.Number(float64(x))
	case int64:
		val = hmi.Number(float64(x))
	case uint64:
		val = hmi.Number(float64(x))
	case float32:
		val = hmi.Number(float64(x))
	case float64:
		val = hmi.Number(x)
	case string:
		val = hmi.String(x)
	case *ua.LocalizedText:
		if x == nil {
			return hmi.Value{}, fmt.Errorf("no value")
		}
		val = hmi.String(x.Text)
	case time.Time:
		val, isTime = hmi.Number(float64(unixMilli(x))), true
	default:
		return hmi.Value{}, fmt.Errorf("node holds %s, which is not supported", typeName(v.Type()))
	}
	if isTime != (t == typeDateTime) || val.Kind() != t.kind() {
		return hmi.Value{}, fmt.Errorf("type mismatch: node holds %s, tag declares %s", typeName(v.Type()), t)
	}
	return val, nil
}

// newVariant builds a variant of the declared type from v, refusing values
// that do not fit the type exactly (out of range, fractional for integers).
func newVariant(t dataType, v hmi.Value) (*ua.Variant, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("no value to write")
	}
	var x any
	switch t {
	case typeBool:
		switch v.Kind() {
		case hmi.KindBool:
			x = v.Truth()
		case hmi.KindNumber:
			switch v.Float() {
			case 0:
				x = false
			case 1:
				x = true
			default:
				return nil, fmt.Errorf("value %s does not fit bool (true/false or 1/0)", v)
			}
		default:
			b, err := strconv.ParseBool(v.Text())
			if err != nil {
				return nil, fmt.Errorf("value %q does not fit bool (true/false or 1/0)", v.Text())
			}
			x = b
		}
	case typeString:
		x = v.Text()
	case typeDateTime:
		ts, err := timeValue(v)
		if err != nil {
			return nil, err
		}
		x = ts
	case typeFloat:
		f, err := finite(v)
		if err != nil {
			return nil, err
		}
		if math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Errorf("value %g is out of range for float", f)
		}
		x = float32(f)
	case typeDouble:
		f, err := finite(v)
		if err != nil {
			return nil, err
		}
		x = f
	case typeUint64:
		n, err := unsignedValue(v)
		if err != nil {
			return nil, err
		}
		x = n
	default:
		n, err := signedValue(v)
		if err != nil {
			return nil, err
		}
		var lo, hi int64
		switch t {
		case typeSByte:
			lo, hi = math.MinInt8, math.MaxInt8
		case typeByte:
			lo, hi = 0, math.MaxUint8
		case typeInt16:
			lo, hi = math.MinInt16, math.MaxInt16
		case typeUint16:
			lo, hi = 0, math.MaxUint16
		case typeInt32:
			lo, hi = math.MinInt32, math.MaxInt32
		case typeUint32:
			lo, hi = 0, math.MaxUint32
		default: // typeInt64
			lo, hi = math.MinInt64, math.MaxInt64
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("value %d is out of range for %s (%d to %d)", n, t, lo, hi)
		}
		switch t {
		case typeSByte:
			x = int8(n)
		case typeByte:
			x = uint8(n)
		case typeInt16:
			x = int16(n)
		case typeUint16:
			x = uint16(n)
		case typeInt32:
			x = int32(n)
		case typeUint32:
			x = uint32(n)
		default:
			x = n
		}
	}
	return ua.NewVariant(x)
}

// unixMilli is t in Unix milliseconds; OPC UA's null DateTime (the zero
// time, 1601-01-01 on the wire) is 0.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// timeValue reads a DateTime to write: Unix milliseconds, or an RFC 3339
// string.
func timeValue(v hmi.Value) (time.Time, error) {
	if v.Kind() == hmi.KindString {
		ts, err := time.Parse(time.RFC3339Nano, v.Text())
		if err != nil {
			return time.Time{}, fmt.Errorf("value %q is not a time (Unix milliseconds or RFC 3339, e.g. 2024-05-01T12:30:00Z)", v.Text())
		}
		return ts.UTC(), nil
	}
	ms, err := whole(v)
	if err != nil {
		return time.Time{}, err
	}
	// OPC UA DateTimes run from 1601 to 9999.
	const lo, hi = -11644473600000, 253402300799999
	if ms < lo || ms > hi {
		return time.Time{}, fmt.Errorf("value %s is out of range for datetime (Unix milliseconds from %d to %d)", v, int64(lo), int64(hi))
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

func finite(v hmi.Value) (float64, error) {
	f := v.Float()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("value %q is not a finite number", v.Text())
	}
	return f, nil
}

// signedValue returns v as a whole number; strings are parsed exactly so
// that large int64 values survive.
func signedValue(v hmi.Value) (int64, error) {
	if v.Kind() == hmi.KindString {
		if n, err := strconv.ParseInt(v.Text(), 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := whole(v)
	if err != nil {
		return 0, err
	}
	if f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, fmt.Errorf("value %s is out of range for int64", v)
	}
	return int64(f), nil
}

func unsignedValue(v hmi.Value) (uint64, error) {
	if v.Kind() == hmi.KindString {
		if n, err := strconv.ParseUint(v.Text(), 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := whole(v)
	if err != nil {
		return 0, err
	}
	if f < 0 || f >= math.MaxUint64 {
		return 0, fmt.Errorf("value %s is out of range for uint64 (0 to %d)", v, uint64(math.MaxUint64))
	}
	return uint64(f), nil
}

func whole(v hmi.Value) (float64, error) {
	f, err := finite(v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("value %s is not a whole number", v)
	}
	return f, nil
}

// sample converts a data value to a sample of the declared type (of the
// array element, for element >= 0). The timestamp is the source
// timestamp, else the server timestamp, else now.
func sample(t dataType, element int, dv *ua.DataValue, now time.Time) hmi.Sample {
	if dv == nil {
		return hmi.BadSample("no data value in the answer", now)
	}
	ts := now
	switch {
	case !dv.SourceTimestamp.IsZero():
		ts = dv.SourceTimestamp
	case !dv.ServerTimestamp.IsZero():
		ts = dv.ServerTimestamp
	}
	q, reason := quality(dv.Status)
	if q == hmi.Bad {
		return hmi.BadSample(reason, ts)
	}
	v, err := variantValue(t, dv.Value, element)
	if err != nil {
		if q == hmi.Uncertain {
			return hmi.BadSample(reason+": "+err.Error(), ts)
		}
		return hmi.BadSample(err.Error(), ts)
	}
	return hmi.Sample{Value: v, Quality: q, Reason: reason, TS: ts}
}
