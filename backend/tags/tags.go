// Package tags is the tag database: the project's tag definitions, the last
// sample of every tag, scaling between raw device values and engineering
// units, deadbands, and a change bus that conflates per subscriber.
package tags

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Errors a write can be refused with, before it reaches a device.
var (
	ErrUnknownTag  = errors.New("unknown tag")
	ErrNotWritable = errors.New("tag is not writable")
	ErrBadValue    = errors.New("value not accepted")
)

// DB holds every tag's definition and current sample. It is safe for
// concurrent use: drivers' pollers ingest, many readers read.
type DB struct {
	defs  []config.Tag
	index map[string]int
	bools []bool    // the tag's type is bool
	dead  []float64 // absolute deadband per tag

	mu  sync.RWMutex
	cur []cell
	// pub is the last published number per tag, the reference for
	// deadbands. (Other kinds publish every change, and a change of kind
	// is published, so for them the current value is the last published.)
	pub  []float64
	subs []*Set

	changes uint64 // published changes, for metrics
}

// notRead is the reason of a tag no device has delivered yet.
const notRead = "not read yet"

// New builds a database for the project's tags, all Bad until first read.
// The database keeps defs (a project's tags are not changed once loaded):
// the caller must not modify them.
func New(defs []config.Tag) *DB {
	db := &DB{
		defs:  defs,
		index: make(map[string]int, len(defs)),
		bools: make([]bool, len(defs)),
		dead:  make([]float64, len(defs)),
		cur:   make([]cell, len(defs)),
		pub:   make([]float64, len(defs)),
	}
	for i, d := range db.defs {
		db.index[d.Name] = i
		db.bools[i] = d.Type == "bool" || d.Type == "boolean"
		db.dead[i] = d.AbsDeadband()
		db.cur[i] = cell{q: hmi.Bad, reason: notRead}
	}
	return db
}

// Len is the number of tags.
func (db *DB) Len() int { return len(db.defs) }

// Lookup returns the index of a tag by name.
func (db *DB) Lookup(name string) (int, bool) {
	i, ok := db.index[name]
	return i, ok
}

// Def returns the definition of tag i. The caller must not modify it.
func (db *DB) Def(i int) *config.Tag { return &db.defs[i] }

// Get returns the current sample of tag i.
func (db *DB) Get(i int) hmi.Sample {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.cur[i].sample()
}

// GetByName returns the current sample of a tag by name.
func (db *DB) GetByName(name string) (hmi.Sample, bool) {
	i, ok := db.index[name]
	if !ok {
		return hmi.Sample{}, false
	}
	return db.Get(i), true
}

// Read copies the current samples of ids into out, which must be as long.
func (db *DB) Read(ids []int, out []hmi.Sample) {
	db.mu.RLock()
	for k, i := range ids {
		out[k] = db.cur[i].sample()
	}
	db.mu.RUnlock()
}

// Changes is the number of changes published since start.
func (db *DB) Changes() uint64 {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.changes
}

// Subscribe returns a Set that receives the index of every tag that changes.
func (db *DB) Subscribe() *Set {
	s := NewSet(len(db.defs))
	db.mu.Lock()
	// Copy on write: notify iterates the old slice without the lock.
	db.subs = append(slices.Clip(db.subs), s)
	db.mu.Unlock()
	return s
}

// Unsubscribe stops changes going to s.
func (db *DB) Unsubscribe(s *Set) {
	db.mu.Lock()
	db.subs = slices.DeleteFunc(slices.Clone(db.subs), func(x *Set) bool { return x == s })
	db.mu.Unlock()
}

// Ingest stores raw readings from a driver: numbers are scaled to
// engineering units, and a change is published when the quality or reason
// changes, or the value moves by more than the tag's deadband. changed is
// scratch space, returned for reuse.
func (db *DB) Ingest(readings []driver.Reading, changed []int) []int {
	changed = changed[:0]
	db.mu.Lock()
	for _, r := range readings {
		i := r.Index
		if i < 0 || i >= len(db.defs) {
			continue
		}
		s := r.Sample
		if s.Value.IsZero() {
			s.Value = db.cur[i].val // keep the last known value beside a Bad quality
		} else {
			s.Value = db.toEng(i, s.Value)
		}
		if db.store(i, s) {
			changed = append(changed, i)
		}
	}
	db.publishLocked(changed)
	db.mu.Unlock()
	db.notify(changed)
	return changed
}

// MarkBad sets tags Bad with a reason, keeping their last values.
func (db *DB) MarkBad(ids []int, reason string, ts time.Time) {
	var changed []int
	db.mu.Lock()
	for _, i := range ids {
		if db.store(i, hmi.Sample{Value: db.cur[i].val, Quality: hmi.Bad, Reason: reason, TS: ts}) {
			changed = append(changed, i)
		}
	}
	db.publishLocked(changed)
	db.mu.Unlock()
	db.notify(changed)
}

// MarkStale makes Good tags Uncertain with a reason, keeping their values;
// tags already Bad or Uncertain are left as they are.
func (db *DB) MarkStale(ids []int, reason string, ts time.Time) {
	var changed []int
	db.mu.Lock()
	for _, i := range ids {
		if c := db.cur[i]; c.q == hmi.Good {
			if db.store(i, hmi.Sample{Value: c.val, Quality: hmi.Uncertain, Reason: reason, TS: c.time()}) {
				changed = append(changed, i)
			}
		}
	}
	db.publishLocked(changed)
	db.mu.Unlock()
	db.notify(changed)
}

