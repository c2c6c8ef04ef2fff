package modbus

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func mustAddrs(t testing.TB, specs ...string) []address {
	t.Helper()
	addrs := make([]address, len(specs))
	for i, s := range specs {
		var addr, typ string
		if _, err := fmt.Sscanf(s, "%s %s", &addr, &typ); err != nil {
			t.Fatalf("bad spec %q: %v", s, err)
		}
		a, err := parseAddress(addr, typ)
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = a
	}
	return addrs
}

// span describes a block as "HR0+6" for compact expectations.
func span(b block) string { return fmt.Sprintf("%s%d+%d", b.table.prefix(), b.start, b.count) }

func TestPlan(t *testing.T) {
	seq := func(prefix, typ string, from, n int) []string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf("%s%d %s", prefix, from+i, typ))
		}
		return s
	}
	tests := []struct {
		name  string
		specs []string
		want  []string
	}{
		{"empty", nil, nil},
		{"one", []string{"HR3 uint16"}, []string{"HR3+1"}},
		{"small gap merged", []string{"HR0 uint16", "HR1 uint16", "HR5 uint16"}, []string{"HR0+6"}},
		{"far apart", []string{"HR0 uint16", "HR200 uint16"}, []string{"HR0+1", "HR200+1"}},
		{"unsorted input", []string{"HR5 uint16", "HR0 uint16", "HR1 uint16"}, []string{"HR0+6"}},
		{"gap of 16 merged", []string{"HR0 uint16", "HR17 uint16"}, []string{"HR0+18"}},
		{"gap of 17 splits", []string{"HR0 uint16", "HR18 uint16"}, []string{"HR0+1", "HR18+1"}},
		{"gap counted from end of multi-register value", []string{"HR0 float64", "HR20 uint16"}, []string{"HR0+21"}},
		{"130 consecutive", seq("HR", "uint16", 0, 130), []string{"HR0+125", "HR125+5"}},
		{"float32 not split across blocks", append(seq("HR", "uint16", 0, 124), "HR124 float32"), []string{"HR0+124", "HR124+2"}},
		{"overlap and duplicates share", []string{"HR10 float32", "HR11 uint16", "HR10 uint16", "HR10 float32"}, []string{"HR10+2"}},
		{"tables never mix", []string{"HR0 uint16", "IR0 uint16", "C0 bool", "DI0 bool", "IR1 uint16"}, []string{"C0+1", "DI0+1", "IR0+2", "HR0+1"}},
		{"coils merged up to 2000", append(seq("C", "bool", 0, 2000), "C2000 bool"), []string{"C0+2000", "C2000+1"}},
		{"coil gap of 64 merged", []string{"C0 bool", "C65 bool"}, []string{"C0+66"}},
		{"coil gap of 65 splits", []string{"C0 bool", "C66 bool"}, []string{"C0+1", "C66+1"}},
		{"top of table", []string{"HR65532 float64", "HR65530 uint16"}, []string{"HR65530+6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs := mustAddrs(t, tt.specs...)
			blocks := plan(addrs)
			var got []string
			seen := make([]int, len(addrs))
			for _, b := range blocks {
				got = append(got, span(b))
				if b.count > b.table.maxRead() {
					t.Errorf("block %s exceeds %d", span(b), b.table.maxRead())
				}
				for _, i := range b.points {
					seen[i]++
					a := addrs[i]
					if a.table != b.table || int(a.offset) < int(b.start) || int(a.offset)+a.size() > int(b.start)+b.count {
						t.Errorf("point %v not inside block %s", a, span(b))
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan = %v, want %v", got, tt.want)
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("point %d (%v) is in %d blocks", i, addrs[i], n)
				}
			}
		})
	}
}

func TestBlockString(t *testing.T) {
	if s := (block{table: holdingRegisters, start: 100, count: 6}).String(); s != "HR100-HR105" {
		t.Errorf("got %q", s)
	}
	if s := (block{table: coils, start: 3, count: 1}).String(); s != "C3" {
		t.Errorf("got %q", s)
	}
}

func BenchmarkPlanner(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	types := []dataType{typeUint16, typeInt16, typeFloat32, typeInt32, typeFloat64}
	addrs := make([]address, 1000)
	for i := range addrs {
		tb := table(1 + r.IntN(4))
		a := address{table: tb, offset: uint16(r.IntN(5000)), typ: typeBool}
		if !tb.bits() {
			a.typ = types[r.IntN(len(types))]
		}
		addrs[i] = a
	}
	b.ReportAllocs()
	for b.Loop() {
		plan(addrs)
	}
}
