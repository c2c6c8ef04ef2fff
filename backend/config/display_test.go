package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/examples"
)

func demoProject(t *testing.T) *config.Project {
	t.Helper()
	p, err := config.Parse(examples.DemoFile, examples.Demo, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDemoDisplaysLoad(t *testing.T) {
	p := demoProject(t)
	ds, err := config.LoadDisplays(p, examples.FS, "examples")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "overview" || ds[1].Name != "tic101" {
		t.Fatalf("displays: %+v", ds)
	}
	if ds[0].File != "examples/displays/overview.yaml" {
		t.Errorf("file %q", ds[0].File)
	}
}

// Load, save, load: the same display; and saving it again gives the same bytes.
func TestDisplayRoundTrip(t *testing.T) {
	p := demoProject(t)
	for _, f := range p.Displays {
		data, err := examples.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d1, err := config.ParseDisplay(f, data, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := d1.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := config.ParseDisplay(f, out, p, nil)
		if err != nil {
			t.Fatalf("%s: saved file does not load: %v\n%s", f, err, out)
		}
		if !reflect.DeepEqual(d1, d2) {
			t.Errorf("%s: load, save, load differs:\n%+v\n%+v", f, d1, d2)
		}
		out2, _ := d2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Errorf("%s: saving twice differs:\n%s\n---\n%s", f, out, out2)
		}
		if !bytes.HasPrefix(out, []byte("version: 1\n")) {
			t.Errorf("%s: version not first:\n%s", f, out)
		}
	}
	// Every field set, to be sure none is lost.
	two := 2
	lo, hi := -5.0, 5.5
	full := &config.Display{Version: 1, Title: "All", Level: "diagnostics", Width: 800, Height: 600,
		Background: config.Background{Color: "#d8d8d8", SVG: "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"4\" height=\"4\"/></svg>\n"},
		Objects: []config.Object{
			{Type: "symbol", ID: "a", X: 1.5, Y: 2, W: 30, H: 40, Symbol: "pump", Label: "P", Tag: "P101.Running", Fault: "P101.Fault", Equipment: "P101", Faceplate: "P101", Group: "g1"},
			{Type: "value", ID: "b", X: 1, Y: 2, W: 30, H: 40, Tag: "TIC101.PV", Decimals: &two, HideUnit: true, Group: "g1"},
			{Type: "bar", ID: "c", X: 1, Y: 2, W: 30, H: 40, Tag: "TIC101.PV", Min: &lo, Max: &hi},
			{Type: "button", ID: "d", X: 1, Y: 2, W: 30, H: 40, Tag: "XV101.Open", Value: "true", Text: "Open"},
			{Type: "pipe", ID: "e", Points: []config.Point{{X: 1, Y: 2}, {X: 3, Y: 4}}},
			{Type: "link", ID: "f", X: 1, Y: 2, W: 30, H: 40, Text: "go", Target: "overview", Size: 12},
		}}
	if err := config.ValidateDisplay("full", full, demoProject(t), nil); err != nil {
		t.Fatal(err)
	}
	out, err := full.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.ParseDisplay("full.yaml", out, demoProject(t), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(full, back) {
		t.Errorf("round trip differs:\n%+v\n%+v\n%s", full, back, out)
	}
}

// Each kind of mistake, with the place it is reported at.
func TestDisplayErrors(t *testing.T) {
	p := demoProject(t)
	head := "version: 1\nlevel: area\nobjects:\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown field", head + "  - {type: text, id: a, x: 1, y: 1, w: 5, h: 5, text: x, colour: red}\n", `x.yaml:4:58: objects[0]: unknown field "colour"`},
		{"wrong kind", head + "  - {type: text, id: a, x: one, y: 1, w: 5, h: 5, text: x}\n", `x.yaml:4:28: objects[0].x: want a number, got "one"`},
		{"bad version", "version: 2\nlevel: area\n", `x.yaml:1:10: version 2 is not supported`},
		{"no level", "version: 1\n", `x.yaml: level is missing`},
		{"bad level", "version: 1\nlevel: plant\n", `x.yaml:2:8: level "plant" is not one of overview, area, equipment, diagnostics`},
		{"bad size", "version: 1\nlevel: area\nwidth: 5\n", `x.yaml:3:8: width 5 is out of range`},
		{"bad colour", "version: 1\nlevel: area\nbackground: {color: grey}\n", `x.yaml:3:21: background colour "grey" is not #rgb or #rrggbb`},
		{"bad svg", "version: 1\nlevel: area\nbackground: {svg: hello}\n", `x.yaml:3:19: background svg must be SVG markup`},
		{"unknown type", head + "  - {type: gauge, id: a, x: 1, y: 1, w: 5, h: 5}\n", `x.yaml:4:12: objects[0] "a": type: "gauge" is not one of`},
		{"no id", head + "  - {type: text, x: 1, y: 1, w: 5, h: 5, text: x}\n", `x.yaml:4:5: objects[0]: id: missing`},
		{"duplicate id", head + "  - {type: text, id: a, x: 1, y: 1, w: 5, h: 5, text: x}\n  - {type: text, id: a, x: 1, y: 1, w: 5, h: 5, text: x}\n", `x.yaml:5:22: objects[1] "a": id: "a" is already used by objects[0]`},
		{"no size", head + "  - {type: text, id: a, x: 1, y: 1, text: x}\n", `x.yaml:4:5: objects[0] "a": w: a text needs a width and height above 0`},
		{"unknown symbol", head + "  - {type: symbol, id: a, x: 1, y: 1, w: 5, h: 5, symbol: boiler}\n", `x.yaml:4:59: objects[0] "a": symbol: "boiler" is not in the symbol library`},
		{"unknown tag", head + "  - {type: value, id: a, x: 1, y: 1, w: 5, h: 5, tag: T101.Levle}\n", `x.yaml:4:55: objects[0] "a": tag: there is no tag "T101.Levle" (did you mean "T101.Level"?)`},
		{"unknown fault tag", head + "  - {type: symbol, symbol: pump, id: a, x: 1, y: 1, w: 5, h: 5, fault: nope}\n", `objects[0] "a": fault: there is no tag "nope"`},
		{"missing tag", head + "  - {type: bar, id: a, x: 1, y: 1, w: 5, h: 5}\n", `x.yaml:4:5: objects[0] "a": tag: a bar needs a tag to show`},
		{"setpoint not writable", head + "  - {type: setpoint, id: a, x: 1, y: 1, w: 5, h: 5, tag: TIC101.PV}\n", `x.yaml:4:58: objects[0] "a": tag: tag "TIC101.PV" is not writable: a setpoint cannot command it`},
		{"button not writable", head + "  - {type: button, id: a, x: 1, y: 1, w: 5, h: 5, tag: T101.Level, value: \"1\"}\n", `objects[0] "a": tag: tag "T101.Level" is not writable: a button cannot command it`},
		{"button no value", head + "  - {type: button, id: a, x: 1, y: 1, w: 5, h: 5, tag: XV101.Open}\n", `objects[0] "a": value: a button needs the value it writes`},
		{"button bad value", head + "  - {type: button, id: a, x: 1, y: 1, w: 5, h: 5, tag: XV101.Open, value: open}\n", `objects[0] "a": value: "open" is not true, false or a number`},
		{"min above max", head + "  - {type: bar, id: a, x: 1, y: 1, w: 5, h: 5, tag: TIC101.PV, min: 5, max: 1}\n", `objects[0] "a": min: min 5 must be below max 1`},
		{"line one point", head + "  - {type: line, id: a, x: 0, y: 0, points: [{x: 1, y: 1}]}\n", `x.yaml:4:45: objects[0] "a": points: a line needs at least 2 points`},
		{"text without text", head + "  - {type: text, id: a, x: 1, y: 1, w: 5, h: 5}\n", `objects[0] "a": text: a text needs its text`},
		{"link unknown display", head + "  - {type: link, id: a, x: 1, y: 1, w: 5, h: 5, text: go, target: nowhere}\n", `x.yaml:4:67: objects[0] "a": target: there is no display "nowhere"`},
		{"outside", head + "  - {type: text, id: a, x: 5000, y: 1, w: 5, h: 5, text: x}\n", `x.yaml:4:28: objects[0] "a": x: the object lies outside the display`},
		{"syntax", "version: 1\nlevel: [\n", `x.yaml:2:1: YAML syntax`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.ParseDisplay("x.yaml", []byte(c.yaml), p, []string{"overview"})
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got\n%v\nwant it to contain\n%s", err, c.want)
			}
		})
	}
}

