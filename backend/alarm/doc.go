// Package alarm is edgehmi's alarm engine, after ISA-18.2 (IEC 62682) and
// OPC UA Part 9. It is pure logic: no goroutines, no I/O, no clock. The
// caller passes the time in, feeds it tag samples, device links and
// operator actions, and journals and publishes the transitions it gets
// back.
//
// # Alarms
//
// An alarm (config.Alarm) watches one tag, or for type comm one device's
// link:
//
//   - hihi, hi: active at or above the limit; lo, lolo: at or below it.
//   - deviation: active when the tag is the limit or more away from a
//     setpoint tag: above it (direction high), below it (low), or either
//     (both). Its value is the deviation, tag − setpoint.
//   - roc: active when the tag changes by the limit or more per second
//     over a window (default 10s): rising (high), falling (low), or either.
//     The rate is (latest value − value held a window ago) / window; it is
//     known once the history reaches back a whole window, and falls with
//     time alone when the tag stops changing (Tick measures it again).
//   - discrete: active when the tag equals a value (a fault bit = 1, a
//     state number).
//   - bad_quality: active while the tag's quality is Bad.
//   - comm: active while a device's link is down (Set.EvaluateDevice).
//
// Analog alarms (limits, deviation, roc) return only when the value comes
// back past the limit by the deadband. Every alarm may have an on-delay
// (the condition must hold that long, through its last instant, before
// the alarm activates) and an off-delay (the condition must be gone that
// long before it returns); the transition then carries the moment the
// delay ran out. A sample that is not Good, or not a finite number, is no
// value: alarms keep their state and go on with their last value, delays
// included (a roc alarm starts measuring afresh; a bad_quality alarm tests
// the quality itself).
//
// # States
//
// State is the ISA-18.2 state of the condition and its acknowledgement:
//
//	Normal ──activate──▶ Unacked ──ack──▶ Acked ──return──▶ Normal
//	                        │                 (latched: ──▶ LatchedAcked ──reset──▶ Normal)
//	                        └──return──▶ RTNUnacked ──ack──▶ Normal
//	                           (latched: ──▶ LatchedUnacked ──ack──▶ LatchedAcked)
//
// and a new activation in any state but Unacked is a re-alarm to Unacked,
// a new occurrence that needs its own acknowledgement. A latched alarm
// stays in alarm after its condition returns, until it is acknowledged and
// an operator resets it.
//
// Shelved, suppressed-by-design and out-of-service are Flags beside the
// state, as OPC UA Part 9 models them: such an alarm is still evaluated,
// and every transition reported (flagged) for the journal, but it is kept
// from the operator's list (Set.Active), the counts and the horn. An
// operator shelves an alarm for a time up to its max_shelve (default 8h),
// or one-shot until it next returns to normal; the shelve expires by
// itself (on Tick, at its exact time). Suppression follows a condition
// from the project (suppressed_by: the alarm is suppressed while a tag is
// Good and equals a value, e.g. the pump's running bit is 0); a condition
// whose tag is not Good does not suppress. An engineer removes an alarm
// from service and returns it. When nothing hides an alarm any more, a
// return that happened meanwhile needs no acknowledgement (RTNUnacked
// becomes Normal in the unshelve, unsuppress or in_service transition), and
// an alarm still unacknowledged is shown and sounds again.
//
// Alarms may belong to a group; the first of a group to activate since the
// group was last all normal (every alarm of it Normal or hidden) is marked
// first-out (FlagFirstOut, Snapshot.FirstOut) until the group is all normal
// again. Hidden alarms are never first out.
//
// # Using a Set
//
// NewSet builds the project's alarms. The engine owns the Set and calls it
// from one goroutine (it is not safe for concurrent use):
//
//	trs = set.Evaluate(trs[:0], tag, sample, now) // every changed tag
//	trs = set.EvaluateDevice(trs, "plc1", connected, now)
//	trs = set.Tick(trs, now)                       // a few times a second
//
// Evaluate feeds every alarm that reads the tag: as its value, as a
// deviation alarm's setpoint, or as a suppression condition. It appends to
// the slice it is given and allocates nothing in the steady state.
//
// Operator actions name the alarm and return its transitions (with any
// timers that were due at now first), or an error wrapping one of the
// package's sentinel errors; the caller checks roles and audits, the Set
// records the user: Ack, AckAll, Reset, Shelve (OneShot or a duration),
// Unshelve, RemoveFromService, ReturnToService, and Silence for the horn.
//
// Every Transition is one line of the alarm journal: the alarm, the kind
// (activate, return, ack, reset, shelve, unshelve, suppress, unsuppress,
// out_of_service, in_service), the states before and after, the value,
// the time, the user and comment, the priority, area and message, and the
// flags after it. Replaying an alarm's transitions in order gives its
// state: each transition's From is the previous one's To.
//
// For clients, Active is the operator's list, most important first
// (unacknowledged, then priority, then newest); All is every alarm;
// Summary has the counts by priority and whether the horn sounds (any
// alarm not hidden that waits for an acknowledgement and activated since
// the last Silence). Snapshots are plain values with a stable JSON form.
package alarm
