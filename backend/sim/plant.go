package sim

import (
	"math"
	"sync"
	"time"
)

// Process constants of the demo mixing line.
const (
	// FillRate is how fast tank T101 fills while inlet valve XV101 is open, in %/s.
	FillRate = 2.5
	// DrainRate is how fast tank T101 drains while pump P101 runs, in %/s.
	DrainRate = 2.0
	// LevelHigh is the level (%) whose upward crossing closes XV101 and starts P101.
	LevelHigh = 80.0
	// LevelLow is the level (%) whose downward crossing opens XV101 and stops P101.
	LevelLow = 20.0

	// Ambient is the temperature TIC101.PV settles at with the heater off, in °C.
	Ambient = 20.0
	// HeaterGain is the steady-state temperature rise per % of heater output, in °C/%.
	HeaterGain = 1.0
	// HeaterTau is the time constant of the heater's first-order lag.
	HeaterTau = 8 * time.Second

	// partsDivisor turns conveyor speed into a part rate: parts/s = speed (m/min) / 6.
	partsDivisor = 6.0

	// JamEvery is how much running (unjammed) time passes between two jams of CV201.
	JamEvery = 180 * time.Second
	// JamClears is how long a jam lasts before it clears itself.
	JamClears = 5 * time.Second

	// maxSubstep bounds the integration step: Step splits longer dt into
	// pieces of at most this length, so results barely depend on dt.
	maxSubstep = 100 * time.Millisecond
)

// Start state and limits of the plant.
const (
	InitialLevel     = 50.0  // T101 level, %
	InitialSP        = 60.0  // TIC101 setpoint, °C
	InitialSpeed     = 30.0  // CV201 speed, m/min
	MaxConveyorSpeed = 100.0 // CV201 speed limit, m/min
)

// State is a consistent snapshot of every plant signal.
type State struct {
	Level       float64 // T101 level, % (0..100)
	ValveOpen   bool    // XV101 open
	PumpRunning bool    // P101 running
	PumpFault   bool    // P101 fault
	StartButton bool    // P101 start push button pressed
	StopButton  bool    // P101 stop push button pressed

	PV  float64 // TIC101 temperature, °C
	SP  float64 // TIC101 setpoint, °C
	OUT float64 // TIC101 heater output, % (0..100)

	ConveyorRunning bool    // CV201 motor running
	ConveyorSpeed   float64 // CV201 speed setpoint, m/min (0..100)
	Jam             bool    // CV201 jammed
	Count           uint32  // parts counted on CV201
}

// Plant is the simulated mixing line: tank T101 with inlet valve XV101 and
// outlet pump P101 (run by a tiny PLC program), heater loop TIC101 and
// conveyor CV201. It is safe for concurrent use. Time only passes in Step.
type Plant struct {
	mu sync.Mutex

	level       float64
	valveOpen   bool
	pumpRunning bool
	pumpFault   bool
	startButton bool // P101's push buttons, as last written
	stopButton  bool

	temp float64
	sp   float64
	out  float64

	convRunning bool
	speed       float64
	jam         bool
	jamForced   bool
	count       uint32
	partsFrac   float64
	runTime     time.Duration // running, unjammed time since the last jam
	jamTime     time.Duration // how long the current jam has lasted
}

// NewPlant returns a plant in its start state: level 50 %, XV101 open,
// P101 stopped, T = 20 °C, SP = 60 °C, OUT = 0 %, CV201 running at 30 m/min.
func NewPlant() *Plant {
	return &Plant{
		level:       InitialLevel,
		valveOpen:   true,
		temp:        Ambient,
		sp:          InitialSP,
		convRunning: true,
		speed:       InitialSpeed,
	}
}

// Step advances the simulation by dt. Long steps are integrated in pieces
// of at most 100 ms. A non-positive dt does nothing.
func (p *Plant) Step(dt time.Duration) {
	if dt <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for dt > 0 {
		h := min(dt, maxSubstep)
		p.step(h)
		dt -= h
	}
}

func (p *Plant) step(h time.Duration) {
	s := h.Seconds()

	// Tank T101.
	prev := p.level
	rate := 0.0
	if p.valveOpen {
		rate += FillRate
	}
	if p.pumpRunning && p.level > 0 {
		rate -= DrainRate
	}
	p.level = clamp(p.level+rate*s, 0, 100)

	// PLC program: acts on crossings only, so manual commands stick.
	if prev < LevelHigh && p.level >= LevelHigh {
		p.valveOpen = false
		if !p.pumpFault {
			p.pumpRunning = true
		}
	}
	if prev > LevelLow && p.level <= LevelLow {
		p.valveOpen = true
		p.pumpRunning = false
	}

	// Heater TIC101: exact discretisation of dT/dt = (Ambient + Gain·OUT − T)/τ.
	target := Ambient + HeaterGain*p.out
	p.temp += (target - p.temp) * (1 - math.Exp(-s/HeaterTau.Seconds()))

	// Conveyor CV201.
	switch {
	case p.jam:
		if !p.jamForced {
			p.jamTime += h
			if p.jamTime >= JamClears {
				p.jam = false
				p.jamTime = 0
			}
		}
	case p.convRunning:
		p.partsFrac += p.speed / partsDivisor * s
		// The epsilon absorbs rounding of fractions such as 1/6 that
		// should add up to a whole part.
		if n := math.Floor(p.partsFrac + 1e-9); n >= 1 {
			p.count += uint32(n)
			p.partsFrac -= n
		}
		p.runTime += h
		if p.runTime >= JamEvery {
			p.runTime -= JamEvery
			p.jam = true
			p.jamTime = 0
		}
	}
}

