package sparkplug

import (
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/sparkplug/spb"
)

// Namespace is the Sparkplug B topic namespace.
const Namespace = "spBv1.0"

// MessageType is the verb of a Sparkplug topic.
type MessageType string

// The message types an edge node publishes or receives.
const (
	NBirth MessageType = "NBIRTH"
	NData  MessageType = "NDATA"
	NDeath MessageType = "NDEATH"
	NCmd   MessageType = "NCMD"
	DBirth MessageType = "DBIRTH"
	DData  MessageType = "DDATA"
	DDeath MessageType = "DDEATH"
	DCmd   MessageType = "DCMD"
)

// Topic is spBv1.0/GROUP/TYPE/EDGE, or .../EDGE/DEVICE with a device.
func Topic(group string, t MessageType, edge, device string) string {
	s := Namespace + "/" + group + "/" + string(t) + "/" + edge
	if device != "" {
		s += "/" + device
	}
	return s
}

// StateTopic is the primary host application's STATE topic (Sparkplug 3.0).
func StateTopic(host string) string { return Namespace + "/STATE/" + host }

// DeviceID is the Sparkplug device id of an edgehmi device: its name with
// the characters MQTT topics reserve (/ + #) replaced by _.
func DeviceID(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#':
			return '_'
		}
		return r
	}, name)
}

// Sparkplug data types (Payload.Metric.datatype).
const (
	TypeInt32    uint32 = 3
	TypeInt64    uint32 = 4
	TypeDouble   uint32 = 10
	TypeBoolean  uint32 = 11
	TypeString   uint32 = 12
	TypeDateTime uint32 = 13
)

// Names of the node's own metrics.
const (
	MetricBdSeq   = "bdSeq"
	MetricRebirth = "Node Control/Rebirth"
	// PropQuality is the metric property that carries a value's quality
	// (Int32, the OPC DA codes of QualityCode).
	PropQuality = "Quality"
)

// Aliases: the node's rebirth control has AliasRebirth; tag i of the tag
// database has AliasBase+i, stable as long as the project is.
const (
	AliasRebirth uint64 = 1
	AliasBase    uint64 = 16
)

// QualityCode is the OPC DA quality code Sparkplug consumers (Ignition
// among them) read from the "Quality" property: 192 good, 64 uncertain,
// 0 bad.
func QualityCode(q hmi.Quality) int32 {
	switch q {
	case hmi.Good:
		return 192
	case hmi.Uncertain:
		return 64
	default:
		return 0
	}
}

// QualityOf is the inverse of QualityCode: codes are classified by their
// top two bits as OPC DA does.
func QualityOf(code int32) hmi.Quality {
	switch code & 0xC0 {
	case 0xC0:
		return hmi.Good
	case 0x40:
		return hmi.Uncertain
	default:
		return hmi.Bad
	}
}

// DataType is the Sparkplug type of a tag of edgehmi type typ (the
// config's tag types): Boolean, String, DateTime (ms), Int64 for integer
// types without scaling, Double for the rest.
func DataType(typ string, scaled bool) uint32 {
	switch strings.ToLower(typ) {
	case "bool":
		return TypeBoolean
	case "string":
		return TypeString
	case "datetime":
		return TypeDateTime
	case "sbyte", "byte", "int16", "uint16", "int32", "uint32", "int64", "uint64":
		if !scaled {
			return TypeInt64
		}
	}
	return TypeDouble
}

// metricValue fills m's value from v as datatype dt; a sample without a
// value (or a number that dt cannot hold) is null.
func metricValue(m *spb.Payload_Metric, dt uint32, v hmi.Value) {
	if v.IsZero() {
		m.IsNull = proto.Bool(true)
		return
	}
	switch dt {
	case TypeBoolean:
		m.Value = &spb.Payload_Metric_BooleanValue{BooleanValue: v.Truth()}
	case TypeString:
		m.Value = &spb.Payload_Metric_StringValue{StringValue: v.Text()}
	case TypeInt64, TypeDateTime:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) || f < math.MinInt64 || f >= math.MaxInt64 {
			m.IsNull = proto.Bool(true)
			return
		}
		m.Value = &spb.Payload_Metric_LongValue{LongValue: uint64(int64(math.Round(f)))}
	default:
		f := v.Float()
		if math.IsNaN(f) && v.Kind() != hmi.KindNumber {
			m.IsNull = proto.Bool(true)
			return
		}
		m.Value = &spb.Payload_Metric_DoubleValue{DoubleValue: f}
	}
}

