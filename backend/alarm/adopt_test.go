package alarm

import (
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
)

// TestAdopt: a reloaded set keeps the states of alarms defined alike (an
// acknowledged one stays acknowledged, an unacknowledged one keeps the horn
// sounding, a shelve goes on) and starts changed and new ones normal.
func TestAdopt(t *testing.T) {
	now := time.Unix(1000, 0)
	old := testSet(t)
	old.Evaluate(nil, "TT1", good(95), now) // TT1.hihi and TT1.hi unacked
	old.Evaluate(nil, "LT1", good(3), now)  // LT1.lo and LT1.lolo unacked
	if _, err := old.Ack("TT1.hihi", "ann", "", now); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Shelve("LT1.lo", "ann", "sensor", time.Hour, now); err != nil {
		t.Fatal(err)
	}
	if !old.Horn() {
		t.Fatal("no horn before the reload")
	}
	s, err := NewSet([]config.Alarm{
		{Name: "TT1.hihi", Tag: "TT1", Type: "hihi", Limit: 90, Priority: "critical", Message: "Oven over temperature", Area: "oven"},
		{Name: "TT1.hi", Tag: "TT1", Type: "hi", Limit: 85, Deadband: 2, Priority: "high", Area: "oven"}, // changed limit
		{Name: "LT1.lo", Tag: "LT1", Type: "lo", Limit: 20, Priority: "high", Area: "tank"},
		{Name: "LT1.lolo", Tag: "LT1", Type: "lolo", Limit: 5, Priority: "critical", Area: "tank"},
		{Name: "NEW", Tag: "PT1", Type: "hi", Limit: 6},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.Adopt(old), " ")
	if got != "TT1.hihi LT1.lo LT1.lolo" {
		t.Fatalf("adopted %q", got)
	}
	if names(s.All()) != "TT1.hihi/acked TT1.hi/normal LT1.lo/unacked LT1.lolo/unacked NEW/normal" {
		t.Fatalf("states after adopt: %s", names(s.All()))
	}
	if a, _ := s.Get("LT1.lo"); !a.Shelved || a.ShelvedBy != "ann" {
		t.Fatalf("the shelve did not carry over: %+v", a)
	}
	if !s.Horn() {
		t.Fatal("LT1.lolo is unacknowledged: the horn should still sound")
	}
	if _, err := s.Ack("LT1.lolo", "bob", "", now); err != nil || s.Horn() {
		t.Fatalf("ack after adopt: %v, horn %v", err, s.Horn())
	}
	// The changed alarm evaluates afresh at its new limit.
	if trs := s.Evaluate(nil, "TT1", good(95), now.Add(time.Second)); len(trs) != 1 || trs[0].Alarm != "TT1.hi" || trs[0].Kind != Activate {
		t.Fatalf("evaluate after adopt: %+v", trs)
	}
}
