package config

import (
	"math"
	"time"
)

// Project is one project file: the server settings, devices, tags, alarms
// and control loops of a plant.
type Project struct {
	// Version of the file format; 1 is the only one so far.
	Version int    `yaml:"version"`
	Name    string `yaml:"name"`
	Server  Server `yaml:"server"`

	// ScanClasses name scan periods that tags may use instead of their
	// device's scan, e.g. fast: 100ms, slow: 10s.
	ScanClasses []ScanClass `yaml:"scan_classes"`
	Devices     []Device    `yaml:"devices"`
	Tags        []Tag       `yaml:"tags"`
	Alarms      []Alarm     `yaml:"alarms"`
	Loops       []Loop      `yaml:"loops"`
	// Interlocks block operator commands and force outputs while a
	// condition over tags holds.
	Interlocks []Interlock `yaml:"interlocks"`
	// History configures the tag history: retention and the default
	// heartbeat.
	History History `yaml:"history"`
	// Sparkplug is the northbound MQTT Sparkplug B edge node (sparkplug.go); nil: none.
	Sparkplug *Sparkplug `yaml:"sparkplug"`
	// Displays are the project's display files (display.go), relative to
	// the project file: displays/overview.yaml.
	Displays []string `yaml:"displays"`

	// File is the path the project was read from ("" if built in code).
	File string `yaml:"-"`
	// Hash is the SHA-256 of the file's bytes, hex encoded.
	Hash string `yaml:"-"`
}

// ScanClass is a named scan period.
type ScanClass struct {
	Name   string   `yaml:"name"`
	Period Duration `yaml:"period"`
}

// Server holds the HTTP server settings.
type Server struct {
	// Listen is the address to serve on; the --listen flag overrides it.
	// With TLS configured, this address serves only redirects to HTTPS.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS; nil serves plain HTTP.
	TLS *TLS `yaml:"tls"`
	// SessionIdle ends a session after this long without a request
	// (default 30m); SessionLifetime ends it in any case (default 12h).
	SessionIdle     Duration `yaml:"session_idle"`
	SessionLifetime Duration `yaml:"session_lifetime"`
	// UIIdleLogout logs the page out after this long without input (panel
	// PCs often want a short one); 0 never does.
	UIIdleLogout Duration `yaml:"ui_idle_logout"`
}

// TLS configures HTTPS: a certificate and key in PEM files, or a
// self-signed certificate that edgehmi makes on first run and keeps in the
// data directory.
type TLS struct {
	// Listen is the HTTPS address, e.g. "0.0.0.0:8443".
	Listen     string `yaml:"listen"`
	Cert       string `yaml:"cert"`
	Key        string `yaml:"key"`
	SelfSigned bool   `yaml:"self_signed"`
}

// Device is one PLC or server the project talks to.
type Device struct {
	Name string `yaml:"name"`
	// Driver is the kind of device: "modbus-tcp" or "opcua".
	Driver string `yaml:"driver"`

	// Modbus TCP
	Host   string `yaml:"host"`
	Port   int    `yaml:"port"`
	UnitID int    `yaml:"unit_id"`

	// OPC UA
	Endpoint string `yaml:"endpoint"`
	// Security is the OPC UA message security mode: none (default), sign
	// or sign_and_encrypt.
	Security string `yaml:"security"`
	// SecurityPolicy under sign and sign_and_encrypt: Basic256Sha256
	// (default), Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, Basic256 or
	// Basic128Rsa15.
	SecurityPolicy string `yaml:"security_policy"`
	// Username logs in to the OPC UA server (anonymous when empty), with
	// Password, or the password held by the environment variable named by
	// PasswordEnv (so that no secret sits in the project file).
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
	// PublishInterval is how often the OPC UA server sends changes; 0 is
	// the fastest sampling interval of the device's tags.
	PublishInterval Duration `yaml:"publish_interval"`
	// QueueSize is how many changes of one tag the OPC UA server keeps
	// between two publishes (default 1: the newest).
	QueueSize int `yaml:"queue_size"`

	// Modbus block reads: the largest read in registers (1-125, default
	// 125) and bits (1-2000, default 2000), and the largest gap of unused
	// registers a read may span to save a request (default 16; bits: 16x).
	MaxRegisters int `yaml:"max_registers"`
	MaxBits      int `yaml:"max_bits"`
	MaxGap       int `yaml:"max_gap"`
	// ByteOrder of multi-register values: ABCD (default, big-endian), BADC,
	// CDAB (word-swapped) or DCBA. A tag may override it.
	ByteOrder string `yaml:"byte_order"`

	// Timeout for one request (and for connecting).
	Timeout Duration `yaml:"timeout"`
	// Scan is how often the device's tags are read.
	Scan Duration `yaml:"scan"`
	// Disabled devices are not polled; their tags stay Bad.
	Disabled bool `yaml:"disabled"`
}

