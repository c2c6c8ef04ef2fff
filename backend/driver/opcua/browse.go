package opcua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/config"
)

// DefaultBrowseRoot is where Browse starts by default: the Objects folder.
const DefaultBrowseRoot = "i=85"

// maxBrowseNodes bounds one Browse, so a huge address space cannot take
// all memory; a tree cut short says so in Node.Truncated.
const maxBrowseNodes = 50000

// Node is one node of a server's address space, as Browse finds it.
type Node struct {
	// NodeID is the node id in the driver's address syntax
	// ("ns=2;s=TIC101.PV").
	NodeID      string `json:"node_id"`
	BrowseName  string `json:"browse_name"`
	DisplayName string `json:"display_name"`
	// NodeClass is Object, Variable, Method, ObjectType, VariableType,
	// ReferenceType, DataType or View.
	NodeClass string `json:"node_class"`
	// Variables only: the data type's name ("Double"), whether the value
	// is an array (and its length if the server says), and the access the
	// session's user has: "r", "w", "rw" or "" (none).
	DataType    string `json:"data_type,omitempty"`
	Array       bool   `json:"array,omitempty"`
	ArrayLength int    `json:"array_length,omitempty"`
	Access      string `json:"access,omitempty"`
	// Tag is a suggested tag for a variable of a type the driver reads
	// (nil otherwise): name from the browse path, address, type and
	// writable; its Device is empty, for the caller to fill in. An array
	// is suggested as its element 0.
	Tag *config.Tag `json:"tag,omitempty"`
	// Children are the nodes below (hierarchical references), to the
	// requested depth.
	Children []*Node `json:"children,omitempty"`
	// HasChildren is set by BrowseChildren on the children it lists that
	// have nodes below them.
	HasChildren bool `json:"has_children,omitempty"`
	// Truncated is set on the root when the tree was cut short at
	// maxBrowseNodes nodes.
	Truncated bool `json:"truncated,omitempty"`
}

// Walk calls f for n and every node below it, depth first, with its depth
// (0 for n).
func (n *Node) Walk(f func(n *Node, depth int)) {
	var walk func(*Node, int)
	walk = func(n *Node, d int) {
		f(n, d)
		for _, c := range n.Children {
			walk(c, d+1)
		}
	}
	walk(n, 0)
}

// Browse walks a server's address space from root (a node id in the
// driver's address syntax, "" for the Objects folder) along hierarchical
// references, depth levels down (0: the root alone), and describes every
// node: ids, names, class, and for variables data type, array-ness,
// access level and a suggested tag. c is a connected client (see Dial).
func Browse(ctx context.Context, c *opcua.Client, root string, depth int) (*Node, error) {
	return browseTree(ctx, c, root, depth, false)
}

// BrowseChildren is Browse one level down, with each child marked by
// whether it has nodes below it (Node.HasChildren): what a tree that
// expands one node at a time needs. The marks cost one browse request per
// child, without reading the grandchildren's attributes.
func BrowseChildren(ctx context.Context, c *opcua.Client, root string) (*Node, error) {
	return browseTree(ctx, c, root, 1, true)
}

