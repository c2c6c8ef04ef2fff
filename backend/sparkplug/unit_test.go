package sparkplug

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/sparkplug/spb"
)

func TestTopics(t *testing.T) {
	if got := Topic("plant", DData, "hmi1", DeviceID("line/1+#")); got != "spBv1.0/plant/DDATA/hmi1/line_1__" {
		t.Errorf("topic %q", got)
	}
	if got := Topic("plant", NBirth, "hmi1", ""); got != "spBv1.0/plant/NBIRTH/hmi1" {
		t.Errorf("topic %q", got)
	}
	if got := StateTopic("scada"); got != "spBv1.0/STATE/scada" {
		t.Errorf("state topic %q", got)
	}
}

func TestQualityAndTypes(t *testing.T) {
	for q, code := range map[hmi.Quality]int32{hmi.Good: 192, hmi.Uncertain: 64, hmi.Bad: 0} {
		if QualityCode(q) != code || QualityOf(code) != q {
			t.Errorf("quality %s: code %d, back %s", q, QualityCode(q), QualityOf(code))
		}
	}
	if QualityOf(216) != hmi.Good || QualityOf(68) != hmi.Uncertain || QualityOf(24) != hmi.Bad {
		t.Error("OPC sub-status codes are classified by their top bits")
	}
	for _, c := range []struct {
		typ    string
		scaled bool
		want   uint32
	}{{"bool", false, TypeBoolean}, {"string", false, TypeString}, {"int16", false, TypeInt64}, {"int16", true, TypeDouble},
		{"float32", false, TypeDouble}, {"datetime", false, TypeDateTime}, {"uint64", false, TypeInt64}} {
		if got := DataType(c.typ, c.scaled); got != c.want {
			t.Errorf("DataType(%s, %v) = %d, want %d", c.typ, c.scaled, got, c.want)
		}
	}
}

// A data metric round-trips through the wire: alias, value, timestamp,
// Quality property, historical flag; null without a value.
func TestMetricEncoding(t *testing.T) {
	p := &spb.Payload{Timestamp: proto.Uint64(1), Seq: proto.Uint64(255), Metrics: []*spb.Payload_Metric{
		newMetric("a", AliasBase, TypeDouble, false, hmi.Number(-2.5), hmi.Uncertain, 1700000000123),
		newMetric("b", AliasBase+1, TypeInt64, true, hmi.Number(-3), hmi.Good, 5),
		newMetric("c", AliasBase+2, TypeBoolean, false, hmi.Value{}, hmi.Bad, 6),
	}}
	p.Metrics[0].IsHistorical = proto.Bool(true)
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q spb.Payload
	if err := proto.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	a, bm, c := q.Metrics[0], q.Metrics[1], q.Metrics[2]
	if a.Name != nil || a.GetAlias() != AliasBase || a.GetDoubleValue() != -2.5 || a.GetTimestamp() != 1700000000123 || !a.GetIsHistorical() ||
		a.GetProperties().GetKeys()[0] != PropQuality || a.GetProperties().GetValues()[0].GetIntValue() != 64 {
		t.Errorf("data metric %v", a)
	}
	if bm.GetName() != "b" || bm.GetDatatype() != TypeInt64 || int64(bm.GetLongValue()) != -3 {
		t.Errorf("birth metric %v", bm)
	}
	if !c.GetIsNull() || c.Value != nil {
		t.Errorf("a metric without a value is null: %v", c)
	}
	if q.GetSeq() != 255 {
		t.Errorf("seq %d", q.GetSeq())
	}
	// Integers out of Int64's range are null rather than wrapped.
	m := &spb.Payload_Metric{}
	metricValue(m, TypeInt64, hmi.Number(math.Inf(1)))
	if !m.GetIsNull() {
		t.Error("inf as Int64 is not null")
	}
}

func TestDeathPayload(t *testing.T) {
	b, err := DeathPayload(7, time.UnixMilli(42))
	if err != nil {
		t.Fatal(err)
	}
	var p spb.Payload
	if err := proto.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Seq != nil || len(p.Metrics) != 1 || p.Metrics[0].GetName() != MetricBdSeq || p.Metrics[0].GetLongValue() != 7 || p.Metrics[0].GetDatatype() != TypeInt64 {
		t.Errorf("NDEATH %v", &p)
	}
}

func TestCommandValue(t *testing.T) {
	for _, c := range []struct {
		m    *spb.Payload_Metric
		want hmi.Value
	}{
		{&spb.Payload_Metric{Value: &spb.Payload_Metric_BooleanValue{BooleanValue: true}}, hmi.Bool(true)},
		{&spb.Payload_Metric{Datatype: proto.Uint32(TypeInt32), Value: &spb.Payload_Metric_IntValue{IntValue: math.MaxUint32}}, hmi.Number(-1)},
		{&spb.Payload_Metric{Datatype: proto.Uint32(7), Value: &spb.Payload_Metric_IntValue{IntValue: math.MaxUint32}}, hmi.Number(math.MaxUint32)},
		{&spb.Payload_Metric{Datatype: proto.Uint32(TypeInt64), Value: &spb.Payload_Metric_LongValue{LongValue: math.MaxUint64}}, hmi.Number(-1)},
		{&spb.Payload_Metric{Value: &spb.Payload_Metric_FloatValue{FloatValue: 1.5}}, hmi.Number(1.5)},
		{&spb.Payload_Metric{Value: &spb.Payload_Metric_StringValue{StringValue: "x"}}, hmi.String("x")},
	} {
		got, err := CommandValue(c.m)
		if err != nil || got != c.want {
			t.Errorf("CommandValue(%v) = %v, %v; want %v", c.m, got, err, c.want)
		}
	}
	if _, err := CommandValue(&spb.Payload_Metric{IsNull: proto.Bool(true)}); err == nil {
		t.Error("a null command has no value")
	}
}