// Tag is one named value of the plant.
type Tag struct {
	Name   string `yaml:"name"`
	Device string `yaml:"device"`
	// Address in the device's syntax: "HR0", "IR3", "C1", "DI2" (Modbus),
	// "ns=2;s=TIC101.PV" (OPC UA).
	Address string `yaml:"address"`
	// Type is the data type at the address: bool, int16, uint16, int32,
	// uint32, float32, float64 (Modbus), or bool, sbyte, byte, int16,
	// uint16, int32, uint32, int64, uint64, float, double, string,
	// datetime (OPC UA).
	Type     string   `yaml:"type"`
	Scale    *Scale   `yaml:"scale"`
	Unit     string   `yaml:"unit"`
	Low      *float64 `yaml:"low"`
	High     *float64 `yaml:"high"`
	Writable bool     `yaml:"writable"`
	// ByteOrder overrides the device's for this tag (Modbus).
	ByteOrder string `yaml:"byte_order"`
	// UnitID overrides the device's unit id for this tag (Modbus gateways);
	// nil uses the device's.
	UnitID *int `yaml:"unit_id"`
	// Length of a string tag, in characters (Modbus: 2 per register).
	Length int `yaml:"length"`
	// ScanClass names one of the project's scan_classes: the tag is read at
	// that period instead of its device's scan (polled devices).
	ScanClass string `yaml:"scan_class"`
	// WriteRole is the role a write needs: operator (default), engineer or admin.
	WriteRole   string `yaml:"write_role"`
	Description string `yaml:"description"`
	// Deadband: changes smaller than this (engineering units) are not
	// published. 0 publishes every change.
	Deadband float64 `yaml:"deadband"`
	// DeadbandPercent is the deadband as a percent of the tag's span
	// (high - low, or the scale's engineering span); use one or the other.
	DeadbandPercent float64 `yaml:"deadband_percent"`
	// Momentary marks a push button: a pulse command writes 1, then 0
	// after this long (the default pulse length; the command may give its
	// own). 0: pulses last DefaultPulse.
	Momentary Duration `yaml:"momentary"`
	// ConfirmDelta asks the page to confirm a write that changes the value
	// by more than this (engineering units); 0 never asks.
	ConfirmDelta float64 `yaml:"confirm_delta"`
	// History overrides how the tag is recorded in the history (nil: by
	// the project's defaults).
	History *TagHistory `yaml:"history"`
}

// ScanPeriod is the period of a scan class, if the project has it.
func (p *Project) ScanPeriod(class string) (time.Duration, bool) {
	for _, c := range p.ScanClasses {
		if c.Name == class {
			return c.Period.Duration, true
		}
	}
	return 0, false
}

// Span is the tag's engineering range: high - low when both are set,
// else the scale's engineering span, else 0.
func (t *Tag) Span() float64 {
	switch {
	case t.Low != nil && t.High != nil:
		return *t.High - *t.Low
	case t.Scale != nil:
		return math.Abs(t.Scale.EngHigh - t.Scale.EngLow)
	}
	return 0
}

// AbsDeadband is the deadband in engineering units.
func (t *Tag) AbsDeadband() float64 {
	if t.DeadbandPercent > 0 {
		return t.DeadbandPercent / 100 * t.Span()
	}
	return t.Deadband
}

// Scale maps raw device values linearly to engineering units:
// raw_low..raw_high becomes eng_low..eng_high.
type Scale struct {
	RawLow  float64 `yaml:"raw_low"`
	RawHigh float64 `yaml:"raw_high"`
	EngLow  float64 `yaml:"eng_low"`
	EngHigh float64 `yaml:"eng_high"`
}

// Alarm is one alarm: a condition on a tag (or on a device's
// communication), how important it is, and how it is handled.
type Alarm struct {
	Name string `yaml:"name"`
	// Tag is the tag watched; every type but comm has one.
	Tag string `yaml:"tag"`
	// Type is hihi, hi, lo, lolo (limits), deviation (from a setpoint
	// tag), roc (rate of change), discrete (the tag equals a value),
	// bad_quality (the tag is Bad) or comm (a device's link is down).
	Type string `yaml:"type"`
	// Limit of hihi, hi, lo and lolo; the largest deviation (deviation) or
	// rate in units per second (roc) that is not an alarm.
	Limit float64 `yaml:"limit"`
	// Deadband the value must come back past the limit before the alarm returns.
	Deadband float64 `yaml:"deadband"`
	// Priority is critical, high, medium or low.
	Priority string `yaml:"priority"`
	Message  string `yaml:"message"`
	// Area or equipment the alarm belongs to.
	Area string `yaml:"area"`

	// Device is the device whose communication a comm alarm watches.
	Device string `yaml:"device"`
	// Setpoint is the tag a deviation alarm compares its tag with.
	Setpoint string `yaml:"setpoint"`
	// Direction of a deviation or roc alarm: both (default), high (above
	// the setpoint; rising) or low (below the setpoint; falling).
	Direction string `yaml:"direction"`
	// Window over which a roc alarm measures the rate (default 10s).
	Window Duration `yaml:"window"`
	// Equals is the value at which a discrete alarm is active (booleans
	// are 0 and 1).
	Equals float64 `yaml:"equals"`
	// OnDelay: the condition must hold this long before the alarm is
	// raised; OffDelay: it must be gone this long before the alarm returns.
	OnDelay  Duration `yaml:"on_delay"`
	OffDelay Duration `yaml:"off_delay"`
	// Latched alarms stay in alarm after the condition returns, until an
	// operator resets them.
	Latched bool `yaml:"latched"`
	// Group names the alarm group whose first alarm to activate is marked
	// first-out.
	Group string `yaml:"group"`
	// SuppressedBy suppresses the alarm by design while a condition holds
	// (e.g. the pump is stopped); nil never suppresses it.
	SuppressedBy *Condition `yaml:"suppressed_by"`
	// MaxShelve is the longest the alarm may be shelved (default 8h).
	MaxShelve Duration `yaml:"max_shelve"`
}