// Snapshot returns every signal at one instant.
func (p *Plant) Snapshot() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return State{
		Level:           p.level,
		ValveOpen:       p.valveOpen,
		PumpRunning:     p.pumpRunning,
		PumpFault:       p.pumpFault,
		StartButton:     p.startButton,
		StopButton:      p.stopButton,
		PV:              p.temp,
		SP:              p.sp,
		OUT:             p.out,
		ConveyorRunning: p.convRunning,
		ConveyorSpeed:   p.speed,
		Jam:             p.jam,
		Count:           p.count,
	}
}

// Level returns the T101 level in % (0..100).
func (p *Plant) Level() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// SetLevel forces the T101 level (clamped to 0..100; NaN is ignored).
// Forcing the level does not fire the PLC program; only Step does.
func (p *Plant) SetLevel(pct float64) {
	if math.IsNaN(pct) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.level = clamp(pct, 0, 100)
}

// ValveOpen reports whether inlet valve XV101 is open.
func (p *Plant) ValveOpen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.valveOpen
}

// SetValveOpen opens or closes XV101 (an operator command).
func (p *Plant) SetValveOpen(open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.valveOpen = open
}

// PumpRunning reports whether pump P101 runs.
func (p *Plant) PumpRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pumpRunning
}

// SetPumpRunning starts or stops P101. A start while the pump is faulted
// is ignored; SetPumpRunning reports whether the pump now runs as asked.
func (p *Plant) SetPumpRunning(run bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if run && p.pumpFault {
		return false
	}
	p.pumpRunning = run
	return true
}

// PressPumpStart presses (true) or releases the P101 start push button.
// Pressing it starts the pump unless it is faulted or the stop button is
// held; the PLC program acts on the press, not on the button being held.
func (p *Plant) PressPumpStart(pressed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pressed && !p.startButton && !p.stopButton && !p.pumpFault {
		p.pumpRunning = true
	}
	p.startButton = pressed
}

// PressPumpStop presses (true) or releases the P101 stop push button.
// Pressing it stops the pump.
func (p *Plant) PressPumpStop(pressed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pressed {
		p.pumpRunning = false
	}
	p.stopButton = pressed
}

// PumpFault reports the P101 fault bit.
func (p *Plant) PumpFault() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pumpFault
}

// SetPumpFault sets or clears the P101 fault. A fault stops the pump;
// clearing it does not restart the pump.
func (p *Plant) SetPumpFault(fault bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pumpFault = fault
	if fault {
		p.pumpRunning = false
	}
}

// HeaterPV returns the TIC101 temperature in °C.
func (p *Plant) HeaterPV() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.temp
}

// HeaterSP returns the TIC101 setpoint in °C.
func (p *Plant) HeaterSP() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sp
}

// SetHeaterSP sets the TIC101 setpoint in °C. Non-finite values are ignored.
// The plant does not use the setpoint; the controller (edgehmi) does.
func (p *Plant) SetHeaterSP(sp float64) {
	if math.IsNaN(sp) || math.IsInf(sp, 0) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sp = sp
}

// HeaterOut returns the TIC101 heater output in % (0..100).
func (p *Plant) HeaterOut() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out
}

// SetHeaterOut sets the heater output in %, clamped to 0..100. NaN is ignored.
func (p *Plant) SetHeaterOut(out float64) {
	if math.IsNaN(out) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = clamp(out, 0, 100)
}

// ConveyorRunning reports whether the CV201 motor runs (also while jammed).
func (p *Plant) ConveyorRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.convRunning
}

// SetConveyorRunning starts or stops the CV201 motor.
func (p *Plant) SetConveyorRunning(run bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.convRunning = run
}

// ConveyorSpeed returns the CV201 speed setpoint in m/min.
func (p *Plant) ConveyorSpeed() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.speed
}

// SetConveyorSpeed sets the CV201 speed in m/min, clamped to 0..100. NaN is ignored.
func (p *Plant) SetConveyorSpeed(speed float64) {
	if math.IsNaN(speed) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.speed = clamp(speed, 0, MaxConveyorSpeed)
}

// Jammed reports the CV201 jam bit.
func (p *Plant) Jammed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jam
}

// SetJam forces a jam (true) or clears any jam (false). A forced jam stays
// until SetJam(false); the automatic jam every 180 s of running clears
// itself after 5 s.
func (p *Plant) SetJam(jam bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jam = jam
	p.jamForced = jam
	p.jamTime = 0
}

// PartCount returns the CV201 parts counter (wraps at 2^32).
func (p *Plant) PartCount() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

func clamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}
