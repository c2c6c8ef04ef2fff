package control

import (
	"math"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
)

const sec = time.Second

// near is for results that are exact in decimal but may be off by rounding
// in binary; the numbers below are chosen so that most are exact anyway.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

type step struct {
	sp, pv float64
	dt     time.Duration
	want   float64
}

func run(t *testing.T, p *PID, steps []step) {
	t.Helper()
	for i, s := range steps {
		if got := p.Update(s.sp, s.pv, s.dt); !near(got, s.want) {
			t.Fatalf("step %d: Update(%g, %g, %v) = %.12g, want %g", i, s.sp, s.pv, s.dt, got, s.want)
		}
		if got := p.Output(); !near(got, s.want) {
			t.Fatalf("step %d: Output() = %.12g, want %g", i, got, s.want)
		}
	}
}

func TestNewPID(t *testing.T) {
	p := NewPID(config.Loop{Name: "TIC101", Kp: 3, Ti: 12, Td: 2, OutLow: 20, OutHigh: 80, Reverse: true})
	if p.Kp != 3 || p.Ti != 12 || p.Td != 2 || p.N != DefaultN || p.OutLow != 20 || p.OutHigh != 80 || !p.Reverse {
		t.Fatalf("NewPID = %+v", p)
	}
	if got := p.Output(); got != 20 {
		t.Errorf("initial output = %g, want 0 clamped to 20", got)
	}
}

func TestPOnly(t *testing.T) {
	tests := []struct {
		name    string
		kp      float64
		lo, hi  float64
		reverse bool
		sp, pv  float64
		want    float64
	}{
		{"positive error", 2, -100, 100, false, 50, 40, 20},
		{"negative error", 2, -100, 100, false, 50, 60, -20},
		{"zero error", 2, -100, 100, false, 50, 50, 0},
		{"fractional gain", 0.5, -100, 100, false, 50, 47, 1.5},
		{"reverse", 2, -100, 100, true, 50, 40, -20},
		{"reverse above sp", 2, -100, 100, true, 50, 60, 20},
		{"clamped high", 10, 0, 100, false, 50, 30, 100},
		{"clamped low", 10, 0, 100, false, 50, 70, 0},
		{"clamped low reverse", 10, 0, 100, true, 50, 30, 0},
		{"offset range", 1, 20, 80, false, 50, 45, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPID(config.Loop{Kp: tt.kp, OutLow: tt.lo, OutHigh: tt.hi, Reverse: tt.reverse})
			// The same on every step: no integral, no derivative.
			run(t, p, []step{{tt.sp, tt.pv, sec, tt.want}, {tt.sp, tt.pv, sec, tt.want}, {tt.sp, tt.pv, 3 * sec, tt.want}})
		})
	}
}

