package modbus

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		addr, typ string
		want      address
		err       string // substring of the error; "" for success
	}{
		{"C0", "bool", ad(coils, 0, typeBool), ""},
		{"C65535", "bool", ad(coils, 65535, typeBool), ""},
		{"DI1", "bool", ad(discreteInputs, 1, typeBool), ""},
		{"IR3", "uint16", ad(inputRegisters, 3, typeUint16), ""},
		{"HR100", "int16", ad(holdingRegisters, 100, typeInt16), ""},
		{"HR65535", "uint16", ad(holdingRegisters, 65535, typeUint16), ""},
		{"HR65534", "float32", ad(holdingRegisters, 65534, typeFloat32), ""},
		{"HR65532", "float64", ad(holdingRegisters, 65532, typeFloat64), ""},
		{"IR2", "uint32", ad(inputRegisters, 2, typeUint32), ""},
		{"HR7", "int32", ad(holdingRegisters, 7, typeInt32), ""},
		{"hr007", "uint16", ad(holdingRegisters, 7, typeUint16), ""},
		{"di2", "bool", ad(discreteInputs, 2, typeBool), ""},
		{"HR1", "int64", ad(holdingRegisters, 1, typeInt64), ""},
		{"IR65532", "uint64", ad(inputRegisters, 65532, typeUint64), ""},
		{"HR10.3", "bool", bitAd(holdingRegisters, 10, 3), ""},
		{"IR4.15", "bool", bitAd(inputRegisters, 4, 15), ""},
		{"hr65535.0", "bool", bitAd(holdingRegisters, 65535, 0), ""},
		{"HR7.03", "bool", bitAd(holdingRegisters, 7, 3), ""},
		{"HR20", "string", ad(holdingRegisters, 20, typeString), ""},

		{"HR70000", "uint16", address{}, `address "HR70000": register out of range (0-65535)`},
		{"C65536", "bool", address{}, `address "C65536": coil out of range (0-65535)`},
		{"DI99999999999999999999", "bool", address{}, "discrete input out of range"},
		{"XX1", "uint16", address{}, `address "XX1": unknown table`},
		{"", "uint16", address{}, "unknown table"},
		{"100", "uint16", address{}, "unknown table"},
		{"HR", "uint16", address{}, "register number is missing"},
		{"HR-1", "int16", address{}, `"-1" is not a decimal register number`},
		{"HR+1", "int16", address{}, "is not a decimal"},
		{"HR 1", "int16", address{}, "is not a decimal"},
		{"HR1.2", "int16", address{}, `address "HR1.2": a bit inside a register is bool, not int16`},
		{"HR1.16", "bool", address{}, `bit "16" is not 0-15`},
		{"HR1.", "bool", address{}, `bit "" is not 0-15`},
		{"HR1.-1", "bool", address{}, "is not 0-15"},
		{"HR1.1.1", "bool", address{}, "is not 0-15"},
		{"HR.1", "bool", address{}, "register number is missing"},
		{"C1.2", "bool", address{}, "coils have no bits inside"},
		{"DI1.0", "bool", address{}, "discrete inputs have no bits inside"},
		{"HR1", "bool", address{}, "use a bit such as HR1.0"},
		{"HR1", "int128", address{}, `unknown data type "int128"`},
		{"C1", "string", address{}, "coils hold only bool, not string"},
		{"HR65533", "int64", address{}, "int64 needs 4 registers"},
		{"HR0x10", "int16", address{}, "is not a decimal"},
		{"HR1", "bool", address{}, `address "HR1": type bool does not fit holding registers`},
		{"IR1", "bool", address{}, "type bool does not fit input registers"},
		{"C1", "float32", address{}, `address "C1": coils hold only bool, not float32`},
		{"DI1", "uint16", address{}, "discrete inputs hold only bool, not uint16"},
		{"HR1", "", address{}, `unknown data type ""`},
		{"HR65535", "float32", address{}, `address "HR65535": float32 needs 2 registers and runs past register 65535`},
		{"HR65533", "float64", address{}, "float64 needs 4 registers"},
		{"IR65535", "int32", address{}, "int32 needs 2 registers"},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"/"+tt.typ, func(t *testing.T) {
			got, err := parseAddress(tt.addr, tt.typ)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("parseAddress(%q, %q): %v", tt.addr, tt.typ, err)
				}
				if got != tt.want {
					t.Fatalf("parseAddress(%q, %q) = %+v, want %+v", tt.addr, tt.typ, got, tt.want)
				}
				if err := CheckAddress(tt.addr, tt.typ); err != nil {
					t.Fatalf("CheckAddress: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseAddress(%q, %q) = %+v, want error containing %q", tt.addr, tt.typ, got, tt.err)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("parseAddress(%q, %q) error %q, want it to contain %q", tt.addr, tt.typ, err, tt.err)
			}
			if CheckAddress(tt.addr, tt.typ) == nil {
				t.Fatalf("CheckAddress(%q, %q) accepted it", tt.addr, tt.typ)
			}
		})
	}
}

func ad(t table, off uint16, typ dataType) address {
	return address{table: t, offset: off, typ: typ, bit: noBit}
}

func bitAd(t table, off uint16, bit int8) address {
	return address{table: t, offset: off, typ: typeBool, bit: bit}
}

func TestStringLength(t *testing.T) {
	a, err := parseAddress("HR100", "string")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		length, size int
		err          string
	}{
		{1, 1, ""}, {2, 1, ""}, {3, 2, ""}, {20, 10, ""}, {250, 125, ""},
		{0, 0, "string length 0 is out of range (1-250 characters)"},
		{251, 0, "out of range"},
	} {
		got, err := a.withLength(tt.length)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("length %d: %v, want %q", tt.length, err, tt.err)
			}
			continue
		}
		if err != nil || got.size() != tt.size || got.length != tt.length {
			t.Errorf("length %d: %+v size %d, %v; want size %d", tt.length, got, got.size(), err, tt.size)
		}
	}
	top, _ := parseAddress("HR65530", "string")
	if _, err := top.withLength(13); err == nil || !strings.Contains(err.Error(), "runs past register 65535") {
		t.Errorf("string past the top: %v", err)
	}
	if got, err := top.withLength(12); err != nil || got.end() != 65536 {
		t.Errorf("string to the top: %+v, %v", got, err)
	}
	// Other types ignore length.
	u, _ := parseAddress("HR1", "uint16")
	if got, err := u.withLength(0); err != nil || got.size() != 1 {
		t.Errorf("uint16 withLength: %+v, %v", got, err)
	}
	if s := bitAd(holdingRegisters, 10, 3).String(); s != "HR10.3" {
		t.Errorf("String() = %q", s)
	}
}

func TestKind(t *testing.T) {
	k := Kind()
	if k.Name != "modbus-tcp" || k.CheckAddress == nil || k.New == nil {
		t.Fatalf("Kind() = %+v", k)
	}
	if err := k.CheckAddress("HR1", "float32"); err != nil {
		t.Fatal(err)
	}
}
