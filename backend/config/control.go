package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults and bounds of the control settings.
const (
	// DefaultDFilter is the derivative filter factor: the derivative is
	// filtered with the time constant Td/10.
	DefaultDFilter = 0.1
	// DefaultPulse is how long a pulse command holds a tag at 1 when
	// neither the tag (momentary) nor the command says.
	DefaultPulse = 500 * time.Millisecond
	// MinPulse and MaxPulse bound a pulse (the request that makes one
	// answers when it ends, well within the HTTP server's write timeout).
	MinPulse = 50 * time.Millisecond
	MaxPulse = 10 * time.Second
)

// Loop modes an operator may ask for.
const (
	ModeAuto    = "auto"
	ModeManual  = "manual"
	ModeCascade = "cascade"
)

// P-on settings of a loop.
const (
	POnError       = "error"
	POnMeasurement = "measurement"
)

var (
	loopModes = []string{ModeAuto, ModeManual, ModeCascade}
	pOns      = []string{POnError, POnMeasurement}
)

// UnmarshalYAML reads "hold" or a number.
func (f *FailSafe) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf(`want "hold" or an output value`)
	}
	if n.Value == "hold" {
		*f = FailSafe{}
		return nil
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf(`want "hold" or an output value, got %q`, n.Value)
	}
	*f = FailSafe{Output: true, Value: v}
	return nil
}

// String is "hold" or the value.
func (f FailSafe) String() string {
	if !f.Output {
		return "hold"
	}
	return strconv.FormatFloat(f.Value, 'g', -1, 64)
}

// Loop returns the loop with the given name.
func (p *Project) Loop(name string) (*Loop, bool) {
	for i := range p.Loops {
		if p.Loops[i].Name == name {
			return &p.Loops[i], true
		}
	}
	return nil, false
}

// Secondary returns the loop whose setpoint comes from the named loop in
// cascade, if any.
func (p *Project) Secondary(primary string) (*Loop, bool) {
	for i := range p.Loops {
		if p.Loops[i].SPFrom == primary && primary != "" {
			return &p.Loops[i], true
		}
	}
	return nil, false
}

// finiteNum reports a number field that is NaN or infinite.
func (v *validator) finiteNum(path, field string, f float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		v.errorf(path+"."+field, "%s must be a number", field)
		return false
	}
	return true
}

// tagControls checks a tag's command settings: momentary and confirm_delta.
func (v *validator) tagControls(path string, t *Tag) {
	if v.set(path + ".momentary") {
		switch d := t.Momentary.Duration; {
		case !t.Writable:
			v.errorf(path+".momentary", "momentary is set but the tag is not writable")
		case d < MinPulse || d > MaxPulse:
			v.errorf(path+".momentary", "momentary %s is out of range (%s-%s)", d, MinPulse, MaxPulse)
		}
	}
	if v.set(path + ".confirm_delta") {
		switch c := t.ConfirmDelta; {
		case !t.Writable:
			v.errorf(path+".confirm_delta", "confirm_delta is set but the tag is not writable")
		case c < 0 || math.IsNaN(c) || math.IsInf(c, 0):
			v.errorf(path+".confirm_delta", "confirm_delta must be 0 or more")
		}
	}
}