// store sets the current sample and reports whether subscribers must hear of it.
func (db *DB) store(i int, s hmi.Sample) bool {
	old := db.cur[i]
	db.cur[i] = cellOf(s)
	if old.q != s.Quality || old.reason != s.Reason || old.val.Kind() != s.Value.Kind() {
		return true
	}
	if s.Value.Kind() == hmi.KindNumber {
		d := math.Abs(s.Value.Float() - db.pub[i])
		return d > db.dead[i] || math.IsNaN(d)
	}
	return old.val != s.Value
}

func (db *DB) publishLocked(changed []int) {
	for _, i := range changed {
		db.pub[i] = db.cur[i].val.Float()
	}
	db.changes += uint64(len(changed))
}

func (db *DB) notify(changed []int) {
	if len(changed) == 0 {
		return
	}
	db.mu.RLock()
	subs := db.subs
	db.mu.RUnlock()
	for _, s := range subs {
		s.Add(changed...)
	}
}

// toEng converts a raw device value to the tag's engineering value.
func (db *DB) toEng(i int, v hmi.Value) hmi.Value {
	d := &db.defs[i]
	if db.bools[i] {
		if v.Kind() == hmi.KindBool {
			return v
		}
		return hmi.Bool(v.Truth())
	}
	if v.Kind() == hmi.KindNumber && d.Scale != nil {
		return hmi.Number(d.Scale.Apply(v.Float()))
	}
	return v
}

// ToRaw checks an operator's value against tag i's type, writability and
// limits, and converts it to the raw value to write to the device.
func (db *DB) ToRaw(i int, v hmi.Value) (hmi.Value, error) {
	d := &db.defs[i]
	if !d.Writable {
		return hmi.Value{}, fmt.Errorf("tag %q: %w", d.Name, ErrNotWritable)
	}
	switch {
	case db.bools[i]:
		if v.Kind() != hmi.KindBool {
			return hmi.Value{}, fmt.Errorf("tag %q takes true or false, not %q: %w", d.Name, v.Text(), ErrBadValue)
		}
		return v, nil
	case d.Type == "string":
		if v.Kind() != hmi.KindString {
			return hmi.Value{}, fmt.Errorf("tag %q takes text: %w", d.Name, ErrBadValue)
		}
		return v, nil
	}
	if v.Kind() != hmi.KindNumber {
		return hmi.Value{}, fmt.Errorf("tag %q takes a number, not %q: %w", d.Name, v.Text(), ErrBadValue)
	}
	f := v.Float()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return hmi.Value{}, fmt.Errorf("tag %q takes a finite number: %w", d.Name, ErrBadValue)
	}
	if d.Low != nil && f < *d.Low || d.High != nil && f > *d.High {
		return hmi.Value{}, fmt.Errorf("tag %q: %g %s is outside its limits %s: %w", d.Name, f, d.Unit, limits(d), ErrBadValue)
	}
	return hmi.Number(d.Scale.Invert(f)), nil
}

func limits(d *config.Tag) string {
	lo, hi := "-∞", "+∞"
	if d.Low != nil {
		lo = fmt.Sprintf("%g", *d.Low)
	}
	if d.High != nil {
		hi = fmt.Sprintf("%g", *d.High)
	}
	return lo + " to " + hi + " " + d.Unit
}

// ToEng converts a raw value read back from the device for tag i.
func (db *DB) ToEng(i int, raw hmi.Value) hmi.Value { return db.toEng(i, raw) }

// Points returns the tags of one device as its driver reads them.
func (db *DB) Points(device string) []driver.Point {
	n := 0
	for i := range db.defs {
		if db.defs[i].Device == device {
			n++
		}
	}
	ps := make([]driver.Point, 0, n)
	for i := range db.defs {
		if db.defs[i].Device == device {
			ps = append(ps, db.Point(i))
		}
	}
	return ps
}

// Point returns tag i as its driver reads it.
func (db *DB) Point(i int) driver.Point {
	d := &db.defs[i]
	return driver.Point{Index: i, Tag: d.Name, Address: d.Address, Type: d.Type,
		ByteOrder: d.ByteOrder, UnitID: d.UnitID, Length: d.Length}
}

// IDs returns the indexes of the tags of one device, in definition order.
func (db *DB) IDs(device string) []int {
	var ids []int
	for i, d := range db.defs {
		if d.Device == device {
			ids = append(ids, i)
		}
	}
	return ids
}

// cell is a tag's current sample as the database holds it: an hmi.Sample
// with its time as Unix nanoseconds, 64 bytes instead of 80 (a 100,000-tag
// project holds one per tag).
type cell struct {
	val    hmi.Value
	reason string
	ts     int64 // Unix nanoseconds; 0: no time
	q      hmi.Quality
}

func cellOf(s hmi.Sample) cell {
	c := cell{val: s.Value, reason: s.Reason, q: s.Quality}
	if !s.TS.IsZero() {
		c.ts = s.TS.UnixNano()
	}
	return c
}

func (c cell) time() time.Time {
	if c.ts == 0 {
		return time.Time{}
	}
	return time.Unix(0, c.ts)
}

func (c cell) sample() hmi.Sample {
	return hmi.Sample{Value: c.val, Quality: c.q, Reason: c.reason, TS: c.time()}
}

// CarryOver copies the current samples of old's tags into this database's
// tags of the same name and definition that have not been written yet
// (a tag whose scaling or type changed waits for its device), without publishing
// them: a project reload keeps the values it already knows. It returns how
// many it copied.
func (db *DB) CarryOver(old *DB) int {
	old.mu.RLock()
	defer old.mu.RUnlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for i := range db.defs {
		j, ok := old.index[db.defs[i].Name]
		if !ok || db.cur[i].ts != 0 || db.cur[i].reason != notRead || !reflect.DeepEqual(db.defs[i], old.defs[j]) {
			continue
		}
		db.cur[i] = old.cur[j]
		db.pub[i] = old.pub[j]
		n++
	}
	return n
}
