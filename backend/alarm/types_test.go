package alarm

import (
	"errors"
	"testing"
)

func TestParseAndString(t *testing.T) {
	for i, n := range []string{"hihi", "hi", "lo", "lolo", "deviation", "roc", "discrete", "bad_quality", "comm"} {
		ty, err := ParseType(n)
		if err != nil || ty != Type(i) || ty.String() != n {
			t.Errorf("ParseType(%q) = %v, %v", n, ty, err)
		}
		var back Type
		b, _ := ty.MarshalText()
		if err := back.UnmarshalText(b); err != nil || back != ty {
			t.Errorf("type %v round trip: %v, %v", ty, back, err)
		}
	}
	for i, n := range []string{"low", "medium", "high", "critical"} {
		p, err := ParsePriority(n)
		if err != nil || p != Priority(i) || p.String() != n {
			t.Errorf("ParsePriority(%q) = %v, %v", n, p, err)
		}
	}
	for i, n := range []string{"both", "high", "low"} {
		d, err := ParseDirection(n)
		if err != nil || d != Direction(i) || d.String() != n {
			t.Errorf("ParseDirection(%q) = %v, %v", n, d, err)
		}
	}
	if d, err := ParseDirection(""); d != Both || err != nil {
		t.Errorf("ParseDirection(\"\") = %v, %v", d, err)
	}
	for _, bad := range []string{"", "HI", "high", "h", "lowlow", "rate"} {
		if _, err := ParseType(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseType(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
	for _, bad := range []string{"", "Low", "urgent", "hi"} {
		if _, err := ParsePriority(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePriority(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := ParseDirection("up"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseDirection(up) error = %v", err)
	}
	if !(Critical > High && High > Medium && Medium > Low) {
		t.Error("priorities are not ordered low < medium < high < critical")
	}
	for i, n := range []string{"normal", "unacked", "acked", "rtn_unacked", "latched_unacked", "latched_acked"} {
		var s State
		if err := s.UnmarshalText([]byte(n)); err != nil || s != State(i) || s.String() != n {
			t.Errorf("state %q = %v, %v", n, s, err)
		}
	}
	for i, n := range []string{"activate", "return", "ack", "reset", "shelve", "unshelve", "suppress", "unsuppress", "out_of_service", "in_service"} {
		var k Kind
		if err := k.UnmarshalText([]byte(n)); err != nil || k != Kind(i) || k.String() != n {
			t.Errorf("kind %q = %v, %v", n, k, err)
		}
	}
	var s State
	var k Kind
	if s.UnmarshalText([]byte("shelved")) == nil || k.UnmarshalText([]byte("acked")) == nil {
		t.Error("unknown state or kind decoded")
	}
	out := map[string]string{State(9).String(): "state(9)", Type(12).String(): "type(12)", Priority(7).String(): "priority(7)",
		Kind(10).String(): "kind(10)", Direction(3).String(): "direction(3)"}
	for got, want := range out {
		if got != want {
			t.Errorf("out of range: %q, want %q", got, want)
		}
	}
}

func TestStatePredicates(t *testing.T) {
	for _, tc := range []struct {
		s                        State
		active, unacked, latched bool
	}{
		{Normal, false, false, false},
		{Unacked, true, true, false},
		{Acked, true, false, false},
		{RTNUnacked, false, true, false},
		{LatchedUnacked, false, true, true},
		{LatchedAcked, false, false, true},
	} {
		if tc.s.Active() != tc.active || tc.s.Unacked() != tc.unacked || tc.s.Latched() != tc.latched {
			t.Errorf("%v: active %v unacked %v latched %v", tc.s, tc.s.Active(), tc.s.Unacked(), tc.s.Latched())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		f      Flags
		text   string
		hidden bool
	}{
		{0, "", false},
		{FlagFirstOut, "first_out", false},
		{FlagShelved, "shelved", true},
		{FlagSuppressed | FlagFirstOut, "suppressed,first_out", true},
		{FlagShelved | FlagSuppressed | FlagOutOfService | FlagFirstOut, "shelved,suppressed,out_of_service,first_out", true},
		{FlagOutOfService, "out_of_service", true},
	} {
		if tc.f.String() != tc.text || tc.f.Hidden() != tc.hidden {
			t.Errorf("%d: %q hidden %v, want %q %v", tc.f, tc.f.String(), tc.f.Hidden(), tc.text, tc.hidden)
		}
		var back Flags
		b, _ := tc.f.MarshalText()
		if err := back.UnmarshalText(b); err != nil || back != tc.f {
			t.Errorf("%q round trip: %v, %v", tc.text, back, err)
		}
	}
	var f Flags
	if err := f.UnmarshalText([]byte("shelved,loud")); err == nil {
		t.Error("unknown flag decoded")
	}
}
