package opcua

import (
	"testing"

	"github.com/edgehmi/edgehmi/backend/config"
)

// ownAddresses checks this driver's addresses and lets the others pass.
type ownAddresses struct{}

func (ownAddresses) Names() []string { return []string{config.DriverModbusTCP, config.DriverOPCUA} }

func (ownAddresses) CheckAddress(drv, addr, typ string) error {
	if drv != Name {
		return nil
	}
	return CheckAddress(addr, typ)
}

func TestDemoProjectAddresses(t *testing.T) {
	p, err := config.Load("../../../examples/demo.yaml", ownAddresses{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tag := range p.Tags {
		if dev, ok := p.Device(tag.Device); ok && dev.Driver == Name {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no opcua tags in the demo project")
	}
	for _, dev := range p.Devices {
		if dev.Driver != Name {
			continue
		}
		d, err := New(dev)
		if err != nil {
			t.Fatalf("New(%s): %v", dev.Name, err)
		}
		if d.endpoint != "opc.tcp://127.0.0.1:4840" || d.timeout.String() != "2s" || d.scan.String() != "200ms" {
			t.Errorf("device %s: endpoint %s timeout %v scan %v", dev.Name, d.endpoint, d.timeout, d.scan)
		}
	}
}
