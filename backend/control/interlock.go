package control

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Interlocks evaluates the project's interlocks whenever a tag they read
// changes, refuses the commands they block while active, and writes the
// outputs they force.
//
// An interlock is active while its condition holds, and also while a tag
// it reads is not Good or not a number, or the condition fails to
// evaluate (fail safe): its reason then names the tag ("T101.Level is
// Bad"). Forces are written once when the interlock activates, and again
// whenever a forced tag reads back another value while it stays active.
// At start, an interlock whose tags have not all been read once yet is
// active (it blocks) but does not force: restarting edgehmi must not trip
// the plant before it has seen it. Forces bypass blocks: they are the
// interlock's own action.
//
// It is safe for concurrent use.
type Interlocks struct {
	db    *tags.DB
	log   *slog.Logger
	event func(hmi.Event)
	list  []*interlock
	// watch maps a tag to the interlocks that read it or force it.
	watch map[int][]*interlock
	// commanded maps a tag to the interlocks that block or force it.
	commanded map[int][]*interlock
	out       *outputs

	mu sync.RWMutex // guards the interlocks' state
}

type interlock struct {
	cfg    config.Interlock
	refs   []int // tags the condition reads, in cfg.Cond.Refs order
	blocks []action
	forces []action
	vals   []hmi.Value // scratch for evaluation (the Run goroutine's)

	// state, under Interlocks.mu
	active  bool
	reason  string
	since   time.Time
	applied bool   // forces written for this activation
	logged  bool   // the state last logged is active
	evals   uint64 // evaluations, for tests
}

type action struct {
	tag   int
	name  string
	value float64
	any   bool // a block without a value: every write
}

// InterlockState is an interlock's state for the API.
type InterlockState struct {
	Name, When, Message string
	Active              bool
	// Reason says why it is active: the condition with the values it saw,
	// or the tag that cannot be trusted.
	Reason string
	// Since is when it last became active or cleared (zero: not since start).
	Since  time.Time
	Blocks []config.InterlockAction
	Forces []config.InterlockAction
}

// Refusal is why an interlock refuses a command.
type Refusal struct {
	Interlock, Message, Reason string
	// Forced: the interlock forces the tag to Value (the command would
	// write another value); otherwise it blocks the value.
	Forced bool
	Value  float64
}

func (r Refusal) Error() string {
	s := fmt.Sprintf("refused by interlock %s: %s", r.Interlock, r.Message)
	if r.Forced {
		s += fmt.Sprintf("; it holds the tag at %s", strconv.FormatFloat(r.Value, 'g', -1, 64))
	}
	if r.Reason != "" {
		s += " (" + r.Reason + ")"
	}
	return s
}

// NewInterlocks binds the project's interlocks to the tag database; forces
// are written through write, and activations and clears go to event (nil:
// nowhere). The project has been validated, so every condition is compiled.
func NewInterlocks(defs []config.Interlock, db *tags.DB, write Writer, log *slog.Logger, event func(hmi.Event)) (*Interlocks, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Interlocks{db: db, log: log, event: event, watch: map[int][]*interlock{}, commanded: map[int][]*interlock{}}
	var forced []int
	lookup := func(name, what string) (int, error) {
		i, ok := db.Lookup(name)
		if !ok {
			return 0, fmt.Errorf("%s %q: %w", what, name, tags.ErrUnknownTag)
		}
		return i, nil
	}
	for _, c := range defs {
		if c.Cond == nil {
			return nil, fmt.Errorf("interlock %q: the condition %q is not compiled (the project was not validated)", c.Name, c.When)
		}
		il := &interlock{cfg: c, vals: make([]hmi.Value, len(c.Cond.Refs))}
		for _, name := range c.Cond.Refs {
			i, err := lookup(name, "tag")
			if err != nil {
				return nil, fmt.Errorf("interlock %q: %w", c.Name, err)
			}
			il.refs = append(il.refs, i)
			s.addWatch(i, il)
		}
		for _, a := range c.Blocks {
			i, err := lookup(a.Tag, "blocked tag")
			if err != nil {
				return nil, fmt.Errorf("interlock %q: %w", c.Name, err)
			}
			b := action{tag: i, name: a.Tag, any: a.Value == nil}
			if a.Value != nil {
				b.value = *a.Value
			}
			il.blocks = append(il.blocks, b)
			s.addCommanded(i, il)
		}
		for _, a := range c.Forces {
			i, err := lookup(a.Tag, "forced tag")
			if err != nil {
				return nil, fmt.Errorf("interlock %q: %w", c.Name, err)
			}
			if a.Value == nil {
				return nil, fmt.Errorf("interlock %q: force of %q has no value", c.Name, a.Tag)
			}
			il.forces = append(il.forces, action{tag: i, name: a.Tag, value: *a.Value})
			s.addWatch(i, il)
			s.addCommanded(i, il)
			forced = append(forced, i)
		}
		s.list = append(s.list, il)
	}
	s.out = newOutputs(db, forced, write)
	// A first evaluation now, so that commands are refused from the start:
	// tags not read yet make every interlock active (without forcing).
	s.EvaluateAll(time.Now())
	return s, nil
}