func TestPI(t *testing.T) {
	tests := []struct {
		name    string
		kp, ti  float64
		reverse bool
		steps   []step
	}{
		// Kp·dt/Ti = 0.5: each step adds half the error to the integral.
		{"direct", 2, 4, false, []step{
			{50, 40, sec, 20 + 5},        // P 20, I 5
			{50, 42, sec, 16 + 9},        // P 16, I 5+4
			{50, 45, sec, 10 + 11.5},     // P 10, I 9+2.5
			{50, 50, sec, 0 + 11.5},      // P 0, I holds
			{50, 52, sec, -4 + 10.5},     // P -4, I 11.5-1
			{60, 52, sec, 16 + 14.5},     // SP step: P 16, I 10.5+4
			{60, 52, 2 * sec, 16 + 22.5}, // dt doubles the step: I 14.5+8
		}},
		{"reverse", 2, 4, true, []step{
			{50, 60, sec, 20 + 5},
			{50, 58, sec, 16 + 9},
			{50, 48, sec, -4 + 8},
		}},
		// Kp·dt/Ti = 0.25 with dt 500 ms.
		{"half-second steps", 1, 2, false, []step{
			{10, 6, 500 * time.Millisecond, 4 + 1},
			{10, 6, 500 * time.Millisecond, 4 + 2},
			{10, 8, 500 * time.Millisecond, 2 + 2.5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPID(config.Loop{Kp: tt.kp, Ti: tt.ti, OutLow: -100, OutHigh: 100, Reverse: tt.reverse})
			run(t, p, tt.steps)
		})
	}
}

func TestDerivativeOnMeasurement(t *testing.T) {
	// Kp 2, Td 1, N 1, dt 1 s: Tf = 1, so D = D/2 − Kp·Td·ΔPV/2 = D/2 − ΔPV.
	tests := []struct {
		name    string
		reverse bool
		steps   []step
	}{
		{"direct", false, []step{
			{50, 50, sec, 0},      // first step: no previous PV, no derivative
			{50, 52, sec, -4 - 2}, // P -4, D -2
			{50, 52, sec, -4 - 1}, // D decays through the filter
			{50, 52, sec, -4 - 0.5},
			{50, 51, sec, -2 + 0.75}, // PV falls: D = -0.25 + 1
		}},
		{"reverse", true, []step{
			{50, 50, sec, 0},
			{50, 52, sec, 4 + 2},
			{50, 52, sec, 4 + 1},
			{50, 52, sec, 4 + 0.5},
			{50, 51, sec, 2 - 0.75},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPID(config.Loop{Kp: 2, Td: 1, OutLow: -100, OutHigh: 100, Reverse: tt.reverse})
			p.N = 1
			run(t, p, tt.steps)
		})
	}

	t.Run("default filter", func(t *testing.T) {
		// N 10: Tf = 0.1 s; a PV step of 1.1 over 1 s gives D = -Kp·Td·1.1/1.1.
		p := NewPID(config.Loop{Kp: 1, Td: 1, OutLow: -100, OutHigh: 100})
		run(t, p, []step{{0, 0, sec, 0}, {0, 1.1, sec, -1.1 - 1}})
	})

	t.Run("no kick on setpoint step", func(t *testing.T) {
		pd := NewPID(config.Loop{Kp: 2, Td: 5, OutLow: -1000, OutHigh: 1000})
		p := NewPID(config.Loop{Kp: 2, OutLow: -1000, OutHigh: 1000})
		for i, sp := range []float64{50, 50, 60, 60, 80, 20, 20} {
			got, want := pd.Update(sp, 50, sec), p.Update(sp, 50, sec)
			if got != want || got != 2*(sp-50) {
				t.Fatalf("step %d, SP %g: PD output %g, P-only output %g, want both %g", i, sp, got, want, 2*(sp-50))
			}
		}
	})
}

func TestAntiWindup(t *testing.T) {
	t.Run("high", func(t *testing.T) {
		p := NewPID(config.Loop{Kp: 1, Ti: 1, OutLow: 0, OutHigh: 20})
		// Error 10 for 1000 s: the output saturates at 20; the integral stops
		// at 10, where P + I just reach the limit.
		for range 1000 {
			if got := p.Update(60, 50, sec); got != 20 {
				t.Fatalf("saturated output = %g, want 20", got)
			}
		}
		// The error reverses: P -1, I 10-1: the output leaves the limit at once.
		run(t, p, []step{{60, 61, sec, 8}, {60, 61, sec, 7}, {60, 60, sec, 8}})
	})
	t.Run("low", func(t *testing.T) {
		p := NewPID(config.Loop{Kp: 1, Ti: 1, OutLow: 0, OutHigh: 100})
		for range 1000 {
			if got := p.Update(0, 50, sec); got != 0 {
				t.Fatalf("saturated output = %g, want 0", got)
			}
		}
		// The integral never went below the low limit: with error +2 the
		// output is P 2 + I 0+2.
		run(t, p, []step{{0, -2, sec, 4}, {0, -2, sec, 6}})
	})
	t.Run("reverse", func(t *testing.T) {
		p := NewPID(config.Loop{Kp: 1, Ti: 1, OutLow: 0, OutHigh: 20, Reverse: true})
		for range 1000 {
			p.Update(50, 60, sec)
		}
		run(t, p, []step{{50, 49, sec, 8}})
	})
	t.Run("integral stays in range", func(t *testing.T) {
		// A rising PV holds the output below the limit through the
		// derivative (D ≈ −Kp·Td·dPV/dt = −100); the integral still may not
		// pass the output range, or it would hold the output saturated later.
		p := NewPID(config.Loop{Kp: 1, Ti: 1, Td: 100, OutLow: 0, OutHigh: 100})
		for pv := 0.0; pv < 90; pv++ {
			p.Update(100, pv, sec)
			if p.integ > 100 {
				t.Fatalf("PV %g: integral wound up to %g, above the output range", pv, p.integ)
			}
		}
		if p.integ != 100 {
			t.Errorf("integral %g, want it stopped at the high limit 100", p.integ)
		}
	})
}

func TestTrackIsBumpless(t *testing.T) {
	tests := []struct {
		name   string
		loop   config.Loop
		before []step // run before Track
		track  float64
		sp, pv float64
		want   float64 // first output after Track
	}{
		{"PI, zero error", config.Loop{Kp: 2, Ti: 4, OutHigh: 100}, []step{{50, 40, sec, 25}}, 37, 50, 50, 37},
		// Only the integral moves: Kp·dt/Ti·e = 0.5·4.
		{"PI, error", config.Loop{Kp: 2, Ti: 4, OutHigh: 100}, []step{{50, 40, sec, 25}}, 37, 50, 46, 39},
		{"PI, reverse", config.Loop{Kp: 2, Ti: 4, OutHigh: 100, Reverse: true}, []step{{50, 60, sec, 25}}, 37, 50, 54, 39},
		{"P only", config.Loop{Kp: 2, OutHigh: 100}, []step{{50, 40, sec, 20}}, 37, 50, 30, 37},
		// The PV moved while in manual: no derivative kick.
		{"PID", config.Loop{Kp: 2, Ti: 4, Td: 3, OutHigh: 100}, []step{{50, 40, sec, 25}}, 37, 50, 10, 37 + 20},
		{"large error", config.Loop{Kp: 10, Ti: 100, OutHigh: 100}, nil, 50, 80, 20, 50 + 6},
		{"clamped track", config.Loop{Kp: 2, Ti: 4, OutHigh: 100}, nil, 150, 50, 50, 100},
		{"before any update", config.Loop{Kp: 2, Ti: 4, OutHigh: 100}, nil, 37, 50, 50, 37},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPID(tt.loop)
			run(t, p, tt.before)
			p.Track(tt.track)
			if got, want := p.Output(), clamp(tt.track, tt.loop.OutLow, tt.loop.OutHigh); got != want {
				t.Fatalf("Output after Track(%g) = %g, want %g", tt.track, got, want)
			}
			run(t, p, []step{{tt.sp, tt.pv, sec, tt.want}})
		})
	}

	t.Run("held over many cycles", func(t *testing.T) {
		p := NewPID(config.Loop{Kp: 2, Ti: 4, Td: 1, OutHigh: 100})
		run(t, p, []step{{50, 40, sec, 25}})
		for pv := 40.0; pv < 60; pv++ { // manual: the loop tracks its output
			p.Track(12.5)
		}
		run(t, p, []step{{50, 60, sec, 12.5 - 5}, {50, 60, sec, 12.5 - 10}})
	})

	t.Run("NaN ignored", func(t *testing.T) {
		p := NewPID(config.Loop{Kp: 2, OutHigh: 100})
		run(t, p, []step{{50, 40, sec, 20}})
		p.Track(math.NaN())
		if got := p.Output(); got != 20 {
			t.Fatalf("Output after Track(NaN) = %g, want 20", got)
		}
	})
}

