package sim

import (
	"math"
	"testing"
	"time"
)

const eps = 1e-9

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPlantStartState(t *testing.T) {
	st := NewPlant().Snapshot()
	want := State{
		Level: 50, ValveOpen: true, PumpRunning: false,
		PV: 20, SP: 60, OUT: 0,
		ConveyorRunning: true, ConveyorSpeed: 30,
	}
	if st != want {
		t.Fatalf("start state = %+v, want %+v", st, want)
	}
}

func TestTankRates(t *testing.T) {
	tests := []struct {
		name  string
		level float64
		valve bool
		pump  bool
		dt    time.Duration
		want  float64
	}{
		{"fill 2.5 %/s", 50, true, false, 4 * time.Second, 60},
		{"fill, odd dt", 50, true, false, 1234 * time.Millisecond, 50 + 2.5*1.234},
		{"drain 2.0 %/s", 50, false, true, 5 * time.Second, 40},
		{"fill and drain net 0.5 %/s", 50, true, true, 10 * time.Second, 55},
		{"idle", 50, false, false, 10 * time.Second, 50},
		{"clamp at 100", 99, true, false, 2 * time.Second, 100},
		{"clamp at 0", 1, false, true, 2 * time.Second, 0},
		{"empty tank stays empty", 0, false, true, 2 * time.Second, 0},
		{"zero dt", 50, true, false, 0, 50},
		{"negative dt", 50, true, false, -time.Second, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlant()
			p.SetLevel(tt.level)
			p.SetValveOpen(tt.valve)
			p.SetPumpRunning(tt.pump)
			p.Step(tt.dt)
			if got := p.Level(); !near(got, tt.want, eps) {
				t.Fatalf("level = %.12g, want %.12g", got, tt.want)
			}
		})
	}
}

func TestPLCProgramEdges(t *testing.T) {
	tests := []struct {
		name             string
		level            float64
		valve, pump      bool
		fault            bool
		dt               time.Duration
		wantValve        bool
		wantPump         bool
		wantLevelAtLeast float64
	}{
		{"rising through 80 closes XV101, starts P101", 79.9, true, false, false, 100 * time.Millisecond, false, true, 80},
		{"falling through 20 opens XV101, stops P101", 20.1, false, true, false, 100 * time.Millisecond, true, false, 0},
		{"above 80 without crossing: no action", 85, true, false, false, time.Second, true, false, 85},
		{"below 20 without crossing: no action", 15, false, true, false, time.Second, false, true, 0},
		{"rising below 80: no action", 70, true, false, false, time.Second, true, false, 72.5},
		{"faulted pump is not started at 80", 79.9, true, false, true, 100 * time.Millisecond, false, false, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlant()
			p.SetLevel(tt.level)
			p.SetValveOpen(tt.valve)
			p.SetPumpRunning(tt.pump)
			p.SetPumpFault(tt.fault)
			p.Step(tt.dt)
			st := p.Snapshot()
			if st.ValveOpen != tt.wantValve || st.PumpRunning != tt.wantPump {
				t.Fatalf("valve=%v pump=%v, want valve=%v pump=%v (level %.3f)", st.ValveOpen, st.PumpRunning, tt.wantValve, tt.wantPump, st.Level)
			}
			if st.Level < tt.wantLevelAtLeast-eps {
				t.Fatalf("level = %.3f, want >= %.3f", st.Level, tt.wantLevelAtLeast)
			}
		})
	}
}

func TestPLCManualCommandSticks(t *testing.T) {
	p := NewPlant()
	p.SetLevel(79.9)
	p.Step(100 * time.Millisecond) // crosses 80: valve closed, pump on
	if p.ValveOpen() || !p.PumpRunning() {
		t.Fatal("PLC did not act at 80 %")
	}
	// The operator reopens the valve and stops the pump: the level keeps
	// rising above 80 and the PLC leaves the commands alone.
	p.SetValveOpen(true)
	p.SetPumpRunning(false)
	p.Step(4 * time.Second)
	if !p.ValveOpen() || p.PumpRunning() {
		t.Fatal("manual command was overridden without a crossing")
	}
	if got := p.Level(); !near(got, 80.15+10, 1e-6) {
		t.Fatalf("level = %v, want 90.15", got)
	}
}

