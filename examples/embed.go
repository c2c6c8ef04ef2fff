// Package examples holds the example projects shipped with edgehmi.
package examples

import "embed"

// Demo is the demo project, examples/demo.yaml: the mixing line of the
// built-in simulated plant.
//
//go:embed demo.yaml
var Demo []byte

// FS holds the demo project and its display files (displays/*.yaml), as
// the project file's folder.
//
//go:embed demo.yaml displays
var FS embed.FS

// DemoFile is the name the demo project is known by in messages.
const DemoFile = "examples/demo.yaml"
