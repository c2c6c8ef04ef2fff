package modbus

import (
	"cmp"
	"fmt"
	"slices"
)

// block is one planned read request: count elements of a table from start.
type block struct {
	table table
	start uint16
	count int
	// points are indexes into the prepared points that this block holds.
	points []int
}

func (b block) String() string {
	last := int(b.start) + b.count - 1
	if b.count == 1 {
		return fmt.Sprintf("%s%d", b.table.prefix(), b.start)
	}
	return fmt.Sprintf("%s%d-%s%d", b.table.prefix(), b.start, b.table.prefix(), last)
}

// plan groups addresses into as few block reads as the protocol limits
// allow: addresses are sorted by table and offset, and a block grows to take
// the next address while the gap before it is at most table.maxGap() unused
// elements and the block stays within table.maxRead() elements. Overlapping
// or repeated addresses share a block.
func plan(addrs []address) []block {
	order := make([]int, len(addrs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		a, b := addrs[i], addrs[j]
		if c := cmp.Compare(a.table, b.table); c != 0 {
			return c
		}
		return cmp.Compare(a.offset, b.offset)
	})

	var blocks []block
	var cur *block
	for _, i := range order {
		a := addrs[i]
		start, end := int(a.offset), int(a.offset)+a.size() // end is exclusive
		if cur != nil && cur.table == a.table {
			curEnd := int(cur.start) + cur.count
			newEnd := max(curEnd, end)
			if start-curEnd <= a.table.maxGap() && newEnd-int(cur.start) <= a.table.maxRead() {
				cur.count = newEnd - int(cur.start)
				cur.points = append(cur.points, i)
				continue
			}
		}
		blocks = append(blocks, block{table: a.table, start: a.offset, count: end - start, points: []int{i}})
		cur = &blocks[len(blocks)-1]
	}
	return blocks
}