func TestInvalidInputsLeaveOutput(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	bad := []struct {
		name   string
		sp, pv float64
		dt     time.Duration
	}{
		{"dt 0", 50, 10, 0},
		{"dt negative", 50, 10, -sec},
		{"NaN PV", 50, nan, sec},
		{"NaN SP", nan, 10, sec},
		{"Inf PV", 50, inf, sec},
		{"-Inf SP", -inf, 10, sec},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			loop := config.Loop{Kp: 2, Ti: 4, Td: 1, OutLow: -100, OutHigh: 100}
			p, ref := NewPID(loop), NewPID(loop)
			first := []step{{50, 40, sec, 0}, {50, 42, sec, 0}}
			for _, s := range first {
				p.Update(s.sp, s.pv, s.dt)
				ref.Update(s.sp, s.pv, s.dt)
			}
			before := p.Output()
			if got := p.Update(b.sp, b.pv, b.dt); got != before {
				t.Fatalf("Update(%g, %g, %v) = %g, want the output unchanged at %g", b.sp, b.pv, b.dt, got, before)
			}
			// The state is untouched too: the next good step matches a
			// controller that never saw the bad one.
			if got, want := p.Update(50, 43, sec), ref.Update(50, 43, sec); got != want {
				t.Fatalf("after bad input: %g, want %g", got, want)
			}
		})
	}
}

