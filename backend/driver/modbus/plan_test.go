package modbus

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func mustPoints(t testing.TB, specs ...string) []point {
	t.Helper()
	pts := make([]point, len(specs))
	for i, s := range specs {
		p, err := parsePlanLine(s)
		if err != nil {
			t.Fatalf("bad spec %q: %v", s, err)
		}
		pts[i] = p
	}
	return pts
}

// parsePlanLine parses "ADDRESS TYPE [unit]" (unit 1 if left out); a string
// type is written "string:LENGTH".
func parsePlanLine(s string) (point, error) {
	f := strings.Fields(s)
	if len(f) < 2 || len(f) > 3 {
		return point{}, fmt.Errorf("want ADDRESS TYPE [unit]")
	}
	typ, length := f[1], 0
	if rest, ok := strings.CutPrefix(typ, "string:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil {
			return point{}, err
		}
		typ, length = "string", n
	}
	a, err := parseAddress(f[0], typ)
	if err != nil {
		return point{}, err
	}
	if a, err = a.withLength(length); err != nil {
		return point{}, err
	}
	p := point{address: a, unit: 1}
	if len(f) == 3 {
		u, err := strconv.ParseUint(f[2], 10, 8)
		if err != nil {
			return point{}, fmt.Errorf("unit %q: %v", f[2], err)
		}
		p.unit = byte(u)
	}
	return p, nil
}

// span describes a block as "HR0+6" for compact expectations.
func spanStr(b block) string { return fmt.Sprintf("%s%d+%d", b.table.prefix(), b.start, b.count) }

// checkPlan checks that every point is in exactly one block, inside it, and
// that no block breaks the limits.
func checkPlan(t *testing.T, pts []point, skip []bool, lim limits, blocks []block) {
	t.Helper()
	seen := make([]int, len(pts))
	for _, b := range blocks {
		if b.count > lim.maxRead(b.table) || b.count < 1 || int(b.start)+b.count > 65536 {
			t.Errorf("block %s breaks the limit %d", spanStr(b), lim.maxRead(b.table))
		}
		for k, i := range b.points {
			seen[i]++
			p := pts[i]
			if p.unit != b.unit || p.table != b.table || int(p.offset) < int(b.start) || p.end() > int(b.start)+b.count {
				t.Errorf("point %v (unit %d) not inside block %s (unit %d)", p.address, p.unit, spanStr(b), b.unit)
			}
			if k > 0 && pts[b.points[k-1]].offset > p.offset {
				t.Errorf("block %s: points not sorted", spanStr(b))
			}
		}
	}
	for i, n := range seen {
		want := 1
		if skip != nil && skip[i] {
			want = 0
		}
		if n != want {
			t.Errorf("point %d (%v) is in %d blocks, want %d", i, pts[i].address, n, want)
		}
	}
}

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
		{"coil gap of 256 merged", []string{"C0 bool", "C257 bool"}, []string{"C0+258"}},
		{"coil gap of 257 splits", []string{"C0 bool", "C258 bool"}, []string{"C0+1", "C258+1"}},
		{"top of table", []string{"HR65532 float64", "HR65530 uint16"}, []string{"HR65530+6"}},
		{"bits share their register", []string{"HR10.0 bool", "HR10.15 bool", "HR11 int16", "HR12.3 bool"}, []string{"HR10+3"}},
		{"strings", []string{"HR0 string:20", "HR10 uint16", "HR11 string:3"}, []string{"HR0+13"}},
		{"int64 and uint64", []string{"IR0 int64", "IR4 uint64"}, []string{"IR0+8"}},
		{"units never mix", []string{"HR0 uint16 2", "HR1 uint16 1", "HR2 uint16 2"}, []string{"HR1+1", "HR0+3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := mustPoints(t, tt.specs...)
			blocks := plan(pts, nil, defaultLimits, nil)
			var got []string
			for _, b := range blocks {
				got = append(got, spanStr(b))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan = %v, want %v", got, tt.want)
			}
			checkPlan(t, pts, nil, defaultLimits, blocks)
		})
	}
}

