package modbus

import (
	"fmt"
	"strconv"
	"strings"
)

// table is one of the four Modbus data tables.
type table uint8

const (
	coils table = iota + 1
	discreteInputs
	inputRegisters
	holdingRegisters
)

// prefix is the address prefix of the table, as written in project files.
func (t table) prefix() string {
	switch t {
	case coils:
		return "C"
	case discreteInputs:
		return "DI"
	case inputRegisters:
		return "IR"
	case holdingRegisters:
		return "HR"
	}
	return "?"
}

func (t table) String() string {
	switch t {
	case coils:
		return "coils"
	case discreteInputs:
		return "discrete inputs"
	case inputRegisters:
		return "input registers"
	case holdingRegisters:
		return "holding registers"
	}
	return "unknown table"
}

// bits reports whether the table holds single bits rather than 16-bit registers.
func (t table) bits() bool { return t == coils || t == discreteInputs }

// writable reports whether a master may write the table.
func (t table) writable() bool { return t == coils || t == holdingRegisters }

// unit names one element of the table in messages.
func (t table) unit() string {
	switch t {
	case coils:
		return "coil"
	case discreteInputs:
		return "discrete input"
	}
	return "register"
}

// dataType is how a point's value is laid out in its table.
type dataType uint8

const (
	typeBool dataType = iota + 1
	typeInt16
	typeUint16
	typeInt32
	typeUint32
	typeFloat32
	typeFloat64
	typeInt64
	typeUint64
	typeString
)

var typeNames = [...]string{
	typeBool:    "bool",
	typeInt16:   "int16",
	typeUint16:  "uint16",
	typeInt32:   "int32",
	typeUint32:  "uint32",
	typeFloat32: "float32",
	typeFloat64: "float64",
	typeInt64:   "int64",
	typeUint64:  "uint64",
	typeString:  "string",
}

const registerTypeList = "int16, uint16, int32, uint32, int64, uint64, float32, float64, string"

func (d dataType) String() string {
	if int(d) < len(typeNames) && typeNames[d] != "" {
		return typeNames[d]
	}
	return "type(" + strconv.Itoa(int(d)) + ")"
}

// words is the number of 16-bit registers a numeric type occupies (0 for
// bool and string: a string's size depends on its length).
func (d dataType) words() int {
	switch d {
	case typeInt16, typeUint16:
		return 1
	case typeInt32, typeUint32, typeFloat32:
		return 2
	case typeFloat64, typeInt64, typeUint64:
		return 4
	}
	return 0
}

func parseType(s string) (dataType, bool) {
	for i, n := range typeNames {
		if n != "" && n == s {
			return dataType(i), true
		}
	}
	return 0, false
}

// noBit is address.bit for addresses of whole registers (and of coils and
// discrete inputs).
const noBit = -1

// address is a parsed point location: a table, a 0-based protocol address,
// the data type found there and, for "HR10.3", the bit inside the register.
type address struct {
	table  table
	offset uint16
	typ    dataType
	bit    int8 // 0 (least significant) to 15, or noBit
	length int  // string length in characters (2 per register)
}

// isBit reports whether the address is one bit inside a register.
func (a address) isBit() bool { return a.bit != noBit }

// size is the number of table elements the point occupies.
func (a address) size() int {
	switch {
	case a.table.bits(), a.isBit():
		return 1
	case a.typ == typeString:
		return (a.length + 1) / 2
	}
	return a.typ.words()
}

// end is the offset just past the point (exclusive).
func (a address) end() int { return int(a.offset) + a.size() }

func (a address) String() string {
	s := a.table.prefix() + strconv.Itoa(int(a.offset))
	if a.isBit() {
		s += "." + strconv.Itoa(int(a.bit))
	}
	return s
}