func (v *validator) loops() {
	seen := map[string]string{}
	secondaries := map[string][]string{} // primary -> its secondaries
	for i := range v.p.Loops {
		if from := v.p.Loops[i].SPFrom; from != "" {
			secondaries[from] = append(secondaries[from], v.p.Loops[i].Name)
		}
	}
	for i := range v.p.Loops {
		l := &v.p.Loops[i]
		path := fmt.Sprintf("loops[%d]", i)
		v.name(path, "loop", l.Name, seen)
		v.tagRef(path+".pv", "pv", l.PV)
		sp := v.tagRef(path+".sp", "sp", l.SP)
		if l.Out != "" || len(secondaries[l.Name]) == 0 {
			if out := v.tagRef(path+".out", "out", l.Out); out != nil && !out.Writable {
				v.errorf(path+".out", "out tag %q is not writable (set writable: true on it)", l.Out)
			}
		}
		if l.Kp == 0 {
			v.errorf(path, "kp is missing or 0")
		} else {
			v.finiteNum(path, "kp", l.Kp)
		}
		for _, g := range []struct {
			field string
			val   float64
		}{{"ti", l.Ti}, {"td", l.Td}, {"out_rate", l.OutRate}, {"sp_ramp", l.SPRamp}} {
			if v.finiteNum(path, g.field, g.val) && g.val < 0 {
				v.errorf(path+"."+g.field, "%s must be 0 or more", g.field)
			}
		}
		if !v.set(path + ".d_filter") {
			l.DFilter = DefaultDFilter
		} else if !(l.DFilter > 0 && l.DFilter <= 1) {
			v.errorf(path+".d_filter", "d_filter %g is out of range (above 0, at most 1: the filter's time constant is d_filter·td)", l.DFilter)
		}
		if l.POn == "" {
			l.POn = POnError
		} else if !slices.Contains(pOns, l.POn) {
			v.errorf(path+".p_on", "p_on %q is not one of: %s", l.POn, strings.Join(pOns, ", "))
		}
		switch {
		case !v.set(path+".out_low") && !v.set(path+".out_high"):
			l.OutLow, l.OutHigh = 0, 100
		case !v.finiteNum(path, "out_low", l.OutLow) || !v.finiteNum(path, "out_high", l.OutHigh):
		case l.OutLow >= l.OutHigh:
			v.errorf(path+".out_low", "out_low %g must be below out_high %g", l.OutLow, l.OutHigh)
		}
		v.spLimits(path, l, sp)
		switch {
		case l.SPFrom == "":
		case l.SPFrom == l.Name:
			v.errorf(path+".sp_from", "sp_from names the loop itself")
		default:
			if _, ok := v.p.Loop(l.SPFrom); !ok {
				v.errorf(path+".sp_from", "sp_from %q is not a loop of the project", l.SPFrom)
			} else if s := secondaries[l.SPFrom]; len(s) > 1 {
				v.errorf(path+".sp_from", "loop %q is already the primary of %q (a loop may feed one secondary)", l.SPFrom, s[0])
			}
		}
		switch {
		case l.Mode == "" && l.SPFrom != "":
			l.Mode = ModeCascade
		case l.Mode == "":
			l.Mode = ModeAuto
		case !slices.Contains(loopModes, l.Mode):
			v.errorf(path+".mode", "mode %q is not one of: %s", l.Mode, strings.Join(loopModes, ", "))
		case l.Mode == ModeCascade && l.SPFrom == "":
			v.errorf(path+".mode", "mode cascade needs sp_from (the primary loop)")
		}
		if fs := l.FailSafe; fs.Output && (fs.Value < l.OutLow || fs.Value > l.OutHigh) {
			v.errorf(path+".fail_safe", "fail_safe %g is outside the output limits %g..%g", fs.Value, l.OutLow, l.OutHigh)
		}
		v.duration(path+".period", &l.Period, DefaultLoopPeriod)
	}
	v.cascadeCycles()
}

// spLimits checks a loop's setpoint limits and sets their defaults: the SP
// tag's low and high.
func (v *validator) spLimits(path string, l *Loop, sp *Tag) {
	if sp != nil {
		if l.SPLow == nil && sp.Low != nil {
			l.SPLow = ptrTo(*sp.Low)
		}
		if l.SPHigh == nil && sp.High != nil {
			l.SPHigh = ptrTo(*sp.High)
		}
	}
	lo, hi := l.SPLow, l.SPHigh
	if lo != nil && !v.finiteNum(path, "sp_low", *lo) || hi != nil && !v.finiteNum(path, "sp_high", *hi) {
		return
	}
	if lo != nil && hi != nil && *lo >= *hi {
		v.errorf(path+".sp_low", "sp_low %g must be below sp_high %g", *lo, *hi)
		return
	}
	if sp == nil {
		return
	}
	if lo != nil && sp.Low != nil && *lo < *sp.Low {
		v.errorf(path+".sp_low", "sp_low %g is below the low limit %g of tag %q", *lo, *sp.Low, sp.Name)
	}
	if hi != nil && sp.High != nil && *hi > *sp.High {
		v.errorf(path+".sp_high", "sp_high %g is above the high limit %g of tag %q", *hi, *sp.High, sp.Name)
	}
}

