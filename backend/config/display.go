package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DisplayVersion is the display format version this edgehmi reads and writes.
const DisplayVersion = 1

// Display is one screen of the plant, in its own YAML file beside the
// project file (docs/displays.md). Fields are written in this order and
// empty ones are left out, so that a saved file diffs well in git.
type Display struct {
	Version int    `yaml:"version" json:"version"`
	Title   string `yaml:"title,omitempty" json:"title"`
	// Level is the ISA-101 display level: overview, area, equipment or
	// diagnostics.
	Level      string     `yaml:"level" json:"level"`
	Width      int        `yaml:"width" json:"width"`
	Height     int        `yaml:"height" json:"height"`
	Background Background `yaml:"background,omitempty" json:"background"`
	Objects    []Object   `yaml:"objects" json:"objects"`
}

// Background is a display's background: a colour, and optionally an
// imported SVG drawing (its markup) stretched over the display.
type Background struct {
	Color string `yaml:"color,omitempty" json:"color,omitempty"`
	SVG   string `yaml:"svg,omitempty" json:"svg,omitempty"`
}

// IsZero leaves an empty background out of a saved file.
func (b Background) IsZero() bool { return b == Background{} }

// Object is one thing on a display. Type says which fields apply
// (docs/displays.md lists them per type).
type Object struct {
	Type string  `yaml:"type" json:"type"`
	ID   string  `yaml:"id" json:"id"`
	X    float64 `yaml:"x" json:"x"`
	Y    float64 `yaml:"y" json:"y"`
	W    float64 `yaml:"w,omitempty" json:"w,omitempty"`
	H    float64 `yaml:"h,omitempty" json:"h,omitempty"`
	// Symbol is the library symbol of a symbol object: tank, pump, valve,
	// control_valve, motor, conveyor, heat_exchanger, mixer, instrument.
	Symbol string `yaml:"symbol,omitempty" json:"symbol,omitempty"`
	Label  string `yaml:"label,omitempty" json:"label,omitempty"`
	// Tag is the object's main binding: a tank's level, a pump's running
	// state, a value field's value, the tag a button or setpoint writes.
	Tag string `yaml:"tag,omitempty" json:"tag,omitempty"`
	// Fault binds a symbol's fault state (a bool tag).
	Fault string `yaml:"fault,omitempty" json:"fault,omitempty"`
	// Equipment names the alarm area whose highest alarm the symbol's
	// marker shows (default: the part of the tag before the first dot).
	Equipment string `yaml:"equipment,omitempty" json:"equipment,omitempty"`
	// Faceplate is the equipment whose faceplate a click opens.
	Faceplate string `yaml:"faceplate,omitempty" json:"faceplate,omitempty"`
	// Decimals of a value field (nil: the tag's own formatting).
	Decimals *int `yaml:"decimals,omitempty" json:"decimals,omitempty"`
	// HideUnit leaves the unit out of a value field.
	HideUnit bool `yaml:"hide_unit,omitempty" json:"hide_unit,omitempty"`
	// Min and Max: the range of a bar graph or trend (nil: the tag's).
	Min *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty" json:"max,omitempty"`
	// Value a command button writes ("true", "false", a number).
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
	// Pulse makes a command button momentary (the tag's pulse).
	Pulse bool `yaml:"pulse,omitempty" json:"pulse,omitempty"`
	// Text of a text object, link or button.
	Text string `yaml:"text,omitempty" json:"text,omitempty"`
	// Size is the font size of text (default 16).
	Size float64 `yaml:"size,omitempty" json:"size,omitempty"`
	// Points of a line or pipe, relative to the display.
	Points []Point `yaml:"points,omitempty,flow" json:"points,omitempty"`
	// Target is the display a navigation link opens.
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// Group ties objects that the editor moves together.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
}

// Point is a point of a line or pipe.
type Point struct {
	X float64 `yaml:"x" json:"x"`
	Y float64 `yaml:"y" json:"y"`
}

// Display object types, symbols and levels.
var (
	DisplayObjectTypes = []string{"symbol", "value", "bar", "trend", "button", "setpoint", "text", "line", "pipe", "link"}
	DisplaySymbols     = []string{"tank", "pump", "valve", "control_valve", "motor", "conveyor", "heat_exchanger", "mixer", "instrument"}
	DisplayLevels      = []string{"overview", "area", "equipment", "diagnostics"}
)

