package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// ladder is the layering of ARCHITECTURE.md: a backend package may import
// only packages above it here, or its own children. hmi imports nothing of
// ours, and nothing in backend imports Wails.
var ladder = []string{"hmi", "config", "driver", "driver/modbus", "driver/opcua", "sim", "poll", "tags",
	"alarm", "control", "store", "auth", "api", "sparkplug/spb", "sparkplug", "web", "engine"}

const module = "github.com/edgehmi/edgehmi/"

// TestLayering fails when a forbidden import appears (go list, as
// Tailscale's deptest does).
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./backend/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		name := strings.TrimPrefix(p.ImportPath, module+"backend/")
		rank := slices.Index(ladder, name)
		if rank < 0 {
			t.Errorf("package %s is not on the ladder of ARCHITECTURE.md: add it to the test and the document", name)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"backend/")
			if strings.HasPrefix(dep, name+"/") {
				continue // own child
			}
			if r := slices.Index(ladder, dep); r < 0 || r >= rank {
				t.Errorf("%s imports %s, which is not above it", name, dep)
			}
		}
		for _, d := range p.Deps {
			if strings.Contains(d, "wailsapp") {
				t.Errorf("%s depends on %s: nothing in backend may use Wails", name, d)
			}
		}
	}
	if seen < len(ladder) {
		t.Errorf("go list found %d packages, fewer than the ladder's %d", seen, len(ladder))
	}
}
