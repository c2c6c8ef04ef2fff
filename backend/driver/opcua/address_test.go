package opcua

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

func TestParseAddress(t *testing.T) {
	good := []struct {
		in      string
		uri     string
		node    string // the node id's String()
		element int
		out     string // String(); "" for in
	}{
		{"ns=2;s=TIC101.PV", "", "ns=2;s=TIC101.PV", -1, ""},
		{"i=2258", "", "i=2258", -1, ""},
		{"ns=0;i=2258", "", "i=2258", -1, "i=2258"},
		{"ns=3;i=70000", "", "ns=3;i=70000", -1, ""},
		{"ns=1;g=5ce9dbce-5d79-434c-9ac3-1cfba9a6e92c", "", "ns=1;g=5CE9DBCE-5D79-434C-9AC3-1CFBA9A6E92C", -1, "ns=1;g=5CE9DBCE-5D79-434C-9AC3-1CFBA9A6E92C"},
		{"b=aGVsbG8=", "", "b=aGVsbG8=", -1, ""},
		{"ns=3;b=aGVsbG8=", "", "ns=3;b=aGVsbG8=", -1, ""},
		{"s=Plain", "", "s=Plain", -1, ""},
		{"s=a;b", "", "s=a;b", -1, ""},
		{"ns=2;s=a;b", "", "ns=2;s=a;b", -1, ""},
		{"ns=2;s=Arr#3", "", "ns=2;s=Arr", 3, ""},
		{"ns=2;s=Arr#0", "", "ns=2;s=Arr", 0, ""},
		{"ns=2;i=7#12", "", "ns=2;i=7", 12, ""},
		{"ns=2;s=Batch#7#", "", "ns=2;s=Batch#7", -1, ""},
		{"ns=2;s=Batch#7#2", "", "ns=2;s=Batch#7", 2, ""},
		{"ns=2;s=Tank#A", "", "ns=2;s=Tank#A", -1, ""},
		{"ns=2;s=Tank#", "", "ns=2;s=Tank", -1, "ns=2;s=Tank"},
		{"ns=2;s=Tank##", "", "ns=2;s=Tank#", -1, ""},
		{"nsu=urn:edgehmi:test;s=TIC101.PV", "urn:edgehmi:test", "s=TIC101.PV", -1, ""},
		{"nsu=http://opcfoundation.org/UA/;i=2258", "http://opcfoundation.org/UA/", "i=2258", -1, ""},
		{"nsu=urn:a%3Bb;s=X#4", "urn:a;b", "s=X", 4, ""},
		{"nsu=urn:plant;s=a;s=b", "urn:plant", "s=a;s=b", -1, ""},
		{"nsu=urn:plant;g=5ce9dbce-5d79-434c-9ac3-1cfba9a6e92c", "urn:plant", "g=5CE9DBCE-5D79-434C-9AC3-1CFBA9A6E92C", -1, "nsu=urn:plant;g=5CE9DBCE-5D79-434C-9AC3-1CFBA9A6E92C"},
	}
	for _, g := range good {
		a, err := parseAddress(g.in)
		if err != nil {
			t.Errorf("parseAddress(%q): %v", g.in, err)
			continue
		}
		if a.uri != g.uri || a.node.String() != g.node || a.element != g.element {
			t.Errorf("parseAddress(%q) = uri %q node %s element %d, want %q %s %d", g.in, a.uri, a.node, a.element, g.uri, g.node, g.element)
		}
		want := g.out
		if want == "" {
			want = g.in
		}
		if s := a.String(); s != want {
			t.Errorf("parseAddress(%q).String() = %q, want %q", g.in, s, want)
		}
	}
	bad := []struct{ in, err string }{
		{"", "not an OPC UA node id"},
		{"TIC101.PV", `address "TIC101.PV": not an OPC UA node id`},
		{"ns=2", "not an OPC UA node id"},
		{"ns=2;x=1", "not an OPC UA node id"},
		{"ns=2;s=", "not an OPC UA node id"},
		{"i=-1", "invalid numeric id"},
		{"i=4294967296", "out of range"},
		{"ns=70000;i=1", "out of range"},
		{"ns=x;i=1", "invalid namespace"},
		{"ns=1;g=zz", "invalid guid"},
		{"ns=1;b=!!", "invalid opaque"},
		{"nsu=urn:plant", "not an OPC UA node id"},
		{"nsu=;s=X", "namespace URI"},
		{"nsu=urn:%zz;s=X", "namespace URI"},
		{"ns=2;s=Arr#99999999999", "array element 99999999999 is out of range"},
		{"#3", "not an OPC UA node id"},
	}
	for _, b := range bad {
		_, err := parseAddress(b.in)
		if err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("parseAddress(%q) = %v, want %q", b.in, err, b.err)
		}
	}
}