// TestClosedLoop runs the controller against a first-order heater,
// dT/dt = (20 + OUT − T)/8, from ambient to a setpoint of 60 °C.
func TestClosedLoop(t *testing.T) {
	p := NewPID(config.Loop{Kp: 3, Ti: 12, OutLow: 0, OutHigh: 100})
	const dt = 200 * time.Millisecond
	temp, peak := 20.0, 20.0
	settled := time.Duration(-1) // since when within 1 °C of SP
	var elapsed time.Duration
	for elapsed < 300*sec {
		out := p.Update(60, temp, dt)
		temp += (20 + out - temp) / 8 * dt.Seconds()
		elapsed += dt
		peak = max(peak, temp)
		switch {
		case math.Abs(temp-60) > 1:
			settled = -1
		case settled < 0:
			settled = elapsed
		}
	}
	if settled < 0 || settled > 120*sec {
		t.Errorf("settled within 1 °C at %v, want by 120s", settled)
	}
	if peak > 66 {
		t.Errorf("overshoot to %.2f °C, want at most 66", peak)
	}
	if math.Abs(temp-60) > 0.01 || math.Abs(p.Output()-40) > 0.01 {
		t.Errorf("final T %.3f, OUT %.3f, want 60 and 40", temp, p.Output())
	}
	t.Logf("settled within 1 °C after %v, peak %.3f °C", settled, peak)
}

// plant is the first-order process dy/dt = (K·u − y)/τ, stepped exactly
// for an input held over each step.
type plant struct{ k, tau, y float64 }

func (p *plant) step(u float64, dt time.Duration) float64 {
	p.y += (p.k*u - p.y) * (1 - math.Exp(-dt.Seconds()/p.tau))
	return p.y
}

// response runs a setpoint step from 0 to sp for d with the controller
// stepping every dt, and returns the peak, the 2 % settling time (-1 if
// never) and the PV at every step.
func response(p *PID, pl *plant, sp float64, d, dt time.Duration) (peak float64, settled time.Duration, ys []float64) {
	settled = -1
	for t := dt; t <= d; t += dt {
		y := pl.step(p.Update(sp, pl.y, dt), dt)
		ys = append(ys, y)
		peak = max(peak, y)
		switch {
		case math.Abs(y-sp) > 0.02*math.Abs(sp):
			settled = -1
		case settled < 0:
			settled = t
		}
	}
	return peak, settled, ys
}

