package sim

import (
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
)

// OPC UA address space of the plant.
const (
	// OPCUANamespace is the namespace index of the plant's nodes.
	OPCUANamespace = 2
	// OPCUANamespaceURI is the URI of namespace 2.
	OPCUANamespaceURI = "urn:edgehmi:sim:plant"
	// opcuaLocalNamespaceURI fills namespace 1 (the server's own namespace)
	// so that the plant namespace lands on index 2.
	opcuaLocalNamespaceURI = "urn:edgehmi:sim"

	// String identifiers of the nodes in namespace 2.
	NodeTIC101    = "TIC101"     // folder (Object) under Objects
	NodeTIC101PV  = "TIC101.PV"  // Double, read-only, °C
	NodeTIC101SP  = "TIC101.SP"  // Double, read/write, °C
	NodeTIC101OUT = "TIC101.OUT" // Double, read/write, %
)

// uaVar is one Double variable of the plant namespace.
type uaVar struct {
	id    *ua.NodeID
	name  string
	desc  string
	read  func(State) float64
	write func(*Plant, float64) // nil: read-only
	node  *server.Node          // static description for the library's Browse

	// guarded by plantNS.mu
	value float64
	ts    time.Time
}

// plantNS implements server.NameSpace for namespace 2. Values are cached
// with the time they last changed (the source timestamp) and refreshed
// from the plant after every physics step and every client write.
type plantNS struct {
	srv    *server.Server
	plant  *Plant
	logger *slog.Logger
	minSI  float64 // MinimumSamplingInterval, ms

	folderID *ua.NodeID
	folder   *server.Node
	vars     []*uaVar
	byKey    map[string]*uaVar // by NodeID.String(); immutable

	mu sync.Mutex // guards uaVar.value and uaVar.ts
}

func newPlantNS(srv *server.Server, plant *Plant, logger *slog.Logger, step time.Duration) *plantNS {
	ns := &plantNS{
		srv:      srv,
		plant:    plant,
		logger:   logger,
		minSI:    float64(step) / float64(time.Millisecond),
		folderID: ua.NewStringNodeID(OPCUANamespace, NodeTIC101),
		byKey:    map[string]*uaVar{},
	}
	ns.folder = server.NewNode(ns.folderID, server.Attributes{
		ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassObject)),
		ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: OPCUANamespace, Name: NodeTIC101}),
		ua.AttributeIDDisplayName: server.DataValueFromValue(ua.NewLocalizedText(NodeTIC101)),
	}, server.References{typeDefRef(id.FolderType, ua.NodeClassObjectType, "FolderType")}, nil)

	add := func(name, desc string, read func(State) float64, write func(*Plant, float64)) {
		nid := ua.NewStringNodeID(OPCUANamespace, name)
		v := &uaVar{id: nid, name: name, desc: desc, read: read, write: write}
		v.node = server.NewNode(nid, server.Attributes{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassVariable)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: OPCUANamespace, Name: name}),
			ua.AttributeIDDisplayName: server.DataValueFromValue(ua.NewLocalizedText(name)),
		}, server.References{typeDefRef(id.BaseDataVariableType, ua.NodeClassVariableType, "BaseDataVariableType")}, nil)
		ns.vars = append(ns.vars, v)
		ns.byKey[nid.String()] = v
	}
	add(NodeTIC101PV, "Mixer temperature, °C",
		func(s State) float64 { return s.PV }, nil)
	add(NodeTIC101SP, "Mixer temperature setpoint, °C",
		func(s State) float64 { return s.SP }, (*Plant).SetHeaterSP)
	add(NodeTIC101OUT, "Heater output, % (0..100)",
		func(s State) float64 { return s.OUT }, (*Plant).SetHeaterOut)

	now := time.Now()
	st := plant.Snapshot()
	for _, v := range ns.vars {
		v.value, v.ts = v.read(st), now
	}
	return ns
}

func typeDefRef(typeID uint32, class ua.NodeClass, name string) *ua.ReferenceDescription {
	return &ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
		IsForward:       true,
		NodeID:          ua.NewNumericExpandedNodeID(0, typeID),
		BrowseName:      &ua.QualifiedName{Name: name},
		DisplayName:     ua.NewLocalizedText(name),
		NodeClass:       class,
		TypeDefinition:  ua.NewNumericExpandedNodeID(0, 0),
	}
}

// update refreshes the cache from the plant and notifies monitored items
// of the values that changed. now becomes their source timestamp.
func (ns *plantNS) update(now time.Time) {
	var changed []*ua.NodeID
	ns.mu.Lock()
	st := ns.plant.Snapshot()
	for _, v := range ns.vars {
		if x := v.read(st); x != v.value {
			v.value, v.ts = x, now
			changed = append(changed, v.id)
		}
	}
	ns.mu.Unlock()
	for _, nid := range changed {
		ns.notify(nid)
	}
}

