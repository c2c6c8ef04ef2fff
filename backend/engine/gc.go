package engine

// GCPercent is the Go collector's target that the edgehmi binary sets when
// the GOGC environment variable does not: the heap may grow to 1.25 times
// the live data between collections, instead of the runtime's default 2.
//
// An HMI's heap is mostly long-lived state (tag definitions, current
// samples, plans) and it allocates little per scan (under 1 MB/s while
// polling 100,000 values/s), so a collection comes every ten seconds or
// more and the extra ones cost next to nothing, while RSS follows the
// heap goal: for a 100,000-tag project (51 MB live) RSS is about 97 MB at
// 25, 108 MB at 50 and over 130 MB at the default (docs/benchmarks.md).
// Setting GOGC (or GOMEMLIMIT, which the runtime honours either way)
// overrides it.
const GCPercent = 25