func TestPlanSkipAndForbidden(t *testing.T) {
	pts := mustPoints(t, "HR0 uint16", "HR1 uint16", "HR2 uint16", "HR3 uint16", "HR10 uint16", "HR20 uint16")
	skip := []bool{false, false, true, false, false, false}
	cases := []struct {
		forbidden []span
		want      []string
	}{
		{nil, []string{"HR0+21"}},
		{[]span{{unit: 1, table: holdingRegisters, lo: 2, hi: 3}}, []string{"HR0+2", "HR3+18"}},
		{[]span{{unit: 1, table: holdingRegisters, lo: 4, hi: 10}}, []string{"HR0+4", "HR10+11"}},
		{[]span{{unit: 1, table: holdingRegisters, lo: 10, hi: 10}}, []string{"HR0+4", "HR10+11"}}, // no read across 10
		{[]span{{unit: 2, table: holdingRegisters, lo: 2, hi: 3}}, []string{"HR0+21"}},             // other unit
		{[]span{{unit: 1, table: inputRegisters, lo: 2, hi: 3}}, []string{"HR0+21"}},               // other table
		{[]span{{unit: 1, table: holdingRegisters, lo: 0, hi: 0}}, []string{"HR0+21"}},             // an edge is no crossing
		{[]span{{unit: 1, table: holdingRegisters, lo: 21, hi: 30}}, []string{"HR0+21"}},           // past the end
		{[]span{{unit: 1, table: holdingRegisters, lo: 5, hi: 6}, {unit: 1, table: holdingRegisters, lo: 15, hi: 15}}, []string{"HR0+4", "HR10+1", "HR20+1"}},
	}
	for _, c := range cases {
		blocks := plan(pts, skip, defaultLimits, c.forbidden)
		var got []string
		for _, b := range blocks {
			got = append(got, spanStr(b))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("forbidden %v: plan = %v, want %v", c.forbidden, got, c.want)
		}
		checkPlan(t, pts, skip, defaultLimits, blocks)
	}
}

var update = flag.Bool("update", false, "rewrite the expected plans in testdata/plans")

// TestGoldenPlans plans each testdata/plans/*.txt. A file holds comment lines
// (#), optional settings ("max_registers N", "max_bits N", "max_gap N",
// "scatter SEED REGISTERS" to generate a scattered map), the tags, one a line
// "ADDRESS TYPE [unit]", then a line "--- plan" and the expected reads, one a
// line "unit TABLE start count". go test -run TestGoldenPlans -update
// rewrites the expected part.
func TestGoldenPlans(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "plans", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden plans: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, _ := strings.Cut(string(raw), "--- plan\n")
			pts, lim, scattered := parseGoldenInput(t, input)
			blocks := plan(pts, nil, lim, nil)
			checkPlan(t, pts, nil, lim, blocks)
			var got strings.Builder
			for _, b := range blocks {
				fmt.Fprintf(&got, "%d %s %d %d\n", b.unit, b.table.prefix(), b.start, b.count)
			}
			if scattered {
				best := minRequests(pts, lim)
				regs := 0
				for _, b := range blocks {
					regs += b.count
				}
				t.Logf("%d points: %d requests (%d registers read), optimal %d", len(pts), len(blocks), regs, best)
			}
			if *update {
				if err := os.WriteFile(file, []byte(input+"--- plan\n"+got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got.String() != want {
				t.Errorf("plan differs from %s (go test -run TestGoldenPlans -update rewrites it):\n%s", file, diffLines(want, got.String()))
			}
		})
	}
}