// secondOrder is the unit step response of ωn²/(s² + 2ζωn·s + ωn²), ζ < 1.
func secondOrder(zeta, wn, t float64) float64 {
	wd := wn * math.Sqrt(1-zeta*zeta)
	return 1 - math.Exp(-zeta*wn*t)*(math.Cos(wd*t)+zeta/math.Sqrt(1-zeta*zeta)*math.Sin(wd*t))
}

// settling is the 2 % settling time of a sampled response to a step to sp.
func settling(ys []float64, sp float64, dt time.Duration) time.Duration {
	for i := len(ys) - 1; i >= 0; i-- {
		if math.Abs(ys[i]-sp) > 0.02*math.Abs(sp) {
			return time.Duration(i+2) * dt
		}
	}
	return dt
}

// TestAnalyticFirstOrderPlant checks the closed loop against its analytic
// response on the plant dy/dt = (K·u − y)/τ, point by point, and its
// overshoot and settling time against the analytic ones.
//
// Lambda tuning (Kp = τ/(K·λ), Ti = τ) cancels the plant's pole: the loop
// is first order with time constant λ, y = SP·(1 − e^(−t/λ)), with no
// overshoot and 2 % settling at λ·ln 50.
//
// Proportional on measurement leaves the loop without a zero: with the
// derivative on measurement too, (τ + K·Kp·Td)·s² + (1 + K·Kp)·s +
// K·Kp/Ti, a second-order system whose overshoot is e^(−ζπ/√(1−ζ²)). With
// K 1, τ 1, Kp 1, Ti 0.25: ζ = 0.5 (16.3 %); adding Td 0.2 adds inertia
// (ζ = 0.456, 20.0 %); the derivative filter (Td/10) moves it a little.
func TestAnalyticFirstOrderPlant(t *testing.T) {
	const dt = time.Millisecond
	cases := []struct {
		name          string
		loop          config.Loop
		k, tau        float64
		want          func(t float64) float64 // analytic, for SP 1
		tol           float64                 // largest deviation from it, for SP 10
		overshoot     float64                 // analytic, as a fraction
		settle        time.Duration           // analytic 2 % settling time
		settleTol     time.Duration
		overshootTol  float64
		overshootNote string
	}{
		{
			name: "lambda tuning, first order", k: 2, tau: 10,
			loop: config.Loop{Kp: 10 / (2 * 5.0), Ti: 10},
			want: func(t float64) float64 { return 1 - math.Exp(-t/5) },
			tol:  0.01, settle: time.Duration(5 * math.Log(50) * float64(time.Second)), settleTol: 20 * time.Millisecond,
			overshootTol: 1e-5,
		},
		{
			name: "PI on measurement, ζ 0.5", k: 1, tau: 1,
			loop: config.Loop{Kp: 1, Ti: 0.25, POn: config.POnMeasurement},
			want: func(t float64) float64 { return secondOrder(0.5, 2, t) },
			tol:  0.02, overshoot: math.Exp(-0.5 * math.Pi / math.Sqrt(0.75)), settleTol: 20 * time.Millisecond,
			overshootTol: 0.0005,
		},
		{
			name: "PID on measurement, ζ 0.456", k: 1, tau: 1,
			loop: config.Loop{Kp: 1, Ti: 0.25, Td: 0.2, POn: config.POnMeasurement},
			want: func(t float64) float64 {
				m := 1 + 0.2 // τ + K·Kp·Td
				wn := math.Sqrt(4 / m)
				return secondOrder(2/m/(2*wn), wn, t)
			},
			tol: 0.06, overshoot: 0.2, settleTol: 150 * time.Millisecond, overshootTol: 0.005,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.loop.OutLow, c.loop.OutHigh = -1000, 1000
			p := NewPID(c.loop)
			pl := &plant{k: c.k, tau: c.tau}
			peak, _, ys := response(p, pl, 10, 20*sec, dt)
			want := make([]float64, len(ys))
			worst := 0.0
			for i, y := range ys {
				want[i] = 10 * c.want(float64(i+1)*dt.Seconds())
				worst = max(worst, math.Abs(y-want[i]))
			}
			if worst > c.tol {
				t.Errorf("deviates from the analytic response by up to %.4f, want at most %g", worst, c.tol)
			}
			wantPeak := 0.0
			for _, w := range want {
				wantPeak = max(wantPeak, w)
			}
			if c.overshoot > 0 && math.Abs(wantPeak/10-1-c.overshoot) > 0.001 {
				t.Fatalf("the analytic response overshoots %.4f, the formula %.4f: the test is wrong", wantPeak/10-1, c.overshoot)
			}
			if got := max(peak/10-1, 0); math.Abs(got-c.overshoot) > c.overshootTol {
				t.Errorf("overshoot %.2f %%, analytic %.2f %%", 100*got, 100*c.overshoot)
			}
			settle, wantSettle := settling(ys, 10, dt), settling(want, 10, dt)
			if c.settle > 0 && (wantSettle-c.settle).Abs() > 2*dt {
				t.Fatalf("analytic settling %v, formula %v: the test is wrong", wantSettle, c.settle)
			}
			if (settle - wantSettle).Abs() > c.settleTol {
				t.Errorf("settled within 2 %% at %v, analytic %v", settle, wantSettle)
			}
			t.Logf("overshoot %.2f %% (analytic %.2f %%), settling %v (analytic %v), largest deviation %.4f",
				100*max(peak/10-1, 0), 100*c.overshoot, settle, wantSettle, worst)
		})
	}
	t.Run("on error the same gains overshoot more", func(t *testing.T) {
		pm := NewPID(config.Loop{Kp: 1, Ti: 0.25, OutLow: -1000, OutHigh: 1000, POn: config.POnMeasurement})
		pe := NewPID(config.Loop{Kp: 1, Ti: 0.25, OutLow: -1000, OutHigh: 1000})
		peakM, _, _ := response(pm, &plant{k: 1, tau: 1}, 10, 10*sec, dt)
		peakE, _, _ := response(pe, &plant{k: 1, tau: 1}, 10, 10*sec, dt)
		if peakE < peakM+0.2 {
			t.Errorf("peak on error %.3f, on measurement %.3f: want the zero to add overshoot", peakE, peakM)
		}
	})
}