// browseTree is Browse; mark sets HasChildren on the deepest level's nodes.
func browseTree(ctx context.Context, c *opcua.Client, root string, depth int, mark bool) (*Node, error) {
	if root == "" {
		root = DefaultBrowseRoot
	}
	a, err := parseAddress(root)
	if err != nil {
		return nil, err
	}
	if a.element >= 0 {
		return nil, fmt.Errorf("browse %s: a node id, not an array element", root)
	}
	rootID, err := a.resolve(c.Namespaces())
	if err != nil {
		return nil, fmt.Errorf("browse %s: %w", root, err)
	}
	b := &browser{c: c, types: map[string]string{}, seen: map[string]bool{}}
	top := &Node{NodeID: rootID.String()}
	if err := b.describeRoot(ctx, rootID, top); err != nil {
		return nil, err
	}
	b.seen[top.NodeID] = true
	level := []*Node{top}
	paths := map[*Node]string{top: ""}
	for d := 0; d < depth && len(level) > 0; d++ {
		var next []*Node
		for _, n := range level {
			refs, err := b.children(ctx, n.NodeID)
			if err != nil {
				return nil, fmt.Errorf("browse %s: %w", n.NodeID, err)
			}
			for _, r := range refs {
				if !local(r) {
					continue // on another server
				}
				child := &Node{NodeID: r.NodeID.NodeID.String(), NodeClass: className(r.NodeClass)}
				if r.BrowseName != nil {
					child.BrowseName = r.BrowseName.Name
				}
				if r.DisplayName != nil {
					child.DisplayName = r.DisplayName.Text
				}
				if b.seen[child.NodeID] {
					continue
				}
				if len(b.seen) >= maxBrowseNodes {
					top.Truncated = true
					break
				}
				b.seen[child.NodeID] = true
				n.Children = append(n.Children, child)
				paths[child] = joinPath(paths[n], n.BrowseName, child.BrowseName)
				next = append(next, child)
			}
		}
		if err := b.describeVariables(ctx, next, paths); err != nil {
			return nil, err
		}
		level = next
	}
	if mark {
		for _, n := range level {
			refs, err := b.children(ctx, n.NodeID)
			if err != nil {
				return nil, fmt.Errorf("browse %s: %w", n.NodeID, err)
			}
			n.HasChildren = slices.ContainsFunc(refs, local)
		}
	}
	return top, nil
}

// local reports whether a reference leads to a node of this server.
func local(r *ua.ReferenceDescription) bool {
	return r.NodeID != nil && !r.NodeID.HasServerIndex() && r.NodeID.NodeID != nil
}

// joinPath appends a child's browse name to its parent's path. A child
// named after its parent ("TIC101.PV" in "TIC101") replaces the parent's
// name instead of repeating it.
func joinPath(parentPath, parentName, name string) string {
	switch {
	case parentPath == "":
		return name
	case parentName != "" && strings.HasPrefix(name, parentName+".") && strings.HasSuffix(parentPath, parentName):
		return parentPath[:len(parentPath)-len(parentName)] + name
	}
	return parentPath + "." + name
}

type browser struct {
	c     *opcua.Client
	types map[string]string // data type node id -> name
	seen  map[string]bool
}

// describeRoot reads the root's names and class (and, for a variable, its
// value attributes).
func (b *browser) describeRoot(ctx context.Context, nid *ua.NodeID, n *Node) error {
	res, err := b.read(ctx, []*ua.ReadValueID{
		{NodeID: nid, AttributeID: ua.AttributeIDBrowseName},
		{NodeID: nid, AttributeID: ua.AttributeIDDisplayName},
		{NodeID: nid, AttributeID: ua.AttributeIDNodeClass},
	})
	if err != nil {
		return fmt.Errorf("browse %s: %w", n.NodeID, err)
	}
	if res[0].Status != ua.StatusOK {
		return fmt.Errorf("browse %s: %s", n.NodeID, refusal(res[0].Status))
	}
	if q, ok := value(res[0]).(*ua.QualifiedName); ok && q != nil {
		n.BrowseName = q.Name
	}
	if t, ok := value(res[1]).(*ua.LocalizedText); ok && t != nil {
		n.DisplayName = t.Text
	}
	if c, ok := value(res[2]).(int32); ok {
		n.NodeClass = className(ua.NodeClass(c))
	}
	return b.describeVariables(ctx, []*Node{n}, map[*Node]string{n: n.BrowseName})
}

func value(dv *ua.DataValue) any {
	if dv == nil || dv.Value == nil {
		return nil
	}
	return dv.Value.Value()
}