func parseGoldenInput(t *testing.T, input string) ([]point, limits, bool) {
	t.Helper()
	lim := defaultLimits
	var pts []point
	scattered := false
	for n, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		setting := func(dst *int) {
			v, err := strconv.Atoi(f[1])
			if len(f) != 2 || err != nil {
				t.Fatalf("line %d: %q: want %s N", n+1, line, f[0])
			}
			*dst = v
		}
		switch f[0] {
		case "max_registers":
			setting(&lim.maxRegisters)
		case "max_bits":
			setting(&lim.maxBits)
		case "max_gap":
			setting(&lim.maxGap)
		case "scatter":
			var seed uint64
			var regs int
			if _, err := fmt.Sscanf(line, "scatter %d %d", &seed, &regs); err != nil {
				t.Fatalf("line %d: %q: %v", n+1, line, err)
			}
			pts = append(pts, scatter(seed, regs)...)
			scattered = true
		default:
			p, err := parsePlanLine(line)
			if err != nil {
				t.Fatalf("line %d: %q: %v", n+1, line, err)
			}
			pts = append(pts, p)
		}
	}
	return pts, lim, scattered
}

// scatter generates a map of about regs registers of mixed types spread over
// the holding and input registers of units 1 and 2 the way a plant's tag
// lists are: mostly packed runs, some short gaps, a few long ones. It uses
// its own generator (splitmix64) so the map never changes.
func scatter(seed uint64, regs int) []point {
	next := func() uint64 {
		seed += 0x9E3779B97F4A7C15
		z := seed
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	types := []dataType{typeUint16, typeUint16, typeUint16, typeInt16, typeFloat32, typeFloat32, typeInt32, typeUint32, typeFloat64, typeInt64}
	areas := []struct {
		unit byte
		t    table
	}{{1, holdingRegisters}, {1, inputRegisters}, {2, holdingRegisters}, {2, inputRegisters}}
	var pts []point
	for k, area := range areas {
		off, used := int(next()%1000), 0
		for used < regs/len(areas)+(k/(len(areas)-1))*(regs%len(areas)) {
			typ := types[next()%uint64(len(types))]
			p := point{address: address{table: area.t, offset: uint16(off), typ: typ, bit: noBit}, unit: area.unit}
			if p.end() > 65536 {
				break
			}
			pts = append(pts, p)
			used += p.size()
			switch r := next() % 100; {
			case r < 70:
				off = p.end()
			case r < 85:
				off = p.end() + 1 + int(next()%4)
			case r < 95:
				off = p.end() + 5 + int(next()%36)
			default:
				off = p.end() + 41 + int(next()%360)
			}
		}
	}
	return pts
}

// minRequests is the fewest reads that cover pts within the limits when any
// gap may be read: greedy from the lowest address, each read as long as the
// limit allows without splitting a value, is optimal.
func minRequests(pts []point, lim limits) int {
	lim.maxGap = 1 << 20
	return len(plan(pts, nil, lim, nil))
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d: want %q, got %q\n", i+1, wl, gl)
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}

func TestScatterIsTenThousandRegisters(t *testing.T) {
	pts := scatter(1, 10000)
	regs := 0
	for _, p := range pts {
		regs += p.size()
	}
	if regs < 10000 || regs > 10010 {
		t.Errorf("scatter(1, 10000): %d registers in %d points", regs, len(pts))
	}
	// With gaps of any size the planner reaches the optimum.
	open := defaultLimits
	open.maxGap = 124
	if got, best := len(plan(pts, nil, open, nil)), minRequests(pts, open); got > best {
		t.Errorf("max_gap 124: %d requests, optimal %d", got, best)
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
	pts := make([]point, 1000)
	for i := range pts {
		tb := table(1 + r.IntN(4))
		a := address{table: tb, offset: uint16(r.IntN(5000)), typ: typeBool, bit: noBit}
		if !tb.bits() {
			a.typ = types[r.IntN(len(types))]
		}
		pts[i] = point{address: a, unit: byte(1 + r.IntN(2))}
	}
	b.ReportAllocs()
	for b.Loop() {
		plan(pts, nil, defaultLimits, nil)
	}
}

func BenchmarkPlanScattered10k(b *testing.B) {
	pts := scatter(1, 10000)
	b.ReportAllocs()
	for b.Loop() {
		plan(pts, nil, defaultLimits, nil)
	}
}