func TestTankCycleTiming(t *testing.T) {
	p := NewPlant()
	step := 100 * time.Millisecond
	var elapsed time.Duration
	for p.ValveOpen() && elapsed < time.Minute {
		p.Step(step)
		elapsed += step
	}
	// From 50 % at 2.5 %/s, 80 % is reached after exactly 12 s.
	if elapsed != 12*time.Second || !p.PumpRunning() || !near(p.Level(), 80, eps) {
		t.Fatalf("valve closed after %v at level %v (pump %v), want 12s at 80", elapsed, p.Level(), p.PumpRunning())
	}
	elapsed = 0
	for !p.ValveOpen() && elapsed < 2*time.Minute {
		p.Step(step)
		elapsed += step
	}
	// From 80 % at 2.0 %/s, 20 % is reached after 30 s (± one step for rounding).
	if elapsed < 30*time.Second || elapsed > 30*time.Second+step || p.PumpRunning() {
		t.Fatalf("valve reopened after %v (pump %v), want 30s", elapsed, p.PumpRunning())
	}
}

func TestPumpFault(t *testing.T) {
	p := NewPlant()
	if !p.SetPumpRunning(true) || !p.PumpRunning() {
		t.Fatal("pump did not start")
	}
	p.SetPumpFault(true)
	if !p.PumpFault() || p.PumpRunning() {
		t.Fatal("fault did not stop the pump")
	}
	if p.SetPumpRunning(true) || p.PumpRunning() {
		t.Fatal("start while faulted was not ignored")
	}
	p.SetPumpFault(false)
	if p.PumpRunning() {
		t.Fatal("clearing the fault restarted the pump")
	}
	if !p.SetPumpRunning(true) || !p.PumpRunning() {
		t.Fatal("pump did not start after the fault cleared")
	}
}

func TestHeaterStepResponse(t *testing.T) {
	// OUT = 100 % drives T from 20 towards 120 °C with τ = 8 s: after one
	// time constant T = 20 + 100·(1 − e⁻¹) ≈ 83.2 °C, i.e. 63.2 % of the step.
	wantTau := 20 + 100*(1-math.Exp(-1))
	for _, dt := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second, 8 * time.Second} {
		t.Run(dt.String(), func(t *testing.T) {
			p := NewPlant()
			p.SetHeaterOut(100)
			for elapsed := time.Duration(0); elapsed < HeaterTau; elapsed += dt {
				p.Step(dt)
			}
			got := p.HeaterPV()
			if !near(got, wantTau, 1e-6) {
				t.Fatalf("T(τ) = %.9f, want %.9f", got, wantTau)
			}
			if frac := (got - 20) / 100; !near(frac, 0.632, 0.001) {
				t.Fatalf("step response after τ = %.4f, want 0.632", frac)
			}
		})
	}
	t.Run("steady state", func(t *testing.T) {
		p := NewPlant()
		p.SetHeaterOut(40)
		p.Step(10 * HeaterTau)
		if got := p.HeaterPV(); !near(got, 60, 0.01) {
			t.Fatalf("T after 10τ = %v, want 60", got)
		}
		p.SetHeaterOut(0)
		p.Step(10 * HeaterTau)
		if got := p.HeaterPV(); !near(got, 20, 0.01) {
			t.Fatalf("T after cooling = %v, want 20", got)
		}
	})
}

func TestHeaterSetters(t *testing.T) {
	tests := []struct {
		name string
		out  float64
		want float64
	}{
		{"in range", 42.5, 42.5},
		{"clamp high", 150, 100},
		{"clamp low", -5, 0},
		{"NaN ignored", math.NaN(), 0},
		{"+Inf clamps", math.Inf(1), 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlant()
			p.SetHeaterOut(tt.out)
			if got := p.HeaterOut(); got != tt.want {
				t.Fatalf("OUT = %v, want %v", got, tt.want)
			}
		})
	}
	p := NewPlant()
	p.SetHeaterSP(75)
	p.SetHeaterSP(math.NaN())
	p.SetHeaterSP(math.Inf(1))
	if got := p.HeaterSP(); got != 75 {
		t.Fatalf("SP = %v, want 75", got)
	}
}