// qualityProps is the property set with the Quality of q.
func qualityProps(q hmi.Quality) *spb.Payload_PropertySet {
	return &spb.Payload_PropertySet{
		Keys: []string{PropQuality},
		Values: []*spb.Payload_PropertyValue{{
			Type:  proto.Uint32(TypeInt32),
			Value: &spb.Payload_PropertyValue_IntValue{IntValue: uint32(QualityCode(q))},
		}},
	}
}

// ms is t in Unix milliseconds (now for a zero time).
func ms(t time.Time, now time.Time) uint64 {
	if t.IsZero() {
		t = now
	}
	return uint64(t.UnixMilli())
}

// newMetric is a tag's metric: with its name for a birth, the alias only
// for data.
func newMetric(name string, alias uint64, dt uint32, birth bool, v hmi.Value, q hmi.Quality, ts uint64) *spb.Payload_Metric {
	// The datatype goes into data messages too (the specification only
	// says they SHOULD NOT carry it): decoders such as the reference
	// sparkplug-payload read the value by it.
	m := &spb.Payload_Metric{Alias: proto.Uint64(alias), Timestamp: proto.Uint64(ts), Datatype: proto.Uint32(dt), Properties: qualityProps(q)}
	if birth {
		m.Name = proto.String(name)
	}
	metricValue(m, dt, v)
	return m
}

// bdSeqMetric is the bdSeq metric of NBIRTH and NDEATH (Int64).
func bdSeqMetric(bd uint8, ts uint64) *spb.Payload_Metric {
	return &spb.Payload_Metric{Name: proto.String(MetricBdSeq), Timestamp: proto.Uint64(ts), Datatype: proto.Uint32(TypeInt64),
		Value: &spb.Payload_Metric_LongValue{LongValue: uint64(bd)}}
}

// DeathPayload is the NDEATH payload (the MQTT will): the bdSeq of the
// session, no seq.
func DeathPayload(bd uint8, now time.Time) ([]byte, error) {
	ts := uint64(now.UnixMilli())
	b, err := proto.Marshal(&spb.Payload{Timestamp: proto.Uint64(ts), Metrics: []*spb.Payload_Metric{bdSeqMetric(bd, ts)}})
	if err != nil {
		return nil, fmt.Errorf("encode NDEATH: %w", err)
	}
	return b, nil
}

// CommandValue is the value a command metric carries, read by its
// datatype (or by its value field when it has none): booleans, strings,
// and numbers (signed integer types as two's complement).
func CommandValue(m *spb.Payload_Metric) (hmi.Value, error) {
	if m.GetIsNull() || m.Value == nil {
		return hmi.Value{}, fmt.Errorf("metric has no value")
	}
	switch x := m.Value.(type) {
	case *spb.Payload_Metric_BooleanValue:
		return hmi.Bool(x.BooleanValue), nil
	case *spb.Payload_Metric_StringValue:
		return hmi.String(x.StringValue), nil
	case *spb.Payload_Metric_FloatValue:
		return hmi.Number(float64(x.FloatValue)), nil
	case *spb.Payload_Metric_DoubleValue:
		return hmi.Number(x.DoubleValue), nil
	case *spb.Payload_Metric_IntValue:
		switch m.GetDatatype() {
		case 1: // Int8
			return hmi.Number(float64(int8(x.IntValue))), nil
		case 2: // Int16
			return hmi.Number(float64(int16(x.IntValue))), nil
		case TypeInt32:
			return hmi.Number(float64(int32(x.IntValue))), nil
		}
		return hmi.Number(float64(x.IntValue)), nil
	case *spb.Payload_Metric_LongValue:
		if m.GetDatatype() == 8 { // UInt64
			return hmi.Number(float64(x.LongValue)), nil
		}
		return hmi.Number(float64(int64(x.LongValue))), nil
	}
	return hmi.Value{}, fmt.Errorf("metric value of type %T is not supported", m.Value)
}