func TestResolve(t *testing.T) {
	ns := []string{"http://opcfoundation.org/UA/", "urn:local", "urn:plant"}
	for _, c := range []struct{ in, want string }{
		{"ns=5;s=X", "ns=5;s=X"},
		{"nsu=urn:plant;s=TIC101.PV", "ns=2;s=TIC101.PV"},
		{"nsu=urn:plant;i=7", "ns=2;i=7"},
		{"nsu=urn:local;i=70000", "ns=1;i=70000"},
		{"nsu=http://opcfoundation.org/UA/;i=2258", "i=2258"},
		{"nsu=urn:plant;g=5ce9dbce-5d79-434c-9ac3-1cfba9a6e92c", "ns=2;g=5CE9DBCE-5D79-434C-9AC3-1CFBA9A6E92C"},
		{"nsu=urn:plant;b=aGVsbG8=", "ns=2;b=aGVsbG8="},
	} {
		a, err := parseAddress(c.in)
		if err != nil {
			t.Fatal(err)
		}
		n, err := a.resolve(ns)
		if err != nil || n.String() != c.want {
			t.Errorf("resolve(%q) = %v, %v; want %s", c.in, n, err, c.want)
		}
	}
	// Many namespaces: a numeric id that was two bytes grows.
	many := make([]string, 300)
	many[299] = "urn:far"
	a, _ := parseAddress("nsu=urn:far;i=5")
	if n, err := a.resolve(many); err != nil || n.String() != "ns=299;i=5" {
		t.Errorf("resolve into ns=299: %v %v", n, err)
	}
	a, _ = parseAddress("nsu=urn:missing;s=X")
	if _, err := a.resolve(ns); err == nil || !strings.Contains(err.Error(), `namespace "urn:missing" is not on the server`) {
		t.Errorf("missing namespace: %v", err)
	}
}

func TestSpecName(t *testing.T) {
	for in, want := range map[string]string{
		"BadNodeIDUnknown":         "BadNodeIdUnknown",
		"BadTCPServerTooBusy":      "BadTcpServerTooBusy",
		"BadDiscoveryURLMissing":   "BadDiscoveryUrlMissing",
		"BadNodeIDExists":          "BadNodeIdExists",
		"GoodLocalOverride":        "GoodLocalOverride",
		"Bad":                      "Bad",
		"UncertainLastUsableValue": "UncertainLastUsableValue",
	} {
		if got := specName(in); got != want {
			t.Errorf("specName(%q) = %q, want %q", in, got, want)
		}
	}
	// No name keeps a Go initialism.
	for sc := range ua.StatusCodes {
		n := statusName(sc)
		for _, ini := range []string{"ID", "URI", "URL", "TCP"} {
			if strings.Contains(n, ini) {
				t.Errorf("statusName(0x%08X) = %q", uint32(sc), n)
			}
		}
	}
}