func TestRebirthCommand(t *testing.T) {
	yes := &spb.Payload{Metrics: []*spb.Payload_Metric{{Name: proto.String(MetricRebirth), Value: &spb.Payload_Metric_BooleanValue{BooleanValue: true}}}}
	byAlias := &spb.Payload{Metrics: []*spb.Payload_Metric{{Alias: proto.Uint64(AliasRebirth), Value: &spb.Payload_Metric_BooleanValue{BooleanValue: true}}}}
	no := &spb.Payload{Metrics: []*spb.Payload_Metric{{Name: proto.String(MetricRebirth), Value: &spb.Payload_Metric_BooleanValue{BooleanValue: false}}}}
	if !rebirth(yes) || !rebirth(byAlias) || rebirth(no) {
		t.Error("rebirth: by name true, by alias true, false")
	}
}

// Aliases: tag i has AliasBase+i; unselected tags have none; devices map
// by name with reserved characters replaced.
func TestAliases(t *testing.T) {
	cfg := testConfig("tcp://127.0.0.1:1")
	cfg.Tags = []string{"a", "c*"}
	n, err := New(context.Background(), Options{Config: cfg, Tags: testTags(), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.metrics[0].alias != AliasBase || n.metrics[1].alias != 0 || n.metrics[2].alias != AliasBase+2 {
		t.Errorf("aliases %+v", n.metrics)
	}
	if len(n.devices) != 2 || n.devices[0].id != "plc1" || n.devices[1].id != "plc_2" {
		t.Errorf("devices %+v", n.devices)
	}
	if m, ok := n.byAlias(AliasBase + 2); !ok || m.name != "c" {
		t.Error("alias lookup")
	}
	if _, ok := n.byAlias(AliasBase + 1); ok {
		t.Error("an unpublished tag has no alias")
	}
}

// The buffer keeps order, drops the oldest past its bound (pending and
// committed), survives a reopen, and keeps bdSeq.
func TestBufferBoundAndOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	b, err := OpenBuffer(ctx, path, 100)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 250 {
		b.Add(Row{Tag: "t", TS: int64(k), Kind: hmi.KindNumber, Num: float64(k), Quality: hmi.Good})
		if k%40 == 0 {
			if _, err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 100 || b.Dropped() != 150 || b.Oldest() != 150 {
		t.Fatalf("len %d dropped %d oldest %d; want 100, 150, 150", b.Len(), b.Dropped(), b.Oldest())
	}
	if err := b.SetBdSeq(ctx, 255); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if b, err = OpenBuffer(ctx, path, 100); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if bd, err := b.BdSeq(ctx); err != nil || bd != 255 {
		t.Errorf("bdSeq after reopen %d, %v", bd, err)
	}
	rows, err := b.Next(ctx, 0, 1000, nil)
	if err != nil || len(rows) != 100 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for i, r := range rows {
		if r.Num != float64(150+i) || r.Value() != hmi.Number(float64(150+i)) {
			t.Fatalf("row %d is %g, want %d (oldest dropped first, order kept)", i, r.Num, 150+i)
		}
	}
	if err := b.Delete(ctx, rows[49].ID); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 50 || b.Oldest() != 200 {
		t.Errorf("after delivering 50: len %d oldest %d", b.Len(), b.Oldest())
	}
}

func TestSeqWraps(t *testing.T) {
	s := &session{seq: 254}
	var got []uint8
	for range 3 {
		got = append(got, s.seq)
		s.seq++
	}
	if got[0] != 254 || got[1] != 255 || got[2] != 0 {
		t.Errorf("seq %v", got)
	}
}

func TestConfigPublishes(t *testing.T) {
	c := &config.Sparkplug{Tags: []string{"Line1.*", "T101"}}
	if !c.Publishes("Line1.Speed") || !c.Publishes("T101") || c.Publishes("T1010") || c.Publishes("Line2.Speed") {
		t.Error("tag selection")
	}
	if !(&config.Sparkplug{}).Publishes("x") {
		t.Error("no selection publishes every tag")
	}
}

// Changes of several devices, interleaved as they come off the change bus,
// go out one device per message, at most max metrics each, each metric's
// changes in their order. (The replay once sent one metric per message
// because it cut a message at every change of tag.)
func TestBatcherGroupsByDeviceInOrder(t *testing.T) {
	bs := batcher{max: 3}
	type in struct {
		dev  int
		name string
	}
	seq := []in{{0, "a"}, {1, "x"}, {0, "b"}, {-1, "n"}, {0, "a"}, {1, "y"}, {0, "c"}, {0, "a"}}
	for k, c := range seq {
		bs.add(c.dev, &spb.Payload_Metric{Name: proto.String(c.name), Timestamp: proto.Uint64(uint64(k))}, nil)
	}
	var got []string
	for _, b := range bs.batch {
		s := ""
		for _, m := range b.metrics {
			s += m.GetName()
		}
		got = append(got, string(rune('0'+b.dev+1))+":"+s)
	}
	want := []string{"1:aba", "2:xy", "0:n", "1:ca"}
	if len(got) != len(want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("batches %v, want %v", got, want)
		}
	}
}