// Default and largest display sizes, and the most objects on a display.
const (
	DefaultDisplayWidth  = 1200
	DefaultDisplayHeight = 540
	maxDisplaySide       = 20000
	MaxDisplayObjects    = 10000
)

var (
	displayNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	objectIDPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
	colorPattern       = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
)

// DisplayName is the name a display file is known by: its base name
// without the extension ("displays/overview.yaml" is "overview").
func DisplayName(file string) string {
	b := path.Base(file)
	return strings.TrimSuffix(strings.TrimSuffix(b, ".yaml"), ".yml")
}

// ValidDisplayName tells whether name may name a display.
func ValidDisplayName(name string) bool { return displayNamePattern.MatchString(name) }

// displays checks the project's list of display files.
func (v *validator) displays() {
	seen := map[string]string{}
	for i, f := range v.p.Displays {
		at := fmt.Sprintf("displays[%d]", i)
		name := DisplayName(f)
		switch {
		case !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".yml"):
			v.errorf(at, "display file %q must end in .yaml", f)
		case path.IsAbs(f) || !fs.ValidPath(path.Clean(f)) || strings.Contains(f, `\`):
			v.errorf(at, "display file %q must be a relative path below the project's folder (with /)", f)
		case !ValidDisplayName(name):
			v.errorf(at, "display file %q: the name %q may hold only lower-case letters, digits, _ and - (at most 64)", f, name)
		case seen[name] != "":
			v.errorf(at, "display %q is already given by %s", name, seen[name])
		default:
			seen[name] = f
		}
	}
}

// ParseDisplay decodes and validates a display file against the project
// (its tags; nil checks no bindings). file names it in errors; known
// lists the displays a link may open (nil: any name).
func ParseDisplay(file string, data []byte, p *Project, known []string) (*Display, error) {
	root, d, err := document(file, data, "display file")
	if err != nil {
		return nil, err
	}
	disp := &Display{}
	d.decode(root, reflect.ValueOf(disp).Elem(), "")
	v := &validator{d: d, p: p}
	v.display(disp, true, known)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return disp, nil
}

// ValidateDisplay checks a display that did not come from a file (the
// editor's JSON) and fills in its defaults: the errors name the object by
// its id and the field, with no position.
func ValidateDisplay(name string, disp *Display, p *Project, known []string) error {
	d := &decoder{file: name, pos: positions{}, names: map[string]string{}, failed: map[string]bool{}}
	v := &validator{d: d, p: p}
	v.display(disp, false, known)
	if len(d.errs) > 0 {
		return d.errs
	}
	return nil
}

// objectLabel names an object in errors: its index and id.
func objectLabel(i int, o *Object) string {
	if o.ID != "" {
		return fmt.Sprintf("objects[%d] %q", i, o.ID)
	}
	return fmt.Sprintf("objects[%d]", i)
}

// display validates disp; fromFile: fields not written take defaults
// (otherwise the zero values count as given).
func (v *validator) display(disp *Display, fromFile bool, known []string) {
	given := func(path string, zero bool) bool {
		if fromFile {
			return v.set(path)
		}
		return !zero
	}
	// oerr reports a problem with object i's field.
	oerr := func(i int, o *Object, field, format string, args ...any) {
		p := fmt.Sprintf("objects[%d]", i)
		if field != "" {
			p += "." + field
		}
		msg := fmt.Sprintf(format, args...)
		if field != "" {
			msg = field + ": " + msg
		}
		v.errorAtPath(p, objectLabel(i, o)+": "+msg)
	}
	if !given("version", disp.Version == 0) {
		disp.Version = DisplayVersion
	} else if disp.Version != DisplayVersion {
		v.errorAtPath("version", fmt.Sprintf("version %d is not supported (this edgehmi reads display version %d)", disp.Version, DisplayVersion))
	}
	if disp.Level == "" {
		v.errorAtPath("level", "level is missing: say overview, area, equipment or diagnostics (ISA-101 display levels)")
	} else if !slices.Contains(DisplayLevels, disp.Level) {
		v.errorAtPath("level", fmt.Sprintf("level %q is not one of %s", disp.Level, strings.Join(DisplayLevels, ", ")))
	}
	if !given("width", disp.Width == 0) {
		disp.Width = DefaultDisplayWidth
	} else if disp.Width < 100 || disp.Width > maxDisplaySide {
		v.errorAtPath("width", fmt.Sprintf("width %d is out of range (100-%d)", disp.Width, maxDisplaySide))
	}
	if !given("height", disp.Height == 0) {
		disp.Height = DefaultDisplayHeight
	} else if disp.Height < 100 || disp.Height > maxDisplaySide {
		v.errorAtPath("height", fmt.Sprintf("height %d is out of range (100-%d)", disp.Height, maxDisplaySide))
	}
	if c := disp.Background.Color; c != "" && !colorPattern.MatchString(c) {
		v.errorAtPath("background.color", fmt.Sprintf("background colour %q is not #rgb or #rrggbb", c))
	}
	if s := strings.TrimSpace(disp.Background.SVG); s != "" && !strings.HasPrefix(s, "<svg") && !strings.HasPrefix(s, "<?xml") {
		v.errorAtPath("background.svg", "background svg must be SVG markup (starting with <svg or <?xml)")
	}
	if len(disp.Objects) > MaxDisplayObjects {
		v.errorAtPath("objects", fmt.Sprintf("%d objects are too many (at most %d)", len(disp.Objects), MaxDisplayObjects))
	}
	ids := map[string]int{}
	for i := range disp.Objects {
		o := &disp.Objects[i]
		if !slices.Contains(DisplayObjectTypes, o.Type) {
			if o.Type == "" {
				oerr(i, o, "type", "missing (one of %s)", strings.Join(DisplayObjectTypes, ", "))
			} else {
				oerr(i, o, "type", "%q is not one of %s", o.Type, strings.Join(DisplayObjectTypes, ", "))
			}
			continue
		}
		switch j, dup := ids[o.ID]; {
		case o.ID == "":
			oerr(i, o, "id", "missing: every object needs an id")
		case !objectIDPattern.MatchString(o.ID):
			oerr(i, o, "id", "%q may hold only letters, digits and _ . - (at most 64)", o.ID)
		case dup:
			oerr(i, o, "id", "%q is already used by objects[%d]", o.ID, j)
		default:
			ids[o.ID] = i
		}
		lineLike := o.Type == "line" || o.Type == "pipe"
		if lineLike {
			if len(o.Points) < 2 {
				oerr(i, o, "points", "a %s needs at least 2 points", o.Type)
			}
		} else {
			if o.W <= 0 || o.H <= 0 {
				oerr(i, o, "w", "a %s needs a width and height above 0 (w, h)", o.Type)
			}
		}
		needTag := map[string]bool{"value": true, "bar": true, "trend": true, "button": true, "setpoint": true}[o.Type]
		if o.Type == "symbol" {
			switch {
			case o.Symbol == "":
				oerr(i, o, "symbol", "missing (one of %s)", strings.Join(DisplaySymbols, ", "))
			case !slices.Contains(DisplaySymbols, o.Symbol):
				oerr(i, o, "symbol", "%q is not in the symbol library (%s)", o.Symbol, strings.Join(DisplaySymbols, ", "))
			}
		} else if o.Symbol != "" {
			oerr(i, o, "symbol", "only symbol objects have a symbol")
		}
		if needTag && o.Tag == "" {
			oerr(i, o, "tag", "a %s needs a tag to show", o.Type)
		}
		t := v.displayTag(i, o, "tag", o.Tag, oerr)
		v.displayTag(i, o, "fault", o.Fault, oerr)
		if (o.Type == "button" || o.Type == "setpoint") && t != nil && !t.Writable {
			oerr(i, o, "tag", "%s %q is not writable: a %s cannot command it", "tag", o.Tag, o.Type)
		}
		if o.Type == "button" && !o.Pulse && o.Value == "" {
			oerr(i, o, "value", "a button needs the value it writes (or pulse: true)")
		}
		if o.Type == "button" && o.Value != "" && t != nil {
			if _, err := strconv.ParseFloat(o.Value, 64); err != nil && o.Value != "true" && o.Value != "false" {
				oerr(i, o, "value", "%q is not true, false or a number", o.Value)
			}
		}
		if o.Min != nil && o.Max != nil && *o.Min >= *o.Max {
			oerr(i, o, "min", "min %g must be below max %g", *o.Min, *o.Max)
		}
		if (o.Type == "bar" || o.Type == "trend") && t != nil && (o.Min == nil || o.Max == nil) && (t.Low == nil || t.High == nil) && t.Scale == nil {
			oerr(i, o, "min", "the tag %q has no low and high: give the %s a min and max", o.Tag, o.Type)
		}
		if o.Decimals != nil && (*o.Decimals < 0 || *o.Decimals > 10) {
			oerr(i, o, "decimals", "%d is out of range (0-10)", *o.Decimals)
		}
		if (o.Type == "text" || o.Type == "link") && o.Text == "" {
			oerr(i, o, "text", "a %s needs its text", o.Type)
		}
		if o.Type == "link" {
			if o.Target == "" {
				oerr(i, o, "target", "a link needs the display it opens")
			} else if !ValidDisplayName(o.Target) {
				oerr(i, o, "target", "%q is not a display name", o.Target)
			} else if known != nil && !slices.Contains(known, o.Target) {
				oerr(i, o, "target", "there is no display %q", o.Target)
			}
		} else if o.Target != "" {
			oerr(i, o, "target", "only links have a target")
		}
		if o.Size < 0 || o.Size > 200 {
			oerr(i, o, "size", "%g is out of range (1-200)", o.Size)
		}
		if !lineLike && (o.X+o.W < 0 || o.Y+o.H < 0 || o.X > float64(disp.Width) || o.Y > float64(disp.Height)) {
			oerr(i, o, "x", "the object lies outside the display (%dx%d)", disp.Width, disp.Height)
		}
	}
}

// displayTag checks a binding and returns the tag (nil if none or unknown,
// or when the project is not known).
func (v *validator) displayTag(i int, o *Object, field, name string, oerr func(int, *Object, string, string, ...any)) *Tag {
	if name == "" || v.p == nil {
		return nil
	}
	t, ok := v.p.Tag(name)
	if !ok {
		msg := fmt.Sprintf("there is no tag %q", name)
		names := make([]string, len(v.p.Tags))
		for k := range v.p.Tags {
			names[k] = v.p.Tags[k].Name
		}
		if s := suggest(name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		oerr(i, o, field, "%s", msg)
		return nil
	}
	return t
}

// errorAtPath reports msg at path (or its nearest written parent); msg is
// complete (no label is added).
func (v *validator) errorAtPath(p, msg string) {
	if v.d.failed[p] {
		return
	}
	ps := v.place(p)
	v.d.errs = append(v.d.errs, Error{File: v.d.file, Line: ps.line, Col: ps.col, Msg: msg})
}

// Marshal writes a display as YAML: fields in a fixed order, empty ones
// left out, so that load, save, load gives the same display and saving it
// again the same bytes.
func (disp *Display) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(disp); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Hash is the SHA-256 of data, hex encoded.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// NamedDisplay is a display with the name and file it was loaded from.
type NamedDisplay struct {
	Name    string
	File    string
	Display *Display
}

// LoadDisplays reads and validates the project's displays from fsys (the
// project's folder); prefix is put before their paths in errors (the
// project file's folder as the user gave it). Links must name displays of
// the project.
func LoadDisplays(p *Project, fsys fs.FS, prefix string) ([]NamedDisplay, error) {
	var errs Errors
	var out []NamedDisplay
	files := append(slices.Clip(p.Displays), UnlistedDisplays(p, fsys)...)
	known := make([]string, len(files))
	for i, f := range files {
		known[i] = DisplayName(f)
	}
	for _, f := range files {
		shown := f
		if prefix != "" && prefix != "." {
			shown = prefix + "/" + f
		}
		data, err := fs.ReadFile(fsys, path.Clean(f))
		if err != nil {
			errs = append(errs, Error{File: p.File, Msg: fmt.Sprintf("display %q: cannot read %s: %v", DisplayName(f), shown, unwrapPathError(err))})
			continue
		}
		d, err := ParseDisplay(shown, data, p, known)
		var es Errors
		if errors.As(err, &es) {
			errs = append(errs, es...)
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, NamedDisplay{Name: DisplayName(f), File: shown, Display: d})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// UnlistedDisplays lists, by path, the display files in the displays
// folder of fsys (the project's folder) that the project does not list:
// those made in the editor. They belong to the project too, after the
// listed ones, by name; files whose names cannot name a display are left.
func UnlistedDisplays(p *Project, fsys fs.FS) []string {
	listed := map[string]bool{}
	for _, f := range p.Displays {
		listed[DisplayName(f)] = true
	}
	matches, _ := fs.Glob(fsys, "displays/*.yaml")
	var out []string
	for _, f := range matches {
		if n := DisplayName(f); ValidDisplayName(n) && !listed[n] {
			out = append(out, f)
		}
	}
	return out // fs.Glob sorts
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
