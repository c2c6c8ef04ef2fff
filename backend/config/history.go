package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// History configures the tag history (the project's top-level history).
type History struct {
	// Retention deletes samples older than this (default 30d); written
	// like a duration, with d for days ("30d", "720h").
	Retention LongDuration `yaml:"retention"`
	// MaxSize bounds the database file's used size (default 1GB): while
	// it is larger, the oldest history is deleted ("500MB", "2GB").
	MaxSize ByteSize `yaml:"max_size"`
	// Heartbeat records a tag's value at least this often even when it
	// does not change (default 60s).
	Heartbeat Duration `yaml:"heartbeat"`
	// All records every bool and numeric tag; otherwise only the tags
	// with a history setting of their own are recorded.
	All bool `yaml:"all"`
	// Disabled records no history at all.
	Disabled bool `yaml:"disabled"`
}

// TagHistory is how one tag is recorded.
type TagHistory struct {
	// Deadband: a change smaller than this (engineering units) since the
	// last recorded sample is not recorded; nil uses the tag's deadband.
	Deadband *float64 `yaml:"deadband"`
	// Heartbeat overrides the project's history heartbeat.
	Heartbeat Duration `yaml:"heartbeat"`
	// Disabled: the tag is not recorded.
	Disabled bool `yaml:"disabled"`
}

// Defaults of the history.
const (
	DefaultHistoryRetention = 30 * 24 * time.Hour
	DefaultHistoryMaxSize   = 1 << 30
	DefaultHistoryHeartbeat = 60 * time.Second
	minHistoryHeartbeat     = time.Second
)

// HistoryDeadband is the tag's history deadband in engineering units.
func (t *Tag) HistoryDeadband() float64 {
	if t.History != nil && t.History.Deadband != nil {
		return *t.History.Deadband
	}
	return t.AbsDeadband()
}

// Historized tells whether the tag is recorded: a bool or numeric tag
// (strings are not recorded) with a history setting of its own that does
// not disable it, or any such tag without one when the project records
// all; never when the project's history is disabled. Recording is opt-in
// because it costs: a 100,000-tag plant changing every second would spend
// half a core and 100 MB a minute of disk on history alone.
func (p *Project) Historized(t *Tag) bool {
	if p.History.Disabled || t.Type == "string" || t.Type == "datetime" {
		return false
	}
	if t.History != nil {
		return !t.History.Disabled
	}
	return p.History.All
}

// RecordsHistory tells whether any tag of the project is recorded.
func (p *Project) RecordsHistory() bool {
	for i := range p.Tags {
		if p.Historized(&p.Tags[i]) {
			return true
		}
	}
	return false
}

// HistoryHeartbeat is the longest the history goes without a sample of t.
func (p *Project) HistoryHeartbeat(t *Tag) time.Duration {
	if t.History != nil && t.History.Heartbeat.Duration > 0 {
		return t.History.Heartbeat.Duration
	}
	if p.History.Heartbeat.Duration > 0 {
		return p.History.Heartbeat.Duration
	}
	return DefaultHistoryHeartbeat
}

func (v *validator) history() {
	h := &v.p.History
	if !v.set("history.retention") {
		h.Retention.Duration = DefaultHistoryRetention
	} else if h.Retention.Duration < time.Hour {
		v.errorf("history.retention", "retention %s is too short (at least 1h)", h.Retention.Duration)
	}
	if !v.set("history.max_size") {
		h.MaxSize = DefaultHistoryMaxSize
	} else if h.MaxSize < 1<<20 {
		v.errorf("history.max_size", "max_size %d bytes is too small (at least 1MB)", h.MaxSize)
	}
	if v.set("history.heartbeat") && h.Heartbeat.Duration < minHistoryHeartbeat {
		v.errorf("history.heartbeat", "heartbeat %s is too short (at least %s)", h.Heartbeat.Duration, minHistoryHeartbeat)
	}
	for i := range v.p.Tags {
		t := &v.p.Tags[i]
		if t.History == nil {
			continue
		}
		path := fmt.Sprintf("tags[%d].history", i)
		if d := t.History.Deadband; d != nil && (*d < 0 || math.IsNaN(*d)) {
			v.errorf(path+".deadband", "deadband must be 0 or more")
		}
		if v.set(path+".heartbeat") && t.History.Heartbeat.Duration < minHistoryHeartbeat {
			v.errorf(path+".heartbeat", "heartbeat %s is too short (at least %s)", t.History.Heartbeat.Duration, minHistoryHeartbeat)
		}
	}
}

// LongDuration is a Duration that may also be written in days: "30d".
type LongDuration struct{ time.Duration }

// UnmarshalYAML reads "30d", "12h" or "90m".
func (d *LongDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration such as \"30d\" or \"12h\"")
	}
	s := strings.TrimSpace(n.Value)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(days, 64)
		if err != nil || f < 0 || f > 36500 {
			return fmt.Errorf("%q is not a duration (write e.g. \"30d\" or \"12h\")", n.Value)
		}
		d.Duration = time.Duration(f * float64(24*time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (write e.g. \"30d\" or \"12h\")", n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as text.
func (d LongDuration) MarshalYAML() (any, error) { return d.String(), nil }

// ByteSize is a size in bytes written as "1GB", "500MB", "64KB" or a plain
// number of bytes (units are powers of 1024).
type ByteSize int64

// UnmarshalYAML reads a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	bad := fmt.Errorf("%q is not a size (write e.g. \"500MB\" or \"2GB\")", n.Value)
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	s := strings.ToUpper(strings.TrimSpace(n.Value))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*float64(mult) > math.MaxInt64/2 {
		return bad
	}
	*b = ByteSize(f * float64(mult))
	return nil
}
