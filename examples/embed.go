// Package examples holds the example projects shipped with edgehmi.
package examples

import _ "embed"

// Demo is the demo project, examples/demo.yaml: the mixing line of the
// built-in simulated plant.
//
//go:embed demo.yaml
var Demo []byte

// DemoFile is the name the demo project is known by in messages.
const DemoFile = "examples/demo.yaml"