// The editor's JSON form: errors name the object id and the field.
func TestValidateDisplayNamesObject(t *testing.T) {
	d := &config.Display{Level: "area", Objects: []config.Object{{Type: "setpoint", ID: "sp1", X: 1, Y: 1, W: 10, H: 10, Tag: "T101.Level"}}}
	err := config.ValidateDisplay("mine", d, demoProject(t), nil)
	if err == nil || err.Error() != `mine: objects[0] "sp1": tag: tag "T101.Level" is not writable: a setpoint cannot command it` {
		t.Fatalf("got %v", err)
	}
	if d.Width != config.DefaultDisplayWidth || d.Version != 1 {
		t.Errorf("defaults not filled: %+v", d)
	}
}

func TestProjectDisplayList(t *testing.T) {
	for _, c := range []struct{ list, want string }{
		{"[displays/a.txt]", `must end in .yaml`},
		{"[/abs/a.yaml]", `must be a relative path`},
		{"[../a.yaml]", `must be a relative path`},
		{"[displays/A B.yaml]", `may hold only lower-case`},
		{"[a/x.yaml, b/x.yaml]", `display "x" is already given by a/x.yaml`},
	} {
		_, err := config.Parse("p.yaml", []byte("version: 1\nname: x\ndisplays: "+c.list+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.list, err, c.want)
		}
	}
}

func TestLoadDisplaysReportsMissingAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "displays"), 0o755)
	os.WriteFile(filepath.Join(dir, "displays", "a.yaml"), []byte("version: 1\nlevel: area\nobjects:\n  - {type: value, id: v, x: 1, y: 1, w: 5, h: 5, tag: nope}\n"), 0o644)
	p, err := config.Parse("p.yaml", []byte("version: 1\nname: x\ndisplays: [displays/a.yaml, displays/b.yaml]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.LoadDisplays(p, os.DirFS(dir), "proj")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`proj/displays/a.yaml:4:55: objects[0] "v": tag: there is no tag "nope"`, `display "b": cannot read proj/displays/b.yaml`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got\n%v\nwant %q", err, want)
		}
	}
}

// A display made in the editor is saved as displays/<name>.yaml beside the
// project without being listed: it belongs to the project all the same, so
// `edgehmi check` validates it and links may open it.
func TestLoadDisplaysTakesUnlistedEditorFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "displays"), 0o755)
	os.WriteFile(filepath.Join(dir, "displays", "a.yaml"), []byte("version: 1\nlevel: area\nobjects:\n  - {type: link, id: l, x: 1, y: 1, w: 50, h: 20, text: More, target: made}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "displays", "made.yaml"), []byte("version: 1\nlevel: area\nobjects:\n  - {type: value, id: v, x: 1, y: 1, w: 5, h: 5, tag: nope}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "displays", "Not A Name.yaml"), []byte("junk: ["), 0o644)
	p, err := config.Parse("p.yaml", []byte("version: 1\nname: x\ndisplays: [displays/a.yaml]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := config.UnlistedDisplays(p, os.DirFS(dir)); !reflect.DeepEqual(got, []string{"displays/made.yaml"}) {
		t.Errorf("unlisted %q, want [displays/made.yaml]", got)
	}
	_, err = config.LoadDisplays(p, os.DirFS(dir), "proj")
	if err == nil || !strings.Contains(err.Error(), `proj/displays/made.yaml:4:55: objects[0] "v": tag: there is no tag "nope"`) {
		t.Fatalf("the unlisted display was not validated: %v", err)
	}
	if strings.Contains(err.Error(), "a.yaml") {
		t.Errorf("the link to the unlisted display was refused: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "displays", "made.yaml"), []byte("version: 1\nlevel: area\n"), 0o644)
	ds, err := config.LoadDisplays(p, os.DirFS(dir), "proj")
	if err != nil || len(ds) != 2 || ds[1].Name != "made" {
		t.Fatalf("displays %+v, %v: want a and made", ds, err)
	}
}