func TestRefusal(t *testing.T) {
	for sc, want := range map[ua.StatusCode]string{
		ua.StatusBadNodeIDUnknown:      "unknown node (BadNodeIdUnknown)",
		ua.StatusBadTypeMismatch:       "type mismatch: the node holds another data type (BadTypeMismatch)",
		ua.StatusBadOutOfRange:         "value out of range (BadOutOfRange)",
		ua.StatusBadUserAccessDenied:   "access denied for this user (BadUserAccessDenied)",
		ua.StatusBadNotWritable:        "not writable (BadNotWritable)",
		ua.StatusBadWriteNotSupported:  "not writable (BadWriteNotSupported)",
		ua.StatusBadIndexRangeNoData:   "array element out of range (BadIndexRangeNoData)",
		ua.StatusBadTimeout:            "timeout (BadTimeout)",
		ua.StatusBadDeviceFailure:      "the server cannot reach the device (BadDeviceFailure)",
		ua.StatusBadInternalError:      "BadInternalError",
		ua.StatusCode(0x80ff0000):      "0x80FF0000",
		ua.StatusBadOutOfRange | 0x400: "value out of range (BadOutOfRange)",
	} {
		if got := refusal(sc); got != want {
			t.Errorf("refusal(0x%08X) = %q, want %q", uint32(sc), got, want)
		}
	}
}

// FuzzParseAddress: parsing never panics, and an address that parses
// writes itself back as a string that parses to the same address.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"ns=2;s=TIC101.PV", "i=2258", "nsu=urn:a%3Bb;s=X#4", "ns=2;s=Batch#7#", "ns=1;g=5ce9dbce-5d79-434c-9ac3-1cfba9a6e92c",
		"b=aGVsbG8=", "ns=2;s=Tank##", "nsu=urn:plant;i=70000#0", "s=#", "ns=65535;i=4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAddress(s)
		if err != nil {
			return
		}
		if a.node == nil {
			t.Fatalf("parseAddress(%q): no node", s)
		}
		if a.uri == "" && !utf8.ValidString(a.node.StringID()) && a.node.Type() == ua.NodeIDTypeString {
			return // a string id of invalid UTF-8 need not survive a round trip
		}
		out := a.String()
		b, err := parseAddress(out)
		if err != nil {
			t.Fatalf("parseAddress(%q) = %q, which does not parse: %v", s, out, err)
		}
		if b.uri != a.uri || b.element != a.element || b.node.String() != a.node.String() || b.String() != out {
			t.Fatalf("round trip of %q: %q then %q (uri %q/%q element %d/%d)", s, out, b.String(), a.uri, b.uri, a.element, b.element)
		}
		if _, err := a.resolve([]string{"http://opcfoundation.org/UA/", a.uri}); err != nil && a.uri != "" {
			t.Fatalf("resolve(%q): %v", s, err)
		}
	})
}

// FuzzStatus: every status code maps to a quality by its severity bits,
// with a reason naming it when not Good, and to a refusal sentence.
func FuzzStatus(f *testing.F) {
	for _, sc := range []uint32{0, 0x40920000, 0x80340000, 0x80740000, 0x803c0000, 0x801f0000, 0x803b0000, 0xc0000000, 0x00960400} {
		f.Add(sc)
	}
	f.Fuzz(func(t *testing.T, code uint32) {
		sc := ua.StatusCode(code)
		q, reason := quality(sc)
		want := map[uint32]hmi.Quality{0: hmi.Good, 1: hmi.Uncertain, 2: hmi.Bad, 3: hmi.Bad}[code>>30]
		if q != want {
			t.Fatalf("quality(0x%08X) = %v, want %v", code, q, want)
		}
		if (q == hmi.Good) != (reason == "") {
			t.Fatalf("quality(0x%08X) = %v with reason %q", code, q, reason)
		}
		if q != hmi.Good && reason != statusName(sc) {
			t.Fatalf("reason %q is not the status name %q", reason, statusName(sc))
		}
		if r := refusal(sc); !strings.Contains(r, statusName(sc)) {
			t.Fatalf("refusal(0x%08X) = %q does not name %s", code, r, statusName(sc))
		}
		if statusName(sc) != statusName(sc&0xFFFF0000) {
			t.Fatalf("info bits change the name of 0x%08X", code)
		}
	})
}
