package tags

import "sync"

// Set is a conflating set of tag indexes with a wake-up signal. Producers Add
// indexes and never block; a consumer waits on C and Takes what changed since
// its last Take. However far a consumer falls behind, it holds each index at
// most once, so memory stays bounded by the tag count and the consumer reads
// only the newest value of each tag.
type Set struct {
	n    int
	mu   sync.Mutex
	bits []uint64 // one bit per tag index: pending
	ids  []int    // pending indexes, in the order first added
	c    chan struct{}
}

// NewSet returns an empty set for indexes 0..n-1.
func NewSet(n int) *Set {
	return &Set{n: n, bits: make([]uint64, (n+63)/64), c: make(chan struct{}, 1)}
}

// C is signalled (without blocking the producer) when indexes are pending.
func (s *Set) C() <-chan struct{} { return s.c }

// Add marks indexes as pending. Indexes out of range are ignored.
func (s *Set) Add(ids ...int) {
	s.mu.Lock()
	added := false
	for _, id := range ids {
		if id < 0 || id >= s.n {
			continue
		}
		w, b := id>>6, uint64(1)<<(id&63)
		if s.bits[w]&b != 0 {
			continue
		}
		s.bits[w] |= b
		s.ids = append(s.ids, id)
		added = true
	}
	s.mu.Unlock()
	if added {
		s.signal()
	}
}

func (s *Set) signal() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// Take appends the pending indexes to buf, clears them, and returns buf.
func (s *Set) Take(buf []int) []int {
	s.mu.Lock()
	buf = append(buf, s.ids...)
	for _, id := range s.ids {
		s.bits[id>>6] &^= 1 << (id & 63)
	}
	s.ids = s.ids[:0]
	s.mu.Unlock()
	return buf
}

// Len is the number of pending indexes.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}