// TestNoWindupAfterSaturation holds a settled loop against an unreachable
// setpoint for an hour, then brings the setpoint back. The integral does
// not move while the output is saturated (a wound-up one would have grown
// by Kp·dt/Ti·e per step: to about 144,000), so the output leaves the
// limit at the first step after the error reverses, and the PV returns to
// the setpoint with little undershoot.
func TestNoWindupAfterSaturation(t *testing.T) {
	for _, rate := range []float64{0, 5} {
		p := NewPID(config.Loop{Kp: 2, Ti: 10, OutLow: 0, OutHigh: 100, OutRate: rate})
		pl := &plant{k: 1, tau: 10}
		const dt = 100 * time.Millisecond
		for range 3000 {
			pl.step(p.Update(50, pl.y, dt), dt)
		}
		settledInteg := p.integ
		for range 36000 {
			pl.step(p.Update(300, pl.y, dt), dt)
		}
		if p.Output() != 100 || math.Abs(pl.y-100) > 0.01 || math.Abs(p.integ-settledInteg) > 1e-6 {
			t.Fatalf("rate %g: after saturation out %g, PV %g, integral %g; want 100, 100 and the integral still %g",
				rate, p.Output(), pl.y, p.integ, settledInteg)
		}
		if out := p.Update(50, pl.y, dt); out >= 100 {
			t.Errorf("rate %g: output %g right after the error reversed, want below the limit", rate, out)
		}
		low, back := pl.y, time.Duration(0)
		for i := range 3000 {
			y := pl.step(p.Update(50, pl.y, dt), dt)
			low = min(low, y)
			if back == 0 && y < 51 {
				back = time.Duration(i+1) * dt
			}
		}
		if back == 0 || back > 25*sec || low < 45 || math.Abs(pl.y-50) > 0.01 {
			t.Errorf("rate %g: PV back within 1 of 50 after %v, lowest %.2f, end %.3f; want by 25 s, not below 45, 50",
				rate, back, low, pl.y)
		}
	}
}

