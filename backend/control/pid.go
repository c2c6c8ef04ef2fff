// Package control holds the control algorithms edgehmi runs itself. It is
// pure logic: no clocks, no goroutines, no I/O. The caller (the engine) reads
// the tags, passes the elapsed time in, and writes the result out.
package control

import (
	"math"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
)

// DefaultN is the derivative filter coefficient used when PID.N is not set:
// the derivative is filtered with the time constant Td/N.
const DefaultN = 10

// PID is a PID controller in ISA standard (ideal) form:
//
//	u = Kp·(e + (1/Ti)·∫e dt + Td·de/dt)
//
// with e = SP − PV (direct acting) or PV − SP (Reverse), and:
//
//   - proportional on error (Kp·e), or on measurement (−Kp·PV, or +Kp·PV
//     when reverse acting; the constant part is carried by the integral),
//     which gives no proportional kick when the setpoint steps;
//   - derivative on measurement (−dPV/dt instead of de/dt, so a setpoint
//     change gives no derivative kick), filtered by a first-order lag with
//     time constant Td/N and discretised by backward difference, which is
//     stable for any step;
//   - integral by backward Euler (the step's own error is included), kept in
//     output units, and off when Ti == 0; then it is a fixed bias (manual
//     reset) that Track sets for a bumpless transfer;
//   - anti-windup by conditional integration (integrator clamping): a step
//     of the integral may take the output at most up to its limit, and the
//     integral itself (proportional on error) or the proportional and
//     integral terms together (on measurement) at most up to the output
//     range, in the step's direction; a step that would go further is cut
//     there, or not taken if already past. Steps back toward the range are
//     always taken. So the integral does not grow while the output is
//     saturated, and the output leaves the limit as soon as the error
//     reverses. (Back-calculation was not chosen: it needs a tracking time
//     constant to tune.)
//   - output clamped to [OutLow, OutHigh], and moved at most OutRate·dt
//     from the last output when OutRate > 0. The rate limit narrows the
//     limits of the step, so the conditional integration holds the
//     integral while the output slews, too.
//
// Update with dt <= 0 or a non-finite SP or PV leaves the output and the
// state unchanged, and so does a step whose arithmetic overflows.
//
// The gains and limits may be changed between calls; the integral is kept in
// output units, so a gain change does not bump the output through it, and
// SetTuning makes it bumpless altogether.
//
// A PID is not safe for concurrent use.
type PID struct {
	// Kp is the proportional gain (output units per PV unit).
	Kp float64
	// Ti is the integral time in seconds; 0 turns the integral off.
	Ti float64
	// Td is the derivative time in seconds; 0 turns the derivative off.
	Td float64
	// N is the derivative filter coefficient: the derivative is filtered
	// with the time constant Td/N. Zero, negative or NaN means DefaultN.
	N float64
	// OutLow and OutHigh limit the output. They must be finite with
	// OutLow <= OutHigh; a validated project guarantees it.
	OutLow, OutHigh float64
	// Reverse acting: the error is PV − SP, so the output rises when the PV
	// is above the setpoint (cooling).
	Reverse bool
	// POnMeasurement puts the proportional term on the PV instead of the
	// error.
	POnMeasurement bool
	// OutRate is the fastest the output may move, in units per second; 0
	// (or less, or NaN) does not limit it.
	OutRate float64

	out    float64 // last output, within the limits
	integ  float64 // integral term (or bias when Ti == 0), output units
	deriv  float64 // filtered derivative term, output units
	prevPV float64 // PV of the last step, for the derivative
	// fresh: no previous PV (first step, or first step after Track): the
	// derivative starts from zero and, after Track, the integral is set so
	// that the output continues from the tracked value.
	fresh   bool
	tracked bool
}

// NewPID returns a controller for a loop of the project. Its output starts
// at 0, clamped into the limits; call Track with the current value of the
// output tag first so that the first Update does not bump it.
func NewPID(c config.Loop) *PID {
	p := &PID{
		Kp:             c.Kp,
		Ti:             c.Ti,
		Td:             c.Td,
		N:              DefaultN,
		OutLow:         c.OutLow,
		OutHigh:        c.OutHigh,
		Reverse:        c.Reverse,
		POnMeasurement: c.POn == config.POnMeasurement,
		OutRate:        c.OutRate,
		fresh:          true,
	}
	if c.DFilter > 0 {
		p.N = 1 / c.DFilter
	}
	p.out = clamp(0, p.OutLow, p.OutHigh)
	return p
}