// children returns the forward hierarchical references of a node,
// following continuation points.
func (b *browser) children(ctx context.Context, nodeID string) ([]*ua.ReferenceDescription, error) {
	nid, err := ua.ParseNodeID(nodeID)
	if err != nil {
		return nil, err
	}
	res, err := b.c.Browse(ctx, &ua.BrowseRequest{
		View: &ua.ViewDescription{ViewID: ua.NewTwoByteNodeID(0)},
		NodesToBrowse: []*ua.BrowseDescription{{
			NodeID:          nid,
			BrowseDirection: ua.BrowseDirectionForward,
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
			IncludeSubtypes: true,
			ResultMask:      uint32(ua.BrowseResultMaskAll),
		}},
	})
	if err != nil {
		return nil, err
	}
	if len(res.Results) != 1 {
		return nil, fmt.Errorf("server answered %d browse results for 1 node", len(res.Results))
	}
	r := res.Results[0]
	if uint32(r.StatusCode)>>30 != 0 {
		return nil, errors.New(refusal(r.StatusCode))
	}
	refs := r.References
	for cp := r.ContinuationPoint; len(cp) > 0 && len(refs) < maxBrowseNodes; {
		nres, err := b.c.BrowseNext(ctx, &ua.BrowseNextRequest{ContinuationPoints: [][]byte{cp}})
		if err != nil {
			return nil, err
		}
		if len(nres.Results) != 1 || uint32(nres.Results[0].StatusCode)>>30 != 0 {
			break
		}
		refs = append(refs, nres.Results[0].References...)
		cp = nres.Results[0].ContinuationPoint
	}
	return refs, nil
}

// read reads attributes in requests of at most perCall.
func (b *browser) read(ctx context.Context, ids []*ua.ReadValueID) ([]*ua.DataValue, error) {
	out := make([]*ua.DataValue, 0, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), perCall)]
		ids = ids[len(batch):]
		res, err := b.c.Read(ctx, &ua.ReadRequest{NodesToRead: batch, TimestampsToReturn: ua.TimestampsToReturnNeither})
		if err != nil {
			return nil, err
		}
		if len(res.Results) != len(batch) {
			return nil, fmt.Errorf("server answered %d values for %d attributes", len(res.Results), len(batch))
		}
		out = append(out, res.Results...)
	}
	return out, nil
}

// describeVariables reads the data type, value rank, array dimensions and
// user access level of the variables among ns, and suggests their tags.
func (b *browser) describeVariables(ctx context.Context, ns []*Node, paths map[*Node]string) error {
	var vars []*Node
	var ids []*ua.ReadValueID
	for _, n := range ns {
		if n.NodeClass != "Variable" {
			continue
		}
		nid, err := ua.ParseNodeID(n.NodeID)
		if err != nil {
			continue
		}
		vars = append(vars, n)
		for _, attr := range []ua.AttributeID{ua.AttributeIDDataType, ua.AttributeIDValueRank, ua.AttributeIDArrayDimensions, ua.AttributeIDUserAccessLevel} {
			ids = append(ids, &ua.ReadValueID{NodeID: nid, AttributeID: attr})
		}
	}
	if len(vars) == 0 {
		return nil
	}
	res, err := b.read(ctx, ids)
	if err != nil {
		return fmt.Errorf("browse: read variable attributes: %w", err)
	}
	for i, n := range vars {
		dt, rank, dims, access := res[4*i], res[4*i+1], res[4*i+2], res[4*i+3]
		if t, ok := value(dt).(*ua.NodeID); ok && t != nil {
			n.DataType = b.typeName(ctx, t)
		}
		if r, ok := value(rank).(int32); ok && r >= 0 {
			n.Array = true
			if d, ok := value(dims).([]uint32); ok && len(d) == 1 {
				n.ArrayLength = int(d[0])
			}
		}
		if al, ok := value(access).(uint8); ok {
			if al&uint8(ua.AccessLevelTypeCurrentRead) != 0 {
				n.Access += "r"
			}
			if al&uint8(ua.AccessLevelTypeCurrentWrite) != 0 {
				n.Access += "w"
			}
		}
		n.Tag = suggestTag(n, paths[n])
	}
	return nil
}