func TestConveyorCounter(t *testing.T) {
	tests := []struct {
		name    string
		speed   float64
		running bool
		steps   int
		dt      time.Duration
		want    uint32
	}{
		{"30 m/min for 10 s = 50 parts", 30, true, 1, 10 * time.Second, 50},
		{"10 m/min for 6 s = 10 parts", 10, true, 1, 6 * time.Second, 10},
		{"10 m/min in 60 steps of 100 ms", 10, true, 60, 100 * time.Millisecond, 10},
		{"fraction accumulates: 30 m/min, one step", 30, true, 1, 100 * time.Millisecond, 0},
		{"fraction accumulates: 30 m/min, two steps", 30, true, 2, 100 * time.Millisecond, 1},
		{"100 m/min for 3 s = 50 parts", 100, true, 1, 3 * time.Second, 50},
		{"stopped", 30, false, 1, 10 * time.Second, 0},
		{"speed 0", 0, true, 1, 10 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlant()
			p.SetConveyorSpeed(tt.speed)
			p.SetConveyorRunning(tt.running)
			for range tt.steps {
				p.Step(tt.dt)
			}
			if got := p.PartCount(); got != tt.want {
				t.Fatalf("count = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestConveyorSpeedClamp(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{45, 45}, {150, 100}, {-1, 0}, {math.NaN(), 30}} {
		p := NewPlant()
		p.SetConveyorSpeed(tt.in)
		if got := p.ConveyorSpeed(); got != tt.want {
			t.Errorf("SetConveyorSpeed(%v): speed = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestConveyorJamTiming(t *testing.T) {
	p := NewPlant() // running at 30 m/min: 5 parts/s
	p.Step(JamEvery - 100*time.Millisecond)
	if p.Jammed() {
		t.Fatal("jammed before 180 s of running")
	}
	p.Step(100 * time.Millisecond)
	if !p.Jammed() {
		t.Fatal("not jammed after 180 s of running")
	}
	if got := p.PartCount(); got != 900 {
		t.Fatalf("count at jam = %d, want 900", got)
	}
	if !p.ConveyorRunning() {
		t.Fatal("motor lost its running bit when jammed")
	}
	p.Step(JamClears - 100*time.Millisecond)
	if !p.Jammed() {
		t.Fatal("jam cleared before 5 s")
	}
	if got := p.PartCount(); got != 900 {
		t.Fatalf("counted %d parts while jammed", got-900)
	}
	p.Step(100 * time.Millisecond)
	if p.Jammed() {
		t.Fatal("jam did not clear after 5 s")
	}
	// Stopped time does not count towards the next jam.
	p.SetConveyorRunning(false)
	p.Step(10 * time.Minute)
	p.SetConveyorRunning(true)
	p.Step(JamEvery - 100*time.Millisecond)
	if p.Jammed() {
		t.Fatal("second jam came early")
	}
	p.Step(100 * time.Millisecond)
	if !p.Jammed() {
		t.Fatal("no second jam after another 180 s of running")
	}
	if got := p.PartCount(); got != 1800 {
		t.Fatalf("count at second jam = %d, want 1800", got)
	}
}

func TestConveyorForcedJam(t *testing.T) {
	p := NewPlant()
	p.Step(time.Second) // 5 parts
	p.SetJam(true)
	p.Step(time.Minute)
	if !p.Jammed() {
		t.Fatal("forced jam cleared itself")
	}
	if got := p.PartCount(); got != 5 {
		t.Fatalf("count = %d, want 5 (no counting while jammed)", got)
	}
	p.SetJam(false)
	p.Step(time.Second)
	if p.Jammed() || p.PartCount() != 10 {
		t.Fatalf("after SetJam(false): jam=%v count=%d, want false, 10", p.Jammed(), p.PartCount())
	}
}

func TestStepSplitsLongSteps(t *testing.T) {
	// One long step gives the same result as many short ones.
	a, b := NewPlant(), NewPlant()
	a.SetHeaterOut(70)
	b.SetHeaterOut(70)
	a.Step(37 * time.Second)
	for range 370 {
		b.Step(100 * time.Millisecond)
	}
	sa, sb := a.Snapshot(), b.Snapshot()
	if !near(sa.Level, sb.Level, 1e-9) || !near(sa.PV, sb.PV, 1e-9) || sa.Count != sb.Count ||
		sa.ValveOpen != sb.ValveOpen || sa.PumpRunning != sb.PumpRunning {
		t.Fatalf("one step %+v != many steps %+v", sa, sb)
	}
}
