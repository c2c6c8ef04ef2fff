package control

import (
	"math"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
)

// Setpoint is a loop's working setpoint: the target setpoint, clamped
// into the limits, reached at most Ramp units per second. Like PID it is
// pure: the caller passes the elapsed time in.
type Setpoint struct {
	// Low and High limit the setpoint; -Inf and +Inf when unlimited.
	Low, High float64
	// Ramp is the fastest the working setpoint moves toward the target, in
	// units per second; 0 (or less, or NaN) steps at once.
	Ramp float64

	working float64
	started bool
}

// NewSetpoint returns the working setpoint of a loop of the project.
func NewSetpoint(c config.Loop) Setpoint {
	s := Setpoint{Low: math.Inf(-1), High: math.Inf(1), Ramp: c.SPRamp, working: math.NaN()}
	if c.SPLow != nil {
		s.Low = *c.SPLow
	}
	if c.SPHigh != nil {
		s.High = *c.SPHigh
	}
	return s
}

// Clamp puts a setpoint into the limits.
func (s *Setpoint) Clamp(v float64) float64 { return clamp(v, s.Low, s.High) }

// Within reports whether v is a setpoint the limits allow.
func (s *Setpoint) Within(v float64) bool { return finite(v) && v >= s.Low && v <= s.High }

// Working returns the working setpoint: NaN before the first Step.
func (s *Setpoint) Working() float64 { return s.working }

// Step moves the working setpoint toward target, clamped into the
// limits, over dt, and returns it. The first step goes to the target at
// once, and so does every step when ramp is false (a cascade's remote
// setpoint is not ramped: that would put a lag into the outer loop). A
// non-finite target, or dt <= 0, leaves the working setpoint unchanged.
func (s *Setpoint) Step(target float64, dt time.Duration, ramp bool) float64 {
	if !finite(target) {
		return s.working
	}
	target = s.Clamp(target)
	switch {
	case !s.started || !ramp || !(s.Ramp > 0):
		s.working, s.started = target, true
	case dt > 0:
		step := s.Ramp * dt.Seconds()
		s.working = clamp(target, s.working-step, s.working+step)
	}
	return s.working
}

// Reset sets the working setpoint at once, e.g. to the remote setpoint
// when a loop leaves cascade, so that it ramps from there. NaN forgets it:
// the next Step goes to its target at once.
func (s *Setpoint) Reset(v float64) {
	if math.IsNaN(v) {
		s.working, s.started = math.NaN(), false
		return
	}
	s.working, s.started = s.Clamp(v), true
}