func ptrTo(f float64) *float64 { return &f }

// cascadeCycles reports loops whose sp_from chain comes back to them.
func (v *validator) cascadeCycles() {
	for i := range v.p.Loops {
		start := &v.p.Loops[i]
		l := start
		for steps := 0; l.SPFrom != "" && steps <= len(v.p.Loops); steps++ {
			next, ok := v.p.Loop(l.SPFrom)
			if !ok || next.Name == l.Name {
				break
			}
			if next.Name == start.Name {
				v.errorf(fmt.Sprintf("loops[%d].sp_from", i), "sp_from of loop %q makes a cycle of cascades", start.Name)
				break
			}
			l = next
		}
	}
}

// tagType tells a condition compiler the data type of a tag.
func (v *validator) tagType(name string) (string, bool) {
	t, ok := v.p.Tag(name)
	if !ok {
		return "", false
	}
	return t.Type, true
}

func (v *validator) interlocks() {
	seen := map[string]string{}
	for i := range v.p.Interlocks {
		il := &v.p.Interlocks[i]
		path := fmt.Sprintf("interlocks[%d]", i)
		v.name(path, "interlock", il.Name, seen)
		if strings.TrimSpace(il.When) == "" {
			v.errorf(path+".when", `when is missing (a condition over tags, e.g. "T101.Level < 5")`)
		} else if x, err := CompileExpr(il.When, v.tagType); err != nil {
			v.errorf(path+".when", "%v", err)
		} else {
			il.Cond = x
		}
		if len(il.Blocks) == 0 && len(il.Forces) == 0 {
			v.errorf(path, "the interlock neither blocks nor forces anything (give blocks, forces or both)")
		}
		for j := range il.Blocks {
			v.interlockAction(fmt.Sprintf("%s.blocks[%d]", path, j), il.Blocks[j], false)
		}
		for j := range il.Forces {
			v.interlockAction(fmt.Sprintf("%s.forces[%d]", path, j), il.Forces[j], true)
		}
		if il.Message == "" {
			il.Message = il.Name
		}
	}
}

// interlockAction checks a block or a force: the tag exists and commands
// can write it; a force has a value within the tag's limits.
func (v *validator) interlockAction(path string, a InterlockAction, force bool) {
	t := v.tagRef(path+".tag", "tag", a.Tag)
	if t != nil && !t.Writable {
		if force {
			v.errorf(path+".tag", "forced tag %q is not writable", a.Tag)
		} else {
			v.errorf(path+".tag", "tag %q is not writable, so no command can write it", a.Tag)
		}
	}
	switch {
	case a.Value == nil && force:
		v.errorf(path, "value is missing (the value forced, e.g. 0)")
	case a.Value == nil:
	case math.IsNaN(*a.Value) || math.IsInf(*a.Value, 0):
		v.errorf(path+".value", "value must be a number")
	case t != nil && force && (t.Low != nil && *a.Value < *t.Low || t.High != nil && *a.Value > *t.High):
		v.errorf(path+".value", "value %g is outside the limits of tag %q (%s)", *a.Value, a.Tag, limitText(t))
	}
}

func limitText(t *Tag) string {
	lo, hi := "", ""
	if t.Low != nil {
		lo = strconv.FormatFloat(*t.Low, 'g', -1, 64)
	}
	if t.High != nil {
		hi = strconv.FormatFloat(*t.High, 'g', -1, 64)
	}
	return lo + ".." + hi
}
