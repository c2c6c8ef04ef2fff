package alarm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

func good(v float64) hmi.Sample { return hmi.Sample{Value: hmi.Number(v), Quality: hmi.Good} }

func testSet(t *testing.T) *Set {
	t.Helper()
	s, err := NewSet([]config.Alarm{
		{Name: "TT1.hihi", Tag: "TT1", Type: "hihi", Limit: 90, Priority: "critical", Message: "Oven over temperature", Area: "oven"},
		{Name: "TT1.hi", Tag: "TT1", Type: "hi", Limit: 80, Deadband: 2, Priority: "high", Area: "oven"},
		{Name: "TT1.lo", Tag: "TT1", Type: "lo", Limit: 10, Priority: "low", Area: "oven"},
		{Name: "LT1.lo", Tag: "LT1", Type: "lo", Limit: 20, Priority: "high", Area: "tank"},
		{Name: "LT1.lolo", Tag: "LT1", Type: "lolo", Limit: 5, Priority: "critical", Area: "tank"},
		{Name: "PT1.hi", Tag: "PT1", Type: "hi", Limit: 6, Area: "pump"},
		{Name: "XS1.hi", Tag: "XS1", Type: "hi", Limit: 1, Priority: "high"}, // a boolean tag
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(snaps []Snapshot) string {
	var b strings.Builder
	for i, s := range snaps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Name + "/" + s.State.String())
	}
	return b.String()
}

func TestNewSetErrors(t *testing.T) {
	_, err := NewSet([]config.Alarm{
		{Name: "a", Tag: "t", Type: "hi"},
		{Name: "b", Tag: "t", Type: "bogus"},
		{Name: "a", Tag: "u", Type: "lo"},
	})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), "used twice") || !strings.Contains(err.Error(), `"bogus"`) {
		t.Fatalf("NewSet error = %v, want the duplicate and the bad type", err)
	}
	s, err := NewSet(nil)
	if err != nil || s.Active() == nil || len(s.Active()) != 0 || s.Evaluate("t", good(1), t0) != nil {
		t.Fatalf("empty set: %v", err)
	}
}

func TestSetEvaluate(t *testing.T) {
	s := testSet(t)
	if got := s.Evaluate("TT1", good(50), t0); got != nil {
		t.Fatalf("no change: %+v", got)
	}
	if got := s.Evaluate("nope", good(1e9), t0); got != nil {
		t.Fatalf("unknown tag: %+v", got)
	}

	// One sample trips two alarms of the tag, in project order.
	got := s.Evaluate("TT1", good(95), t0)
	want := []Transition{
		{Alarm: "TT1.hihi", From: Normal, To: Unacked, Active: true, Value: 95, At: t0},
		{Alarm: "TT1.hi", From: Normal, To: Unacked, Active: true, Value: 95, At: t0},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Evaluate = %+v\nwant       %+v", got, want)
	}

	// Bad quality changes nothing, even with a value that would.
	if got := s.Evaluate("TT1", hmi.BadSample("timeout", t0), t0); got != nil {
		t.Fatalf("bad sample: %+v", got)
	}
	if got := s.Evaluate("TT1", hmi.Sample{Value: hmi.Number(0), Quality: hmi.Uncertain}, t0); got != nil {
		t.Fatalf("uncertain sample: %+v", got)
	}
	// A string that is not a number is not a value.
	if got := s.Evaluate("TT1", hmi.Sample{Value: hmi.String("n/a"), Quality: hmi.Good}, t0); got != nil {
		t.Fatalf("string sample: %+v", got)
	}
	// Inside the hi deadband: only hihi returns.
	got = s.Evaluate("TT1", good(79), t0)
	if len(got) != 1 || got[0].Alarm != "TT1.hihi" || got[0].To != RTNUnacked {
		t.Fatalf("Evaluate(79) = %+v", got)
	}
	// Booleans are 0 and 1.
	got = s.Evaluate("XS1", hmi.Sample{Value: hmi.Bool(true), Quality: hmi.Good}, t0)
	if len(got) != 1 || got[0].To != Unacked || got[0].Value != 1 {
		t.Fatalf("bool true: %+v", got)
	}
}