// notify queues a data change for every monitored item on nid. It does what
// the library's Server.ChangeNotification does, but never blocks: when a
// subscription's queue is full (its client is not keeping up) the change is
// dropped for that subscription, rather than stalling the physics loop.
func (ns *plantNS) notify(nid *ua.NodeID) {
	mis := ns.srv.MonitoredItemService
	if mis == nil {
		return
	}
	mis.Mu.Lock()
	defer mis.Mu.Unlock()
	for _, item := range mis.Nodes[nid.String()] {
		if item == nil || item.Sub == nil || item.Req == nil || item.Req.ItemToMonitor == nil || item.Req.RequestedParameters == nil {
			continue
		}
		n := &ua.MonitoredItemNotification{
			ClientHandle: item.Req.RequestedParameters.ClientHandle,
			Value:        ns.Attribute(nid, item.Req.ItemToMonitor.AttributeID),
		}
		select {
		case item.Sub.NotifyChannel <- n:
		default:
			ns.logger.Debug("opc ua: subscription queue full, change dropped", "node", nid.String(), "subscription", item.Sub.ID)
		}
	}
}

// Name implements server.NameSpace.
func (ns *plantNS) Name() string { return OPCUANamespaceURI }

// ID implements server.NameSpace.
func (ns *plantNS) ID() uint16 { return OPCUANamespace }

// SetID implements server.NameSpace. The index is fixed; startOPCUA checks
// that the server assigned 2.
func (ns *plantNS) SetID(uint16) {}

// AddNode implements server.NameSpace. The plant's address space is fixed.
func (ns *plantNS) AddNode(n *server.Node) *server.Node { return n }

// Node implements server.NameSpace.
func (ns *plantNS) Node(nid *ua.NodeID) *server.Node {
	if nid == nil {
		return nil
	}
	key := nid.String()
	if key == ns.folderID.String() {
		return ns.folder
	}
	if v := ns.byKey[key]; v != nil {
		return v.node
	}
	return nil
}

// Objects implements server.NameSpace: the TIC101 folder.
func (ns *plantNS) Objects() *server.Node { return ns.folder }

// Root implements server.NameSpace: the TIC101 folder.
func (ns *plantNS) Root() *server.Node { return ns.folder }

func good(v any, now time.Time) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueValue | ua.DataValueServerTimestamp,
		Value:           ua.MustVariant(v),
		ServerTimestamp: now,
	}
}

func bad(code ua.StatusCode, now time.Time) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueStatusCode | ua.DataValueServerTimestamp,
		Status:          code,
		ServerTimestamp: now,
	}
}

// Attribute implements server.NameSpace (Read, and monitored items).
func (ns *plantNS) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	now := time.Now()
	if nid == nil {
		return bad(ua.StatusBadNodeIDInvalid, now)
	}
	key := nid.String()
	if key == ns.folderID.String() {
		switch attr {
		case ua.AttributeIDNodeID:
			return good(ns.folderID, now)
		case ua.AttributeIDNodeClass:
			return good(int32(ua.NodeClassObject), now)
		case ua.AttributeIDBrowseName:
			return good(&ua.QualifiedName{NamespaceIndex: OPCUANamespace, Name: NodeTIC101}, now)
		case ua.AttributeIDDisplayName:
			return good(ua.NewLocalizedText(NodeTIC101), now)
		case ua.AttributeIDDescription:
			return good(ua.NewLocalizedText("Temperature loop TIC101"), now)
		case ua.AttributeIDEventNotifier:
			return good(byte(0), now)
		case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
			return good(uint32(0), now)
		}
		return bad(ua.StatusBadAttributeIDInvalid, now)
	}
	v := ns.byKey[key]
	if v == nil {
		return bad(ua.StatusBadNodeIDUnknown, now)
	}
	switch attr {
	case ua.AttributeIDValue:
		ns.mu.Lock()
		x, ts := v.value, v.ts
		ns.mu.Unlock()
		return &ua.DataValue{
			EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
			Value:           ua.MustVariant(x),
			SourceTimestamp: ts,
			ServerTimestamp: now,
		}
	case ua.AttributeIDNodeID:
		return good(v.id, now)
	case ua.AttributeIDNodeClass:
		return good(int32(ua.NodeClassVariable), now)
	case ua.AttributeIDBrowseName:
		return good(&ua.QualifiedName{NamespaceIndex: OPCUANamespace, Name: v.name}, now)
	case ua.AttributeIDDisplayName:
		return good(ua.NewLocalizedText(v.name), now)
	case ua.AttributeIDDescription:
		return good(ua.NewLocalizedText(v.desc), now)
	case ua.AttributeIDDataType:
		return good(ua.NewNumericNodeID(0, id.Double), now)
	case ua.AttributeIDValueRank:
		return good(int32(-1), now)
	case ua.AttributeIDArrayDimensions:
		return good([]uint32{}, now)
	case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
		level := byte(ua.AccessLevelTypeCurrentRead)
		if v.write != nil {
			level |= byte(ua.AccessLevelTypeCurrentWrite)
		}
		return good(level, now)
	case ua.AttributeIDMinimumSamplingInterval:
		return good(ns.minSI, now)
	case ua.AttributeIDHistorizing:
		return good(false, now)
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		return good(uint32(0), now)
	}
	return bad(ua.StatusBadAttributeIDInvalid, now)
}