func (s *Interlocks) addWatch(tag int, il *interlock) {
	if l := s.watch[tag]; len(l) == 0 || l[len(l)-1] != il {
		s.watch[tag] = append(l, il)
	}
}

func (s *Interlocks) addCommanded(tag int, il *interlock) {
	if l := s.commanded[tag]; len(l) == 0 || l[len(l)-1] != il {
		s.commanded[tag] = append(l, il)
	}
}

// Run evaluates every interlock, then those of each tag that changes,
// until ctx ends; it returns when the force writers have stopped too.
func (s *Interlocks) Run(ctx context.Context) {
	if len(s.list) == 0 {
		return
	}
	sub := s.db.Subscribe()
	defer s.db.Unsubscribe(sub)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.out.run(ctx)
	}()
	defer func() { cancel(); <-done }()

	s.EvaluateAll(time.Now())
	var ids []int
	dirty := map[*interlock]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.C():
		}
		ids = sub.Take(ids[:0])
		clear(dirty)
		for _, i := range ids {
			for _, il := range s.watch[i] {
				dirty[il] = true
			}
		}
		now := time.Now()
		for _, il := range s.list { // in project order
			if dirty[il] {
				s.evaluate(il, ids, now)
			}
		}
	}
}

// EvaluateAll evaluates every interlock now (Run does it at start).
func (s *Interlocks) EvaluateAll(now time.Time) {
	for _, il := range s.list {
		s.evaluate(il, nil, now)
	}
}

// evaluate brings an interlock up to date; changed are the tags that
// changed (for re-asserting forces), nil at a full evaluation.
func (s *Interlocks) evaluate(il *interlock, changed []int, now time.Time) {
	armed := true
	reason := ""
	for k, t := range il.refs {
		smp := s.db.Get(t)
		il.vals[k] = smp.Value
		if smp.TS.IsZero() {
			armed = false // not reported by its device yet
		}
		if reason == "" && (smp.Quality != hmi.Good || smp.Value.Kind() == hmi.KindNumber && math.IsNaN(smp.Value.Float())) {
			reason = unusable(il.cfg.Cond.Refs[k], smp)
		}
	}
	active := reason != ""
	if !active {
		holds, err := il.cfg.Cond.Eval(il.vals)
		switch {
		case err != nil:
			active, reason = true, "the condition cannot be evaluated: "+err.Error()
		case holds:
			active, reason = true, s.holdsReason(il)
		}
	}

	s.mu.Lock()
	il.evals++
	was := il.active
	il.active, il.reason = active, reason
	if active != was {
		il.since = now
	}
	// Changes are logged once armed: the start (tags not read yet) is not news.
	logIt := armed && active != il.logged
	if logIt {
		il.logged = active
	}
	var post []action
	switch {
	case !active:
		il.applied = false
	case armed && !il.applied:
		post, il.applied = il.forces, true
	case il.applied:
		// Re-assert a force whose tag changed to another value.
		for _, f := range il.forces {
			if changed != nil && !containsInt(changed, f.tag) {
				continue
			}
			if smp := s.db.Get(f.tag); smp.Quality == hmi.Good && smp.Value.Float() != f.value {
				post = append(post, f)
			}
		}
	}
	s.mu.Unlock()

	for _, f := range post {
		s.out.post(f.tag, TagValue(s.db.Def(f.tag), f.value), s, now)
	}
	s.out.flush()
	if logIt {
		s.logChange(il, active, reason, now)
	}
}