// Output returns the last output, as returned by Update or set by Track.
func (p *PID) Output() float64 { return p.out }

// Track sets the output, for manual mode or while a fail-safe value is held:
// the next Update continues from it without a bump (the integral, or the
// bias when Ti == 0, absorbs the proportional term, and the derivative
// restarts from zero). The value is clamped into the limits; NaN is ignored.
// Call it on every cycle the loop is not in automatic.
func (p *PID) Track(out float64) {
	if math.IsNaN(out) {
		return
	}
	p.out = clamp(out, p.OutLow, p.OutHigh)
	p.fresh = true
	p.tracked = true
}

// SetTuning changes the gains without a bump: the next Update continues
// from the current output, as after Track.
func (p *PID) SetTuning(kp, ti, td float64) {
	p.Kp, p.Ti, p.Td = kp, ti, td
	p.Track(p.out)
}

// Update runs one step of the controller, dt after the previous one, and
// returns the new output, clamped into [OutLow, OutHigh].
func (p *PID) Update(sp, pv float64, dt time.Duration) float64 {
	if dt <= 0 || !finite(sp) || !finite(pv) {
		return p.out
	}
	h := dt.Seconds()
	lo, hi := p.OutLow, p.OutHigh
	// The step's limits: the output range, narrowed by the rate limit.
	rlo, rhi := lo, hi
	if p.OutRate > 0 {
		rlo, rhi = math.Max(lo, p.out-p.OutRate*h), math.Min(hi, p.out+p.OutRate*h)
	}

	sign := 1.0
	if p.Reverse {
		sign = -1
	}
	e := sign * (sp - pv)
	prop := p.Kp * e
	if p.POnMeasurement {
		prop = -sign * p.Kp * pv
	}

	// Derivative on measurement, filtered: Tf·dD/dt + D = −Kp·Td·dPV/dt
	// (sign flipped when reverse acting), by backward difference.
	deriv := 0.0
	if p.Td > 0 && !p.fresh {
		n := p.N
		if !(n > 0) {
			n = DefaultN
		}
		tf := p.Td / n
		dpv := pv - p.prevPV
		if p.Reverse {
			dpv = -dpv
		}
		deriv = (tf*p.deriv - p.Kp*p.Td*dpv) / (tf + h)
	}

	integ := p.integ
	if p.tracked {
		// Bumpless: choose the integral (or bias) that gives the tracked
		// output with this step's proportional and derivative terms.
		integ = p.out - prop - deriv
	}
	if p.Ti > 0 {
		integ = p.integrate(integ, p.Kp*h/p.Ti*e, prop, deriv, lo, hi, rlo, rhi)
	}

	v := prop + integ + deriv
	if math.IsNaN(v) || !finite(integ) || !finite(deriv) || !finite(prop) {
		return p.out // overflow: keep the last good state
	}
	p.integ, p.deriv, p.prevPV = integ, deriv, pv
	p.fresh, p.tracked = false, false
	p.out = clamp(v, rlo, rhi)
	return p.out
}

// integrate adds the step di to the integral i, with conditional
// integration: moving up, the integral may bring the output
// (prop + deriv + i) at most to the step's high limit rhi, and itself (or,
// proportional on measurement, prop + i) at most to the range's high hi;
// if it is already past either it stays where it is. Moving down likewise
// with rlo and lo.
func (p *PID) integrate(i, di, prop, deriv, lo, hi, rlo, rhi float64) float64 {
	own := 0.0 // what the range limit bounds besides the integral
	if p.POnMeasurement {
		own = prop
	}
	next := i + di
	switch {
	case di > 0:
		if ceil := math.Min(rhi-prop-deriv, hi-own); next > ceil {
			next = math.Max(i, ceil)
		}
	case di < 0:
		if floor := math.Max(rlo-prop-deriv, lo-own); next < floor {
			next = math.Min(i, floor)
		}
	default:
		next = i // di is 0 or NaN
	}
	return next
}

func clamp(v, lo, hi float64) float64 {
	if v > hi {
		return hi
	}
	if v < lo {
		return lo
	}
	return v
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