// SetAttribute implements server.NameSpace (Write). Only the Value of
// TIC101.SP and TIC101.OUT is writable; any numeric variant is accepted
// and converted to Double.
func (ns *plantNS) SetAttribute(nid *ua.NodeID, attr ua.AttributeID, dv *ua.DataValue) ua.StatusCode {
	if nid == nil {
		return ua.StatusBadNodeIDInvalid
	}
	key := nid.String()
	v := ns.byKey[key]
	if v == nil {
		if key == ns.folderID.String() {
			return ua.StatusBadNotWritable
		}
		return ua.StatusBadNodeIDUnknown
	}
	if attr != ua.AttributeIDValue || v.write == nil {
		return ua.StatusBadNotWritable
	}
	if dv == nil || dv.Value == nil {
		return ua.StatusBadTypeMismatch
	}
	x, ok := toFloat(dv.Value.Value())
	if !ok {
		return ua.StatusBadTypeMismatch
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ua.StatusBadOutOfRange
	}
	v.write(ns.plant, x)
	ns.update(time.Now())
	return ua.StatusOK
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// refMatches reports whether a reference of type ref passes a Browse filter
// on reference type want (with or without its subtypes).
func refMatches(want *ua.NodeID, subtypes bool, ref uint32) bool {
	if want == nil || (want.Namespace() == 0 && want.IntID() == 0) {
		return true
	}
	if want.Namespace() != 0 {
		return false
	}
	w := want.IntID()
	if w == ref {
		return true
	}
	if !subtypes {
		return false
	}
	switch ref {
	case id.HasComponent:
		return w == id.Aggregates || w == id.HasChild || w == id.HierarchicalReferences || w == id.References
	case id.Organizes:
		return w == id.HierarchicalReferences || w == id.References
	case id.HasTypeDefinition:
		return w == id.NonHierarchicalReferences || w == id.References
	}
	return false
}

// Browse implements server.NameSpace: Objects → TIC101 → PV, SP, OUT.
func (ns *plantNS) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	if bd == nil || bd.NodeID == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDInvalid}
	}
	type cand struct {
		refType uint32
		forward bool
		target  *ua.ReferenceDescription
	}
	var cands []cand
	key := bd.NodeID.String()
	switch v := ns.byKey[key]; {
	case key == ns.folderID.String():
		cands = append(cands, cand{id.HasTypeDefinition, true, typeDefRef(id.FolderType, ua.NodeClassObjectType, "FolderType")})
		for _, v := range ns.vars {
			cands = append(cands, cand{id.HasComponent, true, &ua.ReferenceDescription{
				NodeID:         ua.NewExpandedNodeID(v.id, "", 0),
				BrowseName:     &ua.QualifiedName{NamespaceIndex: OPCUANamespace, Name: v.name},
				DisplayName:    ua.NewLocalizedText(v.name),
				NodeClass:      ua.NodeClassVariable,
				TypeDefinition: ua.NewNumericExpandedNodeID(0, id.BaseDataVariableType),
			}})
		}
		cands = append(cands, cand{id.Organizes, false, &ua.ReferenceDescription{
			NodeID:         ua.NewNumericExpandedNodeID(0, id.ObjectsFolder),
			BrowseName:     &ua.QualifiedName{Name: "Objects"},
			DisplayName:    ua.NewLocalizedText("Objects"),
			NodeClass:      ua.NodeClassObject,
			TypeDefinition: ua.NewNumericExpandedNodeID(0, id.FolderType),
		}})
	case v != nil:
		cands = append(cands, cand{id.HasTypeDefinition, true, typeDefRef(id.BaseDataVariableType, ua.NodeClassVariableType, "BaseDataVariableType")})
		cands = append(cands, cand{id.HasComponent, false, &ua.ReferenceDescription{
			NodeID:         ua.NewExpandedNodeID(ns.folderID, "", 0),
			BrowseName:     &ua.QualifiedName{NamespaceIndex: OPCUANamespace, Name: NodeTIC101},
			DisplayName:    ua.NewLocalizedText(NodeTIC101),
			NodeClass:      ua.NodeClassObject,
			TypeDefinition: ua.NewNumericExpandedNodeID(0, id.FolderType),
		}})
	default:
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}

	refs := make([]*ua.ReferenceDescription, 0, len(cands))
	for _, c := range cands {
		switch bd.BrowseDirection {
		case ua.BrowseDirectionForward:
			if !c.forward {
				continue
			}
		case ua.BrowseDirectionInverse:
			if c.forward {
				continue
			}
		}
		if !refMatches(bd.ReferenceTypeID, bd.IncludeSubtypes, c.refType) {
			continue
		}
		if bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(c.target.NodeClass) == 0 {
			continue
		}
		r := *c.target
		r.ReferenceTypeID = ua.NewNumericNodeID(0, c.refType)
		r.IsForward = c.forward
		refs = append(refs, &r)
	}
	return &ua.BrowseResult{StatusCode: ua.StatusGood, References: refs}
}
