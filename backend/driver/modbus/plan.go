package modbus

import (
	"cmp"
	"fmt"
	"slices"
)

// Defaults of the planner's limits, used for a device that sets none (a
// project built in code; the project file fills the same defaults).
const (
	defaultMaxRegisters = 125
	defaultMaxBits      = 2000
	defaultMaxGap       = 16
)

// limits bound the planner's block reads for one device.
type limits struct {
	maxRegisters int // registers per read, 1-125
	maxBits      int // coils or discrete inputs per read, 1-2000
	maxGap       int // unused registers a read may span; bits: 16x
}

// defaultLimits are the limits of a device that sets none.
var defaultLimits = limits{maxRegisters: defaultMaxRegisters, maxBits: defaultMaxBits, maxGap: defaultMaxGap}

// maxRead is the most elements one read of table t may ask for.
func (l limits) maxRead(t table) int {
	if t.bits() {
		return l.maxBits
	}
	return l.maxRegisters
}

// gap is the largest run of unwanted elements of table t a read may span to
// save a request: maxGap registers, or 16 bits per register of gap.
func (l limits) gap(t table) int {
	if t.bits() {
		return 16 * l.maxGap
	}
	return l.maxGap
}

// point is one prepared point: where it is, which unit holds it and the
// byte order of its value.
type point struct {
	address
	unit  byte
	order byteOrder
}

// span is a range [lo, hi) of one table of one unit that no read may cover
// (an illegal address found by isolation). An empty span [p, p) forbids a
// read from crossing p.
type span struct {
	unit   byte
	table  table
	lo, hi int
}

// cuts reports whether the read [start, end) of unit/table must not be made
// because of s.
func (s span) cuts(unit byte, t table, start, end int) bool {
	return s.unit == unit && s.table == t && start < s.hi && s.lo < end && (s.lo < s.hi || start < s.lo)
}

// block is one planned read request: count elements of a table of a unit
// from start.
type block struct {
	unit  byte
	table table
	start uint16
	count int
	// points are indexes into the prepared points that this block holds,
	// sorted by address.
	points []int
}

func (b block) String() string {
	last := int(b.start) + b.count - 1
	if b.count == 1 {
		return fmt.Sprintf("%s%d", b.table.prefix(), b.start)
	}
	return fmt.Sprintf("%s%d-%s%d", b.table.prefix(), b.start, b.table.prefix(), last)
}

// plan groups points into as few block reads as the limits allow: points
// are sorted by unit, table and offset, and a block grows to take the next
// point while the gap before it is at most lim.gap() unused elements, the
// block stays within lim.maxRead() elements and it covers no forbidden span.
// Overlapping or repeated addresses share a block; a multi-register value is
// never split. Points with skip[i] set are left out (skip may be nil).
func plan(pts []point, skip []bool, lim limits, forbidden []span) []block {
	order := make([]int, 0, len(pts))
	for i := range pts {
		if skip == nil || !skip[i] {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := pts[i], pts[j]
		if c := cmp.Compare(a.unit, b.unit); c != 0 {
			return c
		}
		if c := cmp.Compare(a.table, b.table); c != 0 {
			return c
		}
		if c := cmp.Compare(a.offset, b.offset); c != 0 {
			return c
		}
		return cmp.Compare(i, j)
	})

	var blocks []block
	var cur *block
	for _, i := range order {
		p := pts[i]
		start, end := int(p.offset), p.end()
		if cur != nil && cur.unit == p.unit && cur.table == p.table {
			curEnd := int(cur.start) + cur.count
			newEnd := max(curEnd, end)
			if start-curEnd <= lim.gap(p.table) && newEnd-int(cur.start) <= lim.maxRead(p.table) &&
				!forbids(forbidden, p.unit, p.table, int(cur.start), newEnd) {
				cur.count = newEnd - int(cur.start)
				cur.points = append(cur.points, i)
				continue
			}
		}
		blocks = append(blocks, block{unit: p.unit, table: p.table, start: p.offset, count: end - start, points: []int{i}})
		cur = &blocks[len(blocks)-1]
	}
	return blocks
}

func forbids(forbidden []span, unit byte, t table, start, end int) bool {
	for _, s := range forbidden {
		if s.cuts(unit, t, start, end) {
			return true
		}
	}
	return false
}
