package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/driver/opcua"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// The engineer's OPC UA screens: the project's OPC UA devices, their
// servers' address spaces, and the server certificates to trust. All need
// the engineer role; trusting and rejecting are audited.

// browseTimeout bounds one browse: connecting (with security) and the
// browse requests.
const browseTimeout = 20 * time.Second

// OPCUADevice is one of the project's OPC UA devices.
type OPCUADevice struct {
	Name      string `json:"name"`
	Endpoint  string `json:"endpoint"`
	Security  string `json:"security"`
	Connected bool   `json:"connected"`
}

// BrowseNode is one node below a browsed node.
type BrowseNode struct {
	NodeID      string `json:"node_id"`
	BrowseName  string `json:"browse_name"`
	DisplayName string `json:"display_name"`
	// Class is object, variable, method, object_type, variable_type,
	// reference_type, data_type or view.
	Class       string `json:"class"`
	DataType    string `json:"data_type,omitempty"`
	Access      string `json:"access,omitempty"`
	Array       bool   `json:"array"`
	HasChildren bool   `json:"has_children"`
	// Tag is a suggested tag definition, for variables edgehmi can read.
	Tag *TagSuggestion `json:"tag,omitempty"`
}

// TagSuggestion is a tag definition for the project file.
type TagSuggestion struct {
	Name     string `json:"name"`
	Device   string `json:"device"`
	Address  string `json:"address"`
	Type     string `json:"type"`
	Writable bool   `json:"writable"`
}

// Browsed is a node and its children.
type Browsed struct {
	Device    string       `json:"device"`
	Node      string       `json:"node"`
	Children  []BrowseNode `json:"children"`
	Truncated bool         `json:"truncated,omitempty"`
}

// Certificate is a server certificate in the PKI, as clients see it.
type Certificate struct {
	Thumbprint string `json:"thumbprint"`
	Subject    string `json:"subject"`
	Device     string `json:"device,omitempty"`
	Endpoint   string `json:"endpoint,omitempty"`
	NotAfter   int64  `json:"not_after"` // Unix ms
	Status     string `json:"status"`    // trusted or rejected
}

func certificate(c opcua.Cert) Certificate {
	return Certificate{Thumbprint: c.Thumbprint, Subject: c.Subject, Device: c.Device, Endpoint: c.Endpoint,
		NotAfter: unixMilli(c.NotAfter), Status: c.Status()}
}

// opcuaDevice is a project device that speaks OPC UA.
func (s *Service) opcuaDevice(name string) (config.Device, error) {
	d, ok := s.devices[name]
	if !ok {
		return config.Device{}, errorf(CodeNotFound, nil, "there is no device %q", name)
	}
	dc := d.Config()
	if dc.Driver != opcua.Name {
		return config.Device{}, errorf(CodeInvalid, nil, "device %q is not an OPC UA device (driver %s)", name, dc.Driver)
	}
	return dc, nil
}

