package engine

// GCPercent is the Go collector's target that the edgehmi binary sets when
// the GOGC environment variable does not: the heap may grow to 1.5 times
// the live data between collections, instead of the runtime's default 2.
//
// An HMI's heap is mostly long-lived state (tag definitions, current
// samples, plans) and it allocates little per scan (about 0.25 MB/s while
// polling 100,000 values/s), so the extra collections cost next to nothing,
// while the default would let RSS settle at twice the live heap: 116 MB
// instead of 95 MB for a 100,000-tag project (docs/benchmarks.md). Setting
// GOGC (or GOMEMLIMIT, which the runtime honours either way) overrides it.
const GCPercent = 50