// parseAddress parses "C<n>", "DI<n>", "IR<n>" or "HR<n>", or a bit inside
// a register "IR<n>.<b>" / "HR<n>.<b>" (b 0-15, 0 the least significant),
// together with the data type stored there. Prefixes are case-insensitive;
// n is a decimal protocol address in 0..65535. A string's length is not part
// of the address: see withLength.
func parseAddress(addr, typ string) (address, error) {
	a := address{bit: noBit}
	s := strings.ToUpper(addr)
	var digits string
	switch {
	case strings.HasPrefix(s, "DI"):
		a.table, digits = discreteInputs, s[2:]
	case strings.HasPrefix(s, "IR"):
		a.table, digits = inputRegisters, s[2:]
	case strings.HasPrefix(s, "HR"):
		a.table, digits = holdingRegisters, s[2:]
	case strings.HasPrefix(s, "C"):
		a.table, digits = coils, s[1:]
	default:
		return a, fmt.Errorf("address %q: unknown table (use C<n> coil, DI<n> discrete input, IR<n> input register or HR<n> holding register)", addr)
	}
	digits, bitDigits, hasBit := strings.Cut(digits, ".")
	if hasBit && a.table.bits() {
		return a, fmt.Errorf("address %q: %s have no bits inside (a bit address is IR<n>.<bit> or HR<n>.<bit>)", addr, a.table)
	}
	if digits == "" {
		return a, fmt.Errorf("address %q: %s number is missing (e.g. %s100)", addr, a.table.unit(), a.table.prefix())
	}
	if !isDecimal(digits) {
		return a, fmt.Errorf("address %q: %q is not a decimal %s number", addr, digits, a.table.unit())
	}
	n, err := strconv.ParseUint(digits, 10, 16)
	if err != nil { // only range errors remain: the digits were checked
		return a, fmt.Errorf("address %q: %s out of range (0-65535)", addr, a.table.unit())
	}
	a.offset = uint16(n)
	if hasBit {
		b, err := strconv.Atoi(bitDigits)
		if !isDecimal(bitDigits) || err != nil || b > 15 {
			return a, fmt.Errorf("address %q: bit %q is not 0-15 (0 is the least significant)", addr, bitDigits)
		}
		a.bit = int8(b)
	}

	t, ok := parseType(typ)
	switch {
	case !ok:
		return a, fmt.Errorf("address %q: unknown data type %q (bool, %s)", addr, typ, registerTypeList)
	case a.table.bits() && t != typeBool:
		return a, fmt.Errorf("address %q: %s hold only bool, not %s", addr, a.table, t)
	case a.isBit() && t != typeBool:
		return a, fmt.Errorf("address %q: a bit inside a register is bool, not %s", addr, t)
	case !a.table.bits() && !a.isBit() && t == typeBool:
		return a, fmt.Errorf("address %q: type bool does not fit %s (use a bit such as %s.0, or %s)", addr, a.table, a, registerTypeList)
	}
	a.typ = t
	if last := a.end() - 1; last > 65535 {
		return a, fmt.Errorf("address %q: %s needs %d registers and runs past register 65535", addr, t, a.size())
	}
	return a, nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// maxStringLength is the longest string a point may hold: 125 registers, one
// read.
const maxStringLength = 250

// withLength sets a string address's length (characters) and checks it;
// other types ignore length.
func (a address) withLength(length int) (address, error) {
	if a.typ != typeString {
		return a, nil
	}
	if length < 1 || length > maxStringLength {
		return a, fmt.Errorf("address %s: string length %d is out of range (1-%d characters)", a, length, maxStringLength)
	}
	a.length = length
	if last := a.end() - 1; last > 65535 {
		return a, fmt.Errorf("address %s: a string of %d characters needs %d registers and runs past register 65535", a, length, a.size())
	}
	return a, nil
}

// CheckAddress validates a Modbus address and data type without I/O. A
// string's length is checked when the driver prepares its points.
func CheckAddress(addr, dataType string) error {
	_, err := parseAddress(addr, dataType)
	return err
}
