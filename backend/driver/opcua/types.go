package opcua

import (
	"fmt"
	"math"
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
	typeInt16
	typeUint16
	typeInt32
	typeUint32
	typeInt64
	typeUint64
	typeFloat
	typeDouble
	typeString
)

var typeNames = [...]string{
	typeBool:   "bool",
	typeInt16:  "int16",
	typeUint16: "uint16",
	typeInt32:  "int32",
	typeUint32: "uint32",
	typeInt64:  "int64",
	typeUint64: "uint64",
	typeFloat:  "float",
	typeDouble: "double",
	typeString: "string",
}

const typeList = "bool, int16, uint16, int32, uint32, int64, uint64, float, double, string"

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

// parsePoint parses a node id and declared data type.
func parsePoint(address, typ string) (*ua.NodeID, dataType, error) {
	// ua.ParseNodeID takes anything without an identifier type as a string
	// id in namespace 0 ("TIC101.PV", "ns=2;x=1", ""): insist on one, so a
	// typo is not a silently wrong node.
	rest := address
	if strings.HasPrefix(rest, "ns=") {
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	if len(rest) < 3 || rest[1] != '=' || !strings.ContainsRune("isgb", rune(rest[0])) {
		return nil, 0, fmt.Errorf("address %q: not an OPC UA node id (want [ns=<index>;] then i=<number>, s=<name>, g=<guid> or b=<base64>, e.g. ns=2;s=TIC101.PV)", address)
	}
	id, err := ua.ParseNodeID(address)
	if err != nil {
		return nil, 0, fmt.Errorf("address %q: not an OPC UA node id: %w", address, err)
	}
	t, ok := parseType(typ)
	if !ok {
		return nil, 0, fmt.Errorf("address %q: unknown data type %q (%s)", address, typ, typeList)
	}
	return id, t, nil
}

// CheckAddress validates an OPC UA node id and data type without I/O.
func CheckAddress(address, dataType string) error {
	_, _, err := parsePoint(address, dataType)
	return err
}

// typeName names an OPC UA built-in type for messages ("Double").
func typeName(id ua.TypeID) string { return strings.TrimPrefix(id.String(), "TypeID") }

// variantValue converts a scalar variant to a Value of the declared kind.
// Any numeric variant fits any numeric type; booleans and strings must match.
func variantValue(t dataType, v *ua.Variant) (hmi.Value, error) {
	if v == nil || v.Value() == nil {
		return hmi.Value{}, fmt.Errorf("no value")
	}
	if v.Has(ua.VariantArrayValues) {
		return hmi.Value{}, fmt.Errorf("node holds an array of %s; arrays are not supported", typeName(v.Type()))
	}
	var val hmi.Value
	switch x := v.Value().(type) {
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
	default:
		return hmi.Value{}, fmt.Errorf("node holds %s, which is not supported", typeName(v.Type()))
	}
	if val.Kind() != t.kind() {
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

// statusName names a status code without its "Status" prefix, ignoring the
// info bits ("BadNodeIDUnknown"); unknown codes are given in hex.
func statusName(sc ua.StatusCode) string {
	if d, ok := ua.StatusCodes[sc&0xFFFF0000]; ok && d.Name != "" {
		return strings.TrimPrefix(d.Name, "Status")
	}
	return fmt.Sprintf("0x%08X", uint32(sc))
}

// quality maps a status code to a quality by its severity bits; a quality
// short of Good carries the status name as its reason.
func quality(sc ua.StatusCode) (hmi.Quality, string) {
	switch uint32(sc) >> 30 {
	case 0:
		return hmi.Good, ""
	case 1:
		return hmi.Uncertain, statusName(sc)
	}
	return hmi.Bad, statusName(sc)
}

// sample converts a data value to a sample of the declared type. The
// timestamp is the source timestamp, else the server timestamp, else now.
func sample(t dataType, dv *ua.DataValue, now time.Time) hmi.Sample {
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
	v, err := variantValue(t, dv.Value)
	if err != nil {
		if q == hmi.Uncertain {
			return hmi.BadSample(reason+": "+err.Error(), ts)
		}
		return hmi.BadSample(err.Error(), ts)
	}
	return hmi.Sample{Value: v, Quality: q, Reason: reason, TS: ts}
}