func TestOutputRateLimit(t *testing.T) {
	const rate = 10.0 // units/s
	p := NewPID(config.Loop{Kp: 5, Ti: 2, OutLow: 0, OutHigh: 100, OutRate: rate})
	p.Track(20)
	pl := &plant{k: 1, tau: 5, y: 20}
	const dt = 100 * time.Millisecond
	prev := p.Output()
	limited := 0
	for range 600 {
		out := p.Update(80, pl.y, dt)
		if d := math.Abs(out - prev); d > rate*dt.Seconds()+1e-9 {
			t.Fatalf("output moved %g in %v, more than %g/s allows", d, dt, rate)
		} else if d > rate*dt.Seconds()-1e-9 {
			limited++
		}
		prev = out
		pl.step(out, dt)
	}
	if limited < 5 {
		t.Errorf("the rate limit bit on %d steps, want it to (a step of the setpoint by 60)", limited)
	}
	if math.Abs(pl.y-80) > 0.1 {
		t.Errorf("PV %g at the end, want 80", pl.y)
	}
	// While the output slews, the integral is held within what the output
	// can reach: it does not run ahead.
	q := NewPID(config.Loop{Kp: 1, Ti: 1, OutLow: 0, OutHigh: 100, OutRate: 1})
	for range 20 {
		q.Update(100, 0, sec) // error 100: P alone asks for 100, the output creeps up 1/s
	}
	if q.Output() != 20 || q.integ > 20 {
		t.Errorf("after 20 s slewing: output %g, integral %g; want 20 and the integral at most 20", q.Output(), q.integ)
	}
}

func TestSetTuningIsBumpless(t *testing.T) {
	for _, pOn := range []string{config.POnError, config.POnMeasurement} {
		p := NewPID(config.Loop{Kp: 1, Ti: 10, Td: 1, OutLow: -100, OutHigh: 100, POn: pOn})
		pl := &plant{k: 1, tau: 5}
		const dt = 100 * time.Millisecond
		sp := 0.0
		for range 100 { // a ramping setpoint keeps an error
			sp += 0.05
			pl.step(p.Update(sp, pl.y, dt), dt)
		}
		before := p.Output()
		p.SetTuning(4, 2, 0)
		if p.Output() != before {
			t.Fatalf("%s: SetTuning moved the output from %g to %g", pOn, before, p.Output())
		}
		after := p.Update(sp+0.05, pl.y, dt)
		// Only the new integral step moves it: Kp·dt/Ti·e.
		e := sp + 0.05 - pl.y
		if want := before + 4*dt.Seconds()/2*e; math.Abs(after-want) > 1e-9 {
			t.Errorf("%s: first output after retuning %g, want %g (no proportional step of 3·e = %g)", pOn, after, want, 3*e)
		}
	}
}

func TestPOnMeasurementNoSetpointKick(t *testing.T) {
	p := NewPID(config.Loop{Kp: 2, Ti: 10, OutLow: -100, OutHigh: 100, POn: config.POnMeasurement})
	p.Track(10)
	run(t, p, []step{{50, 50, sec, 10}})
	// A setpoint step of 20 moves only the integral: 2·1/10·20 = 4.
	run(t, p, []step{{70, 50, sec, 14}, {70, 50, sec, 18}})
	// A PV move is proportional: −2·5, plus the integral 2/10·15 = 3.
	run(t, p, []step{{70, 55, sec, 18 - 10 + 3}})
	r := NewPID(config.Loop{Kp: 2, Ti: 10, OutLow: -100, OutHigh: 100, POn: config.POnMeasurement, Reverse: true})
	r.Track(10)
	run(t, r, []step{{50, 50, sec, 10}, {50, 55, sec, 10 + 10 + 1}})
}