// OPCUADevices lists the project's OPC UA devices.
func (s *Service) OPCUADevices(who Principal) ([]OPCUADevice, error) {
	if err := require(who, hmi.RoleEngineer, "see the OPC UA devices"); err != nil {
		return nil, err
	}
	out := []OPCUADevice{}
	for name, d := range s.devices {
		dc := d.Config()
		if dc.Driver != opcua.Name {
			continue
		}
		sec := dc.Security
		if sec == "" {
			sec = opcua.SecurityNone
		}
		out = append(out, OPCUADevice{Name: name, Endpoint: dc.Endpoint, Security: sec, Connected: d.Stats().Connected})
	}
	slices.SortFunc(out, func(a, b OPCUADevice) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Browse lists the children of a node (node "": the Objects folder) of an
// OPC UA device's server, over a session of its own with the device's
// security and identity.
func (s *Service) Browse(ctx context.Context, who Principal, device, node string) (Browsed, error) {
	if err := require(who, hmi.RoleEngineer, "browse OPC UA servers"); err != nil {
		return Browsed{}, err
	}
	dc, err := s.opcuaDevice(device)
	if err != nil {
		return Browsed{}, err
	}
	if node != "" {
		if err := opcua.CheckAddress(node, "double"); err != nil {
			return Browsed{}, errorf(CodeInvalid, err, "node %q: %v", node, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, browseTimeout)
	defer cancel()
	c, err := opcua.Dial(ctx, dc, s.env)
	if err != nil {
		return Browsed{}, deviceError(device, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	root, err := opcua.BrowseChildren(ctx, c, node)
	if err != nil {
		return Browsed{}, deviceError(device, err)
	}
	out := Browsed{Device: device, Node: root.NodeID, Children: make([]BrowseNode, 0, len(root.Children)), Truncated: root.Truncated}
	for _, n := range root.Children {
		b := BrowseNode{NodeID: n.NodeID, BrowseName: n.BrowseName, DisplayName: n.DisplayName, Class: snake(n.NodeClass),
			DataType: n.DataType, Access: n.Access, Array: n.Array, HasChildren: n.HasChildren}
		if t := n.Tag; t != nil {
			b.Tag = &TagSuggestion{Name: t.Name, Device: device, Address: t.Address, Type: t.Type, Writable: t.Writable}
		}
		out.Children = append(out.Children, b)
	}
	return out, nil
}

// deviceError words a failure to reach or browse a device's server.
func deviceError(device string, err error) error {
	if errors.Is(err, opcua.ErrUntrusted) {
		return errorf(CodeUnavailable, err, "device %q: %v (trust it under Server certificates)", device, err)
	}
	if errors.Is(err, driver.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return errorf(CodeTimeout, err, "device %q did not answer: %v", device, err)
	}
	return errorf(CodeUnavailable, err, "device %q: %v", device, err)
}

// snake turns a node class name ("ObjectType") into the API's form
// ("object_type").
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Certificates lists the OPC UA server certificates met so far.
func (s *Service) Certificates(who Principal) ([]Certificate, error) {
	if err := require(who, hmi.RoleEngineer, "see OPC UA server certificates"); err != nil {
		return nil, err
	}
	certs, err := s.pki().List()
	if err != nil {
		return nil, fmt.Errorf("OPC UA certificates: %w", err)
	}
	out := make([]Certificate, len(certs))
	for i, c := range certs {
		out[i] = certificate(c)
	}
	return out, nil
}

// TrustCertificate trusts a server certificate (trust true) or rejects it
// again, and audits the decision whatever its outcome.
func (s *Service) TrustCertificate(who Principal, thumbprint string, trust bool) (Certificate, error) {
	action, from, to := "opcua.trust", "rejected", "trusted"
	if !trust {
		action, from, to = "opcua.reject", "trusted", "rejected"
	}
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "opcua certificate " + thumbprint, User: who.User, Address: who.Address,
		Action: action, Old: from, New: to}
	c, err := s.trust(who, thumbprint, trust)
	if err == nil {
		ev.Detail = fmt.Sprintf("%s (device %s, endpoint %s)", c.Subject, c.Device, c.Endpoint)
	}
	if who.User != "" { // anonymous attempts are refused before anything happens
		s.audit(ev, err)
	}
	return c, err
}

func (s *Service) trust(who Principal, thumbprint string, trust bool) (Certificate, error) {
	what := "trust OPC UA server certificates"
	if !trust {
		what = "reject OPC UA server certificates"
	}
	if err := require(who, hmi.RoleEngineer, what); err != nil {
		return Certificate{}, err
	}
	move := s.pki().Trust
	if !trust {
		move = s.pki().Reject
	}
	c, err := move(thumbprint)
	switch {
	case errors.Is(err, opcua.ErrNoCert):
		return Certificate{}, errorf(CodeNotFound, err, "%v", err)
	case errors.As(err, new(*fs.PathError)):
		return Certificate{}, fmt.Errorf("certificate %s: %w", thumbprint, err)
	case err != nil: // a thumbprint too short or matching several
		return Certificate{}, errorf(CodeInvalid, err, "%v", err)
	}
	return certificate(c), nil
}

func (s *Service) pki() *opcua.PKI { return opcua.NewPKI(opcua.PKIDir(s.env.DataDir)) }