// builtinTypes names the data types of namespace 0 that tags use, by id,
// with the tag type they read as.
var builtinTypes = map[uint32]struct{ name, tag string }{
	id.Boolean: {"Boolean", "bool"}, id.SByte: {"SByte", "sbyte"}, id.Byte: {"Byte", "byte"},
	id.Int16: {"Int16", "int16"}, id.UInt16: {"UInt16", "uint16"}, id.Int32: {"Int32", "int32"},
	id.UInt32: {"UInt32", "uint32"}, id.Int64: {"Int64", "int64"}, id.UInt64: {"UInt64", "uint64"},
	id.Float: {"Float", "float"}, id.Double: {"Double", "double"}, id.String: {"String", "string"},
	id.DateTime: {"DateTime", "datetime"}, id.LocalizedText: {"LocalizedText", "string"},
	id.Duration: {"Duration", "double"}, id.UtcTime: {"UtcTime", "datetime"}, id.LocaleID: {"LocaleId", "string"},
	id.Enumeration: {"Enumeration", "int32"}, id.Integer: {"Integer", "int64"}, id.UInteger: {"UInteger", "uint64"},
	id.Number: {"Number", "double"}, id.GUID: {"Guid", ""}, id.ByteString: {"ByteString", ""},
	id.NodeID: {"NodeId", ""}, id.StatusCode: {"StatusCode", ""}, id.QualifiedName: {"QualifiedName", ""},
	id.Structure: {"Structure", ""}, id.BaseDataType: {"BaseDataType", ""}, id.XMLElement: {"XmlElement", ""},
}

// typeName names a data type: a built-in one by its name, any other by its
// browse name (read once per type).
func (b *browser) typeName(ctx context.Context, t *ua.NodeID) string {
	if t.Namespace() == 0 && t.Type() != ua.NodeIDTypeString {
		if bt, ok := builtinTypes[t.IntID()]; ok {
			return bt.name
		}
	}
	key := t.String()
	if name, ok := b.types[key]; ok {
		return name
	}
	name := key
	if res, err := b.read(ctx, []*ua.ReadValueID{{NodeID: t, AttributeID: ua.AttributeIDBrowseName}}); err == nil {
		if q, ok := value(res[0]).(*ua.QualifiedName); ok && q != nil && q.Name != "" {
			name = q.Name
		}
	}
	b.types[key] = name
	return name
}

// tagType is the tag type a data type name reads as ("" if none).
func tagType(dataType string) string {
	for _, bt := range builtinTypes {
		if bt.name == dataType {
			return bt.tag
		}
	}
	return ""
}

// suggestTag suggests a tag for a variable of a type the driver reads.
func suggestTag(n *Node, path string) *config.Tag {
	typ := tagType(n.DataType)
	if typ == "" || !strings.Contains(n.Access, "r") {
		return nil
	}
	addr := address{element: -1}
	var err error
	if addr.node, err = ua.ParseNodeID(n.NodeID); err != nil {
		return nil
	}
	if n.Array {
		addr.element = 0
	}
	t := &config.Tag{Name: tagName(path), Address: addr.String(), Type: typ, Writable: strings.Contains(n.Access, "w")}
	if n.DisplayName != n.BrowseName {
		t.Description = n.DisplayName
	}
	return t
}

// tagName makes a tag name of a browse path: characters a tag name may
// not hold become "_".
func tagName(path string) string {
	b := []byte(path)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			i > 0 && strings.IndexByte(".:/-", c) >= 0
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

func className(c ua.NodeClass) string {
	switch c {
	case ua.NodeClassObject:
		return "Object"
	case ua.NodeClassVariable:
		return "Variable"
	case ua.NodeClassMethod:
		return "Method"
	case ua.NodeClassObjectType:
		return "ObjectType"
	case ua.NodeClassVariableType:
		return "VariableType"
	case ua.NodeClassReferenceType:
		return "ReferenceType"
	case ua.NodeClassDataType:
		return "DataType"
	case ua.NodeClassView:
		return "View"
	}
	return fmt.Sprintf("NodeClass(%d)", c)
}