// TagValue is a number as a value of the tag's type: true or false
// (not 0) for a bool tag, else the number.
func TagValue(def *config.Tag, f float64) hmi.Value {
	if def.Type == "bool" || def.Type == "boolean" {
		return hmi.Bool(f != 0)
	}
	return hmi.Number(f)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// holdsReason is the condition with the values it was evaluated with.
func (s *Interlocks) holdsReason(il *interlock) string {
	var b strings.Builder
	b.WriteString(il.cfg.When)
	for k, name := range il.cfg.Cond.Refs {
		if k == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteString(" = ")
		b.WriteString(il.vals[k].Text())
	}
	if len(il.cfg.Cond.Refs) > 0 {
		b.WriteString(")")
	}
	return b.String()
}

func (s *Interlocks) logChange(il *interlock, active bool, reason string, now time.Time) {
	action, detail := "interlock.clear", il.cfg.Message
	if active {
		action, detail = "interlock.active", il.cfg.Message+": "+reason
		s.log.Info("interlock active", "interlock", il.cfg.Name, "reason", reason)
	} else {
		s.log.Info("interlock cleared", "interlock", il.cfg.Name)
	}
	if s.event != nil {
		s.event(hmi.Event{TS: now, Kind: hmi.EventSystem, Source: il.cfg.Name, Action: action, Result: "ok", Detail: detail})
	}
}

// written logs a failed force (implements outSink).
func (s *Interlocks) written(tag int, err error, _, _ time.Time) {
	if err != nil {
		s.log.Warn("interlock force write failed", "tag", s.db.Def(tag).Name, "err", err)
	}
}

// Blocking returns the active interlock that refuses a command writing v
// to tag, if any: one that blocks the value, or forces the tag to another.
func (s *Interlocks) Blocking(tag int, v hmi.Value) (Refusal, bool) {
	list := s.commanded[tag]
	if len(list) == 0 {
		return Refusal{}, false
	}
	f := v.Float()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, il := range list {
		if !il.active {
			continue
		}
		for _, b := range il.blocks {
			if b.tag == tag && (b.any || f == b.value) {
				return Refusal{Interlock: il.cfg.Name, Message: il.cfg.Message, Reason: il.reason}, true
			}
		}
		for _, fo := range il.forces {
			if fo.tag == tag && f != fo.value {
				return Refusal{Interlock: il.cfg.Name, Message: il.cfg.Message, Reason: il.reason, Forced: true, Value: fo.value}, true
			}
		}
	}
	return Refusal{}, false
}

// ForcedBy returns the active interlock that forces tag, and the value.
func (s *Interlocks) ForcedBy(tag int) (string, float64, bool) {
	list := s.commanded[tag]
	if len(list) == 0 {
		return "", 0, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, il := range list {
		if !il.active {
			continue
		}
		for _, f := range il.forces {
			if f.tag == tag {
				return il.cfg.Name, f.value, true
			}
		}
	}
	return "", 0, false
}

// ForTag returns the names of the active interlocks that block or force
// writes to tag.
func (s *Interlocks) ForTag(tag int) []string {
	list := s.commanded[tag]
	names := []string{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, il := range list {
		if il.active {
			names = append(names, il.cfg.Name)
		}
	}
	return names
}

// States returns every interlock's state, in the project's order.
func (s *Interlocks) States() []InterlockState {
	out := make([]InterlockState, len(s.list))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, il := range s.list {
		out[k] = InterlockState{Name: il.cfg.Name, When: il.cfg.When, Message: il.cfg.Message, Active: il.active,
			Reason: il.reason, Since: il.since, Blocks: il.cfg.Blocks, Forces: il.cfg.Forces}
	}
	return out
}

// evaluations counts how often an interlock was evaluated.
func (s *Interlocks) evaluations(name string) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, il := range s.list {
		if il.cfg.Name == name {
			return il.evals
		}
	}
	return 0
}

// Len is the number of interlocks.
func (s *Interlocks) Len() int { return len(s.list) }
