package engine

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestBadPVFailSafe runs the demo plant with a loop whose PV comes over
// Modbus and whose output goes out over OPC UA. Stopping the plant's Modbus
// server makes the PV Bad: the loop goes to mode failsafe and writes its
// fail-safe output to the heater; the demo's dry-run interlock, which reads
// the same tag, turns active with the tag as its reason. When Modbus comes
// back, the loop returns to auto from the fail-safe output.
func TestBadPVFailSafe(t *testing.T) {
	p := demoProject(t)
	l := p.Loops[0]
	l.Name, l.PV = "LIC101", "T101.Level" // a level controller driving the heater, for the test's sake
	l.FailSafe = config.FailSafe{Output: true, Value: 7}
	l.OutRate = 0
	l.Period.Duration = 50 * time.Millisecond
	p.Loops = []config.Loop{l}
	e, err := Start(context.Background(), Options{Project: p, DataDir: t.TempDir(), Listen: "127.0.0.1:0", Demo: true,
		Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	plant := e.Sim().Plant()
	// Hold the tank at 40 % (no inflow, no outflow).
	plant.SetValveOpen(false)
	plant.SetPumpRunning(false)
	plant.SetLevel(40)
	type loopView struct {
		Mode, Reason string
		Out          *float64
	}
	loop := func() loopView {
		var v struct {
			Mode   string   `json:"mode"`
			Reason string   `json:"reason"`
			Out    *float64 `json:"out"`
		}
		getJSON(t, e.URL()+"/api/v1/loops/LIC101", &v)
		return loopView{v.Mode, v.Reason, v.Out}
	}
	// Level 40 against a setpoint of 60: the controller drives the heater up.
	waitFor(t, 10*time.Second, "the loop in auto driving the heater", func() bool {
		v := loop()
		return v.Mode == "auto" && plant.HeaterOut() > 20
	})

	if err := e.Sim().StopModbus(); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "the fail-safe output on the heater", func() bool { return plant.HeaterOut() == 7 })
	v := loop()
	if v.Mode != "failsafe" || !strings.HasPrefix(v.Reason, "T101.Level is Bad") || v.Out == nil || *v.Out != 7 {
		t.Errorf("loop with a Bad PV: %+v, want mode failsafe, out 7, reason T101.Level is Bad", v)
	}
	t.Logf("heater at the fail-safe output %v after the Modbus server stopped", took)
	var ils []struct {
		Name   string `json:"name"`
		Active bool   `json:"active"`
		Reason string `json:"reason"`
	}
	getJSON(t, e.URL()+"/api/v1/interlocks", &ils)
	if len(ils) != 1 || !ils[0].Active || !strings.HasPrefix(ils[0].Reason, "T101.Level is Bad") {
		t.Errorf("interlocks with the level Bad: %+v, want P101.DryRun active on T101.Level is Bad", ils)
	}
	var metrics strings.Builder
	resp, err := http.Get(e.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&metrics, resp.Body)
	resp.Body.Close()
	for _, want := range []string{`edgehmi_loop_failsafe{loop="LIC101"} 1`, `edgehmi_interlock_active{interlock="P101.DryRun"} 1`, `edgehmi_loop_jitter_p99_seconds{loop="LIC101"}`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if err := e.Sim().StartModbus(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "auto again", func() bool { return loop().Mode == "auto" })
	// Bumpless: the first outputs continue from 7 (the integral moves
	// Kp·dt/Ti·e = 3·0.05/12·10 per run; the proportional part is absorbed).
	if out := plant.HeaterOut(); math.Abs(out-7) > 3 {
		t.Errorf("heater output %g right after the PV returned, want it to continue from 7", out)
	}
}
