// Package config reads and validates edgehmi project files.
//
// A project file is YAML, decoded strictly: an unknown or misspelt field is
// an error, and every problem is reported as FILE:LINE:COL: message, naming
// the object it belongs to. Validation does no I/O.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a project file.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a project file, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// DriverChecker checks device drivers and tag addresses without I/O. The
// driver registry implements it; config does not know any protocol itself.
type DriverChecker interface {
	// Names lists the known driver names.
	Names() []string
	// CheckAddress validates a tag's address and data type for a driver.
	CheckAddress(driver, address, dataType string) error
}

// Driver names with device settings of their own.
const (
	DriverModbusTCP = "modbus-tcp"
	DriverOPCUA     = "opcua"
)

// Load reads and validates a project file.
func Load(path string, drivers DriverChecker) (*Project, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read project: %w", err)
	}
	return Parse(path, data, drivers)
}

// Parse decodes and validates a project. file names it in errors. A nil
// drivers skips the driver and address checks.
func Parse(file string, data []byte, drivers DriverChecker) (*Project, error) {
	sum := sha256.Sum256(data)
	p := &Project{File: file, Hash: hex.EncodeToString(sum[:])}
	root, d, err := document(file, data, "file")
	if err != nil {
		return nil, err
	}
	d.decode(root, reflect.ValueOf(p).Elem(), "")
	v := validator{d: d, p: p, drivers: drivers}
	v.validate()
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return p, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(file string, err error) Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return Error{File: file, Line: line, Col: 1, Msg: "YAML syntax: " + m[2]}
	}
	return Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func sortErrors(es Errors) {
	// Insertion sort keeps equal positions in the order they were found.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && (es[j].Line < es[j-1].Line || es[j].Line == es[j-1].Line && es[j].Col < es[j-1].Col); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// Summary is a one-line description of the project for `edgehmi check`.
func (p *Project) Summary() string {
	return fmt.Sprintf("project %q: %d devices, %d tags, %d alarms, %d loops, %d interlocks", p.Name,
		len(p.Devices), len(p.Tags), len(p.Alarms), len(p.Loops), len(p.Interlocks))
}

// Device returns the device with the given name.
func (p *Project) Device(name string) (*Device, bool) {
	for i := range p.Devices {
		if p.Devices[i].Name == name {
			return &p.Devices[i], true
		}
	}
	return nil, false
}

// Tag returns the tag with the given name.
func (p *Project) Tag(name string) (*Tag, bool) {
	for i := range p.Tags {
		if p.Tags[i].Name == name {
			return &p.Tags[i], true
		}
	}
	return nil, false
}

// Addr returns the Modbus device's host:port.
func (d *Device) Addr() string { return net.JoinHostPort(d.Host, fmt.Sprint(d.Port)) }

// Apply scales a raw value to engineering units.
func (s *Scale) Apply(raw float64) float64 {
	if s == nil {
		return raw
	}
	return s.EngLow + (raw-s.RawLow)*(s.EngHigh-s.EngLow)/(s.RawHigh-s.RawLow)
}

// Invert scales an engineering value back to raw.
func (s *Scale) Invert(eng float64) float64 {
	if s == nil {
		return eng
	}
	return s.RawLow + (eng-s.EngLow)*(s.RawHigh-s.RawLow)/(s.EngHigh-s.EngLow)
}

// Defaults for fields a project may leave out.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultScan            = time.Second
	DefaultModbusTimeout   = time.Second
	DefaultOPCUATimeout    = 2 * time.Second
	DefaultModbusPort      = 502
	DefaultLoopPeriod      = time.Second
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
	DefaultROCWindow       = 10 * time.Second // rate-of-change alarms
	DefaultMaxShelve       = 8 * time.Hour    // the longest an alarm may be shelved
	minPeriod              = 10 * time.Millisecond
)

// document reads the one YAML document of data and returns its top node
// and a decoder for it; what names the file in messages ("the file is
// empty", "the display file is empty").
func document(file string, data []byte, what string) (*yaml.Node, *decoder, error) {
	// A field takes about a line: sizing the positions by the lines saves
	// growing a map of 500,000 entries step by step for 100,000 tags.
	d := &decoder{file: file, pos: make(positions, bytes.Count(data, []byte{'\n'})), names: map[string]string{}, failed: map[string]bool{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, Errors{{File: file, Msg: "the " + what + " is empty"}}
		}
		return nil, nil, Errors{syntaxError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, Errors{{File: file, Line: extra.Line, Col: extra.Column, Msg: "only one YAML document is allowed (remove \"---\")"}}
	}
	if len(root.Content) == 0 {
		return nil, nil, Errors{{File: file, Msg: "the " + what + " is empty"}}
	}
	return root.Content[0], d, nil
}