func TestSetAck(t *testing.T) {
	s := testSet(t)
	s.Evaluate("PT1", good(7), t0)
	if _, err := s.Ack("missing", "ann", "", t0); !errors.Is(err, ErrUnknownAlarm) {
		t.Fatalf("ack unknown: %v", err)
	}
	if _, err := s.Ack("LT1.lo", "ann", "", t0); !errors.Is(err, ErrNothingToAck) {
		t.Fatalf("ack normal: %v", err)
	}
	tr, err := s.Ack("PT1.hi", "ann", "ok", t0.Add(time.Second))
	if err != nil || tr.From != Unacked || tr.To != Acked || tr.User != "ann" || tr.Comment != "ok" {
		t.Fatalf("ack = %+v, %v", tr, err)
	}
	if _, err := s.Ack("PT1.hi", "ann", "", t0); !errors.Is(err, ErrNothingToAck) {
		t.Fatalf("ack twice: %v", err)
	}
	snaps := s.Active()
	if len(snaps) != 1 || snaps[0].AckedBy != "ann" || snaps[0].State != Acked {
		t.Fatalf("Active = %+v", snaps)
	}
}

func TestActiveOrder(t *testing.T) {
	s := testSet(t)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

	s.Evaluate("PT1", good(7), at(1))  // medium, unacked
	s.Evaluate("LT1", good(15), at(2)) // LT1.lo high, unacked
	s.Evaluate("TT1", good(85), at(3)) // TT1.hi high, unacked, newer
	s.Evaluate("XS1", good(1), at(4))  // high, newest
	s.Ack("XS1.hi", "ann", "", at(5))  // ... but acked
	s.Evaluate("TT1", good(95), at(6)) // TT1.hihi critical
	s.Ack("TT1.hihi", "ann", "", at(7))
	s.Evaluate("LT1", good(1), at(8)) // LT1.lolo critical, unacked
	s.Evaluate("TT1", good(60), at(9))
	// TT1.hihi: acked → normal, gone; TT1.hi: unacked → rtn_unacked, stays.

	want := "LT1.lolo/unacked " +
		"TT1.hi/rtn_unacked LT1.lo/unacked XS1.hi/acked " +
		"PT1.hi/unacked"
	if got := names(s.Active()); got != want {
		t.Fatalf("Active order:\n got %s\nwant %s", got, want)
	}

	// Acknowledging moves an alarm behind the unacknowledged ones of its
	// priority; acknowledging a returned one removes it.
	s.Ack("LT1.lo", "bob", "", at(10))
	s.Ack("TT1.hi", "bob", "", at(11))
	want = "LT1.lolo/unacked XS1.hi/acked LT1.lo/acked PT1.hi/unacked"
	if got := names(s.Active()); got != want {
		t.Fatalf("after acks:\n got %s\nwant %s", got, want)
	}

	// Same priority, state and time: by name.
	s2, _ := NewSet([]config.Alarm{
		{Name: "b", Tag: "t", Type: "hi", Limit: 1},
		{Name: "a", Tag: "t", Type: "hi", Limit: 1},
	})
	s2.Evaluate("t", good(2), t0)
	if got := names(s2.Active()); got != "a/unacked b/unacked" {
		t.Fatalf("tie: %s", got)
	}
}

func TestSnapshotJSON(t *testing.T) {
	s := testSet(t)
	since := time.UnixMilli(1740816000123)
	s.Evaluate("TT1", good(92.5), since)
	s.Ack("TT1.hihi", "ann", "", since.Add(time.Second))

	b, err := json.Marshal(s.Active()[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"TT1.hihi","tag":"TT1","type":"hihi","priority":"critical","state":"acked","active":true,` +
		`"message":"Oven over temperature","area":"oven","value":92.5,"since":1740816000123,"acked_by":"ann"}`
	if string(b) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", b, want)
	}

	// It decodes back to the same snapshot.
	var back []Snapshot
	all, _ := json.Marshal(s.Active())
	if err := json.Unmarshal(all, &back); err != nil {
		t.Fatal(err)
	}
	if got := s.Active(); len(back) != len(got) || back[0] != got[0] || back[1] != got[1] {
		t.Fatalf("round trip: %+v, want %+v", back, got)
	}

	// An empty list is [], not null.
	empty, _ := NewSet(nil)
	if b, _ := json.Marshal(empty.Active()); string(b) != "[]" {
		t.Fatalf("empty: %s", b)
	}
}

func TestAllListsNormalAlarmsInProjectOrder(t *testing.T) {
	s, err := NewSet([]config.Alarm{
		{Name: "b", Tag: "x", Type: "hi", Limit: 10, Priority: "low"},
		{Name: "a", Tag: "x", Type: "lo", Limit: 0, Priority: "critical"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Evaluate("x", hmi.Sample{Value: hmi.Number(11), Quality: hmi.Good}, time.Unix(1, 0))
	all := s.All()
	if len(all) != 2 || all[0].Name != "b" || all[0].State != Unacked || all[1].Name != "a" || all[1].State != Normal {
		t.Errorf("All() = %+v", all)
	}
}