// Condition holds while a tag's value is Good and equals a value
// (booleans are 0 and 1).
type Condition struct {
	Tag    string  `yaml:"tag"`
	Equals float64 `yaml:"equals"`
}

// Loop is a PID loop that edgehmi runs itself.
type Loop struct {
	Name string `yaml:"name"`
	// PV, SP and OUT name the tags of the process value, setpoint and
	// output. OUT may be left out on the primary of a cascade (a loop that
	// another's sp_from names): its output is then only the secondary's
	// setpoint.
	PV  string `yaml:"pv"`
	SP  string `yaml:"sp"`
	Out string `yaml:"out"`
	// Gains in ISA standard form: Kp, integral time Ti and derivative time Td
	// (seconds; Ti 0 turns the integral off).
	Kp float64 `yaml:"kp"`
	Ti float64 `yaml:"ti"`
	Td float64 `yaml:"td"`
	// DFilter is the derivative filter factor: the derivative is filtered
	// with the time constant DFilter·Td (0 < DFilter <= 1; default 0.1).
	DFilter float64 `yaml:"d_filter"`
	// POn is what the proportional term acts on: "error" (default) or
	// "measurement" (no proportional kick on a setpoint change).
	POn string `yaml:"p_on"`
	// OutLow and OutHigh limit the output (engineering units of OUT).
	OutLow  float64 `yaml:"out_low"`
	OutHigh float64 `yaml:"out_high"`
	// OutRate limits how fast the output moves in automatic, in units per
	// second; 0 does not limit it.
	OutRate float64 `yaml:"out_rate"`
	// SPLow and SPHigh limit the setpoint; they default to the SP tag's low
	// and high (nil: no limit).
	SPLow  *float64 `yaml:"sp_low"`
	SPHigh *float64 `yaml:"sp_high"`
	// SPRamp moves the working setpoint toward a new setpoint at this many
	// units per second; 0 steps at once.
	SPRamp float64 `yaml:"sp_ramp"`
	// SPFrom names the primary loop of a cascade: in cascade mode this
	// loop's setpoint is that loop's output.
	SPFrom string `yaml:"sp_from"`
	// Mode is the mode the loop starts in: auto (default), manual, or
	// cascade (the default when sp_from is set).
	Mode string `yaml:"mode"`
	// Period is how often the loop runs.
	Period Duration `yaml:"period"`
	// Reverse acting: the output rises when PV is above SP (cooling).
	Reverse bool `yaml:"reverse"`
	// FailSafe is what the loop does while its PV or SP is Bad, Uncertain
	// or not a number: "hold" the last output (default) or write a number.
	FailSafe FailSafe `yaml:"fail_safe"`
}

// FailSafe is a loop's action while it cannot control: hold the output
// (the zero value, written "hold") or drive it to Value (a number).
type FailSafe struct {
	// Output: go to Value; false holds the last output.
	Output bool
	Value  float64
}

// Interlock blocks commands and forces outputs while its condition holds.
type Interlock struct {
	Name string `yaml:"name"`
	// When is the condition, an expression over tags
	// (github.com/expr-lang/expr), e.g. "T101.Level < 5". A tag whose name
	// is made of identifiers joined by dots is written as it is; any name
	// may be written tag("CV-201/Speed").
	When string `yaml:"when"`
	// Blocks are the commands refused while the interlock is active.
	Blocks []InterlockAction `yaml:"blocks"`
	// Forces are the outputs written while it is active.
	Forces []InterlockAction `yaml:"forces"`
	// Message tells the operator why (default: the name).
	Message string `yaml:"message"`

	// Cond is When, compiled once when the project is loaded.
	Cond *Expr `yaml:"-"`
}

// InterlockAction is a write of Value to Tag: blocked, or forced. A block
// without a value blocks every write to the tag.
type InterlockAction struct {
	Tag   string   `yaml:"tag"`
	Value *float64 `yaml:"value"`
}

// Duration is a time.Duration written as "250ms", "1s", "2m" in the file.
type Duration struct{ time.Duration }