func TestSetpointRampAndLimits(t *testing.T) {
	lo, hi := 0.0, 80.0
	s := NewSetpoint(config.Loop{SPLow: &lo, SPHigh: &hi, SPRamp: 2})
	if !math.IsNaN(s.Working()) {
		t.Fatalf("working setpoint before a step = %g, want NaN", s.Working())
	}
	if got := s.Step(20, sec, true); got != 20 {
		t.Fatalf("first step = %g, want the target at once", got)
	}
	for i, want := range []float64{22, 24, 25} {
		if got := s.Step(25, sec, true); got != want {
			t.Fatalf("ramp step %d = %g, want %g (2/s)", i, got, want)
		}
	}
	if got := s.Step(24, 250*time.Millisecond, true); got != 24.5 {
		t.Fatalf("down 0.5 in 250 ms = %g, want 24.5", got)
	}
	if got := s.Step(500, sec, false); got != 80 {
		t.Fatalf("unramped step to 500 = %g, want the high limit 80", got)
	}
	if got := s.Step(math.NaN(), sec, true); got != 80 {
		t.Fatalf("NaN target moved the working setpoint to %g", got)
	}
	if got := s.Step(-5, 10*sec, true); got != 60 {
		t.Fatalf("ramp toward -5 (clamped to 0) over 10 s = %g, want 60", got)
	}
	if s.Within(81) || s.Within(-1) || !s.Within(80) || s.Within(math.NaN()) {
		t.Error("Within does not follow the limits")
	}
	u := NewSetpoint(config.Loop{})
	if got := u.Step(1e9, sec, true); got != 1e9 || u.Low != math.Inf(-1) {
		t.Errorf("unlimited setpoint = %g (low %g)", got, u.Low)
	}
}

func FuzzPID(f *testing.F) {
	f.Add(3.0, 12.0, 0.0, 10.0, 0.0, 100.0, false, 60.0, 20.0, 25.0, 30.0, int64(200), 50.0)
	f.Add(1.0, 1.0, 10.0, 1.0, -5.0, 5.0, true, 0.0, 1e300, -1e300, 0.0, int64(1), -1e308)
	f.Add(-2.0, 0.001, 1e6, 0.0, 0.0, 0.0, false, 1.0, 2.0, 3.0, 4.0, int64(-5), math.NaN())
	f.Add(1e308, 1e-300, 1e-300, math.Inf(1), -1e308, 1e308, false, 1e308, -1e308, 0.0, 1e308, int64(1<<62), 0.0)
	f.Fuzz(func(t *testing.T, kp, ti, td, n, lo, hi float64, reverse bool, sp, pv1, pv2, pv3 float64, dtNanos int64, track float64) {
		if !finite(lo) || !finite(hi) || lo > hi {
			t.Skip("limits must be finite and ordered")
		}
		p := NewPID(config.Loop{Kp: kp, Ti: ti, Td: td, OutLow: lo, OutHigh: hi, Reverse: reverse})
		p.N = n
		// The track value's sign picks P on measurement; its size a rate limit.
		p.POnMeasurement = math.Signbit(track)
		p.OutRate = math.Abs(track) / 10
		dt := time.Duration(dtNanos)
		check := func(what string, out float64) {
			t.Helper()
			if !finite(out) || out < lo || out > hi || out != p.Output() {
				t.Fatalf("%s: output %g (Output %g), want finite within [%g, %g]", what, out, p.Output(), lo, hi)
			}
		}
		check("initial", p.Output())
		for i, pv := range []float64{pv1, pv2, pv3, pv1} {
			check("update", p.Update(sp, pv, dt))
			if i == 1 {
				p.Track(track)
				check("track", p.Output())
			}
			check("update", p.Update(sp+pv2, pv, time.Second))
			if i == 2 {
				p.SetTuning(kp*2, ti/2, td+1)
				check("retune", p.Output())
			}
		}
	})
}
