package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: any file gets a project or FILE:LINE:COL errors, never a
// panic; a project that parses has every default filled in.
func FuzzParse(f *testing.F) {
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(demo))
	f.Add(good)
	f.Add("devices:\n  - name: [\n")
	f.Add("version: 2\nserver: {tls: {listen: ':1', self_signed: true, cert: x}}\n")
	f.Add("tags:\n  - &a {name: x}\n  - *a\n")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("f.yaml", []byte(src), fakeDrivers{})
		if err != nil {
			es, ok := err.(Errors)
			if !ok || len(es) == 0 {
				t.Fatalf("error %T %v is not a list of positioned errors", err, err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "f.yaml:") || e.Msg == "" {
					t.Fatalf("error without file or message: %q", e.Error())
				}
			}
			return
		}
		if p.Server.Listen == "" || p.Version != 1 {
			t.Fatalf("defaults missing: %+v", p.Server)
		}
		for _, d := range p.Devices {
			if d.Scan.Duration <= 0 || d.Timeout.Duration <= 0 {
				t.Fatalf("device %q without scan or timeout", d.Name)
			}
		}
	})
}
