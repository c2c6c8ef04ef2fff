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

// maxRead is the most elements one read request may ask for (Modbus
// application protocol 1.1b3, 6.1-6.4).
func (t table) maxRead() int {
	if t.bits() {
		return 2000
	}
	return 125
}

// maxGap is the largest run of unwanted elements a planned read may span to
// save a request.
func (t table) maxGap() int {
	if t.bits() {
		return 64
	}
	return 16
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
)

var typeNames = [...]string{
	typeBool:    "bool",
	typeInt16:   "int16",
	typeUint16:  "uint16",
	typeInt32:   "int32",
	typeUint32:  "uint32",
	typeFloat32: "float32",
	typeFloat64: "float64",
}

const registerTypeList = "int16, uint16, int32, uint32, float32, float64"

func (d dataType) String() string {
	if int(d) < len(typeNames) && typeNames[d] != "" {
		return typeNames[d]
	}
	return "type(" + strconv.Itoa(int(d)) + ")"
}

// words is the number of 16-bit registers the type occupies (0 for bool).
func (d dataType) words() int {
	switch d {
	case typeInt16, typeUint16:
		return 1
	case typeInt32, typeUint32, typeFloat32:
		return 2
	case typeFloat64:
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

// address is a parsed point location: a table, a 0-based protocol address
// and the data type found there.
type address struct {
	table  table
	offset uint16
	typ    dataType
}

// size is the number of table elements the point occupies.
func (a address) size() int {
	if a.table.bits() {
		return 1
	}
	return a.typ.words()
}

func (a address) String() string {
	return a.table.prefix() + strconv.Itoa(int(a.offset))
}

// parseAddress parses "C<n>", "DI<n>", "IR<n>" or "HR<n>" together with the
// data type stored there. Prefixes are case-insensitive; n is a decimal
// protocol address in 0..65535.
func parseAddress(addr, typ string) (address, error) {
	var a address
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
	if digits == "" {
		return a, fmt.Errorf("address %q: %s number is missing (e.g. %s100)", addr, a.table.unit(), a.table.prefix())
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return a, fmt.Errorf("address %q: %q is not a decimal %s number", addr, digits, a.table.unit())
		}
	}
	n, err := strconv.ParseUint(digits, 10, 16)
	if err != nil { // only range errors remain: the digits were checked
		return a, fmt.Errorf("address %q: %s out of range (0-65535)", addr, a.table.unit())
	}
	a.offset = uint16(n)

	t, ok := parseType(typ)
	switch {
	case !ok:
		return a, fmt.Errorf("address %q: unknown data type %q (bool, %s)", addr, typ, registerTypeList)
	case a.table.bits() && t != typeBool:
		return a, fmt.Errorf("address %q: %s hold only bool, not %s", addr, a.table, t)
	case !a.table.bits() && t == typeBool:
		return a, fmt.Errorf("address %q: type bool does not fit %s (use %s)", addr, a.table, registerTypeList)
	}
	a.typ = t
	if last := int(a.offset) + a.size() - 1; last > 65535 {
		return a, fmt.Errorf("address %q: %s needs %d registers and runs past register 65535", addr, t, a.size())
	}
	return a, nil
}

// CheckAddress validates a Modbus address and data type without I/O.
func CheckAddress(addr, dataType string) error {
	_, err := parseAddress(addr, dataType)
	return err
}
