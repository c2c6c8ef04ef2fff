package opcua

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/ua"
)

// maxElement is the largest array element an address may select.
const maxElement = 1<<31 - 1

// address is a tag address: a node id, whose namespace is an index
// ("ns=2;s=TIC101.PV") or a namespace URI resolved against the server's
// namespace array at connect ("nsu=urn:plant;s=TIC101.PV"), and optionally
// one element of an array ("ns=2;s=Temps#3").
type address struct {
	// node is the node id; with a namespace URI its namespace is 0 until
	// resolved.
	node *ua.NodeID
	// uri is the namespace URI of an nsu= address, else "".
	uri string
	// element is the selected array element, or -1 for the whole value.
	element int
}

// idTypes are the identifier types of a node id: numeric, string, GUID and
// opaque (base64 ByteString).
const idTypes = "isgb"

// parseAddress parses an address:
//
//	[ns=<index>; | nsu=<namespace URI>;] <i|s|g|b>=<identifier> [#<element>]
//
// The namespace defaults to 0. A trailing "#" and decimal digits select an
// array element (OPC UA's IndexRange "3"); a trailing lone "#" is dropped,
// so a string identifier that itself ends in "#" and digits is written with
// one more "#" ("ns=2;s=Batch#7#" is the node "Batch#7", not element 7).
// In a namespace URI, "%3B" stands for ";" and "%25" for "%".
func parseAddress(s string) (address, error) {
	a := address{element: -1}
	id := s
	if strings.HasSuffix(id, "#") {
		id = id[:len(id)-1]
	} else if i := strings.LastIndexByte(id, '#'); i >= 0 && isDigits(id[i+1:]) {
		n, err := strconv.Atoi(id[i+1:])
		if err != nil || n > maxElement {
			return address{}, fmt.Errorf("address %q: array element %s is out of range (0-%d)", s, id[i+1:], maxElement)
		}
		a.element, id = n, id[:i]
	}
	rest, ns := id, "ns=0;"
	switch {
	case strings.HasPrefix(id, "nsu="):
		end := -1
		for _, t := range idTypes {
			if k := strings.Index(id, ";"+string(t)+"="); k >= 0 && (end < 0 || k < end) {
				end = k
			}
		}
		if end < 0 {
			return address{}, notNodeID(s)
		}
		uri, err := url.PathUnescape(id[len("nsu="):end])
		if err != nil || uri == "" {
			return address{}, fmt.Errorf("address %q: namespace URI %q is not valid (escape ; as %%3B and %% as %%25)", s, id[len("nsu="):end])
		}
		a.uri, rest = uri, id[end+1:]
	case strings.HasPrefix(id, "ns="):
		i := strings.IndexByte(id, ';')
		if i < 0 {
			return address{}, notNodeID(s)
		}
		ns, rest = id[:i+1], id[i+1:]
	}
	// ua.ParseNodeID takes anything without an identifier type as a string
	// id ("TIC101.PV", "x=1", ""): insist on one, so a typo is not a
	// silently wrong node.
	if len(rest) < 3 || rest[1] != '=' || !strings.ContainsRune(idTypes, rune(rest[0])) {
		return address{}, notNodeID(s)
	}
	node, err := ua.ParseNodeID(ns + rest)
	if err != nil {
		return address{}, fmt.Errorf("address %q: not an OPC UA node id: %w", s, err)
	}
	if node.Type() == ua.NodeIDTypeByteString && node.StringID() == "" {
		return address{}, fmt.Errorf("address %q: not an OPC UA node id: empty opaque (b=) identifier", s)
	}
	a.node = node
	return a, nil
}

func notNodeID(s string) error {
	return fmt.Errorf("address %q: not an OPC UA node id (want [ns=<index>; or nsu=<namespace URI>;] then i=<number>, s=<name>, g=<guid> or b=<base64>, and #<n> for an array element, e.g. ns=2;s=TIC101.PV)", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the address in the form parseAddress reads.
func (a address) String() string {
	id := a.node.String()
	if a.uri != "" {
		// NodeID.String leaves out namespace 0.
		id = "nsu=" + strings.NewReplacer("%", "%25", ";", "%3B").Replace(a.uri) + ";" + strings.TrimPrefix(id, "ns=0;")
	}
	if a.element >= 0 {
		return id + "#" + strconv.Itoa(a.element)
	}
	if i := strings.LastIndexByte(id, '#'); i >= 0 && (i == len(id)-1 || isDigits(id[i+1:])) {
		id += "#" // keep a trailing "#" or "#<digits>" of the id itself
	}
	return id
}

// indexRange is the address's OPC UA IndexRange ("" for the whole value).
func (a address) indexRange() string {
	if a.element < 0 {
		return ""
	}
	return strconv.Itoa(a.element)
}

// resolve returns the node id in the server's numbering: an nsu= address
// takes the index of its URI in the server's namespace array.
func (a address) resolve(namespaces []string) (*ua.NodeID, error) {
	if a.uri == "" {
		return a.node, nil
	}
	for i, u := range namespaces {
		if u == a.uri {
			return withNamespace(a.node, uint16(i)), nil
		}
	}
	return nil, fmt.Errorf("namespace %q is not on the server (its namespaces: %s)", a.uri, strings.Join(namespaces, ", "))
}

// withNamespace returns a copy of id in namespace ns.
func withNamespace(id *ua.NodeID, ns uint16) *ua.NodeID {
	switch id.Type() {
	case ua.NodeIDTypeString:
		return ua.NewStringNodeID(ns, id.StringID())
	case ua.NodeIDTypeGUID:
		return ua.NewGUIDNodeID(ns, id.StringID())
	case ua.NodeIDTypeByteString:
		b, _ := base64.StdEncoding.DecodeString(id.StringID())
		return ua.NewByteStringNodeID(ns, b)
	}
	return ua.NewNumericNodeID(ns, id.IntID())
}
