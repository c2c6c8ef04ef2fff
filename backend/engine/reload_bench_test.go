package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/edgehmi/edgehmi/backend/config"
)

// reloadProjectYAML is a project of devices×perDevice uint16 tags on Modbus
// servers at addrs; extra adds one tag to the first device.
func reloadProjectYAML(addrs []string, perDevice int, extra bool) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nname: reload-bench\nserver:\n  listen: 127.0.0.1:0\ndevices:\n")
	for d, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		fmt.Fprintf(&b, "  - name: plc%02d\n    driver: modbus-tcp\n    host: %s\n    port: %s\n    unit_id: 1\n    timeout: 1s\n    scan: 1s\n", d, host, port)
	}
	b.WriteString("tags:\n")
	for d := range addrs {
		n := perDevice
		if extra && d == 0 {
			n++
		}
		for r := range n {
			fmt.Fprintf(&b, "  - name: plc%02d.R%04d\n    device: plc%02d\n    address: HR%d\n    type: uint16\n", d, r, d, r)
		}
	}
	return []byte(b.String())
}

// BenchmarkReload10k times loading a project of 10,000 tags (10 Modbus
// devices of 1,000, polling) into a running engine, each load changing one
// device (a tag added or removed): parse and validate, build the new tag
// database, stop and start that device, rebind the other nine pollers,
// carry the values over, rebind the websocket hub, keep the version file.
func BenchmarkReload10k(b *testing.B) {
	const devices, perDevice = 10, 1000
	addrs := freeAddrs(b, devices)
	for _, a := range addrs {
		s, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + a, MaxClients: 4, Timeout: time.Minute}, &counting{})
		if err != nil || s.Start() != nil {
			b.Fatal(err)
		}
		defer s.Stop()
	}
	files := [2][]byte{reloadProjectYAML(addrs, perDevice, false), reloadProjectYAML(addrs, perDevice, true)}
	p, err := config.Parse("a.yaml", files[0], Drivers())
	if err != nil {
		b.Fatal(err)
	}
	e, err := Start(context.Background(), Options{Project: p, Source: files[0], DataDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())
	waitFor(b, 10*time.Second, "the devices to connect", func() bool {
		for _, d := range e.order {
			if !d.Stats().Connected {
				return false
			}
		}
		return true
	})
	var apply time.Duration
	n := 0
	for b.Loop() {
		res, err := e.Load(context.Background(), "b.yaml", files[(n+1)%2])
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Kept) != devices-1 || res.Tags < devices*perDevice {
			b.Fatalf("reload kept %v of %d tags", res.Kept, res.Tags)
		}
		apply += time.Duration(res.ReloadMS * float64(time.Millisecond))
		n++
	}
	b.ReportMetric(float64(apply.Microseconds())/1000/float64(n), "apply-ms/op")
	b.ReportMetric(float64(len(files[0])>>10), "file-KiB")
}
