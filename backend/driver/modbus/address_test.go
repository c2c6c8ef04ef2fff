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
		{"C0", "bool", address{coils, 0, typeBool}, ""},
		{"C65535", "bool", address{coils, 65535, typeBool}, ""},
		{"DI1", "bool", address{discreteInputs, 1, typeBool}, ""},
		{"IR3", "uint16", address{inputRegisters, 3, typeUint16}, ""},
		{"HR100", "int16", address{holdingRegisters, 100, typeInt16}, ""},
		{"HR65535", "uint16", address{holdingRegisters, 65535, typeUint16}, ""},
		{"HR65534", "float32", address{holdingRegisters, 65534, typeFloat32}, ""},
		{"HR65532", "float64", address{holdingRegisters, 65532, typeFloat64}, ""},
		{"IR2", "uint32", address{inputRegisters, 2, typeUint32}, ""},
		{"HR7", "int32", address{holdingRegisters, 7, typeInt32}, ""},
		{"hr007", "uint16", address{holdingRegisters, 7, typeUint16}, ""},
		{"di2", "bool", address{discreteInputs, 2, typeBool}, ""},

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
		{"HR1.2", "int16", address{}, "is not a decimal"},
		{"HR0x10", "int16", address{}, "is not a decimal"},
		{"HR1", "bool", address{}, `address "HR1": type bool does not fit holding registers`},
		{"IR1", "bool", address{}, "type bool does not fit input registers"},
		{"C1", "float32", address{}, `address "C1": coils hold only bool, not float32`},
		{"DI1", "uint16", address{}, "discrete inputs hold only bool, not uint16"},
		{"HR1", "int64", address{}, `unknown data type "int64"`},
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

func TestKind(t *testing.T) {
	k := Kind()
	if k.Name != "modbus-tcp" || k.CheckAddress == nil || k.New == nil {
		t.Fatalf("Kind() = %+v", k)
	}
	if err := k.CheckAddress("HR1", "float32"); err != nil {
		t.Fatal(err)
	}
}
