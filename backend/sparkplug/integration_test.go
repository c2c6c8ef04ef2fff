package sparkplug

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// The integration tests run Debian's mosquitto on a loopback port and a
// subscriber that decodes payloads with npm's sparkplug-payload (the
// reference decoder). Without them the tests skip, unless
// EDGEHMI_REQUIRE_MOSQUITTO=1 (make test-go) makes that a failure.

func need(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("EDGEHMI_REQUIRE_MOSQUITTO") == "1" {
		t.Fatalf("%s (EDGEHMI_REQUIRE_MOSQUITTO=1)", what)
	}
	t.Skip(what)
}

func mosquittoPath(t testing.TB) string {
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/bin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	need(t, "mosquitto is not installed (apt-get install mosquitto)")
	return ""
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// broker is a mosquitto process on a loopback port.
type broker struct {
	t    testing.TB
	path string
	port int
	conf string // a mosquitto.conf to start with; none: plain TCP on port
	cmd  *exec.Cmd
}

func startBroker(t testing.TB, port int) *broker {
	b := &broker{t: t, path: mosquittoPath(t), port: port}
	b.start()
	t.Cleanup(b.kill)
	return b
}

func (b *broker) url() string { return "tcp://127.0.0.1:" + strconv.Itoa(b.port) }

func (b *broker) start() {
	b.t.Helper()
	b.cmd = exec.Command(b.path, "-p", strconv.Itoa(b.port))
	if b.conf != "" {
		b.cmd = exec.Command(b.path, "-c", b.conf)
	}
	b.cmd.Stdout, b.cmd.Stderr = io.Discard, io.Discard
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	waitUntil(b.t, 10*time.Second, "mosquitto listens", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// kill stops the broker at once (SIGKILL): no goodbye to its clients.
func (b *broker) kill() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
		b.cmd = nil
	}
}

// msg is one line of the subscriber.
type msg struct {
	Event    string    `json:"event"`
	Topic    string    `json:"topic"`
	Type     string    `json:"type"`
	Device   string    `json:"device"`
	Seq      *int      `json:"seq"`
	Metrics  []jMetric `json:"metrics"`
	Error    string    `json:"error"`
	received int
}

type jMetric struct {
	Name         string          `json:"name"`
	Alias        int             `json:"alias"`
	Timestamp    int64           `json:"timestamp"`
	Type         string          `json:"type"`
	Value        json.RawMessage `json:"value"`
	IsHistorical bool            `json:"isHistorical"`
	Properties   map[string]struct {
		Type  string `json:"type"`
		Value int    `json:"value"`
	} `json:"properties"`
}

// subscriber is the node.js peer.
type subscriber struct {
	mu    sync.Mutex
	msgs  []msg
	stdin io.WriteCloser
}

func startSubscriber(t *testing.T, url, host string) *subscriber {
	dir, _ := filepath.Abs("testdata/subscriber")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "sparkplug-payload")); err != nil {
		need(t, "the subscriber's npm packages are not installed (npm ci --prefix backend/sparkplug/testdata/subscriber)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need(t, "node is not installed")
	}
	args := []string{filepath.Join(dir, "subscriber.js"), "mqtt" + url[len("tcp"):]}
	if host != "" {
		args = append(args, host)
	}
	cmd := exec.Command(node, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &subscriber{}
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var m msg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("subscriber printed %q: %v", sc.Text(), err)
				continue
			}
			s.mu.Lock()
			m.received = len(s.msgs)
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		s.stdin.Close()
		timer := time.AfterFunc(5*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		timer.Stop()
		<-done
	})
	waitUntil(t, 10*time.Second, "the subscriber is ready", func() bool { return s.count("", "ready") > 0 })
	return s
}

// send asks the subscriber to publish a Sparkplug payload.
func (s *subscriber) send(t *testing.T, v any) {
	b, _ := json.Marshal(v)
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

func (s *subscriber) all() []msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]msg(nil), s.msgs...)
}

// count counts the messages of a type (or events).
func (s *subscriber) count(typ, event string) int {
	n := 0
	for _, m := range s.all() {
		if event != "" && m.Event == event || typ != "" && m.Type == typ {
			n++
		}
	}
	return n
}

func waitUntil(t testing.TB, d time.Duration, what string, f func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !f() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting until %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testTags: two metrics on device plc1, one on device "plc/2" (Sparkplug
// device plc_2).
func testTags() *tags.DB {
	return tags.New([]config.Tag{
		{Name: "a", Device: "plc1", Type: "float32", Unit: "m"},
		{Name: "b", Device: "plc1", Type: "bool", Writable: true},
		{Name: "c", Device: "plc/2", Type: "int16"},
	})
}

func testConfig(url string) *config.Sparkplug {
	q := 1
	c := &config.Sparkplug{Brokers: []string{url}, ClientID: "edgehmi-test", GroupID: "plant", EdgeNode: "hmi1", QoS: &q, MaxMetrics: 500}
	c.KeepAlive.Duration, c.ConnectTimeout.Duration, c.RetryMax.Duration = 5*time.Second, 2*time.Second, time.Second
	c.Buffer.MaxRows = 1_000_000
	c.Commands.Role = "operator"
	return c
}

// ingest sets tag i to v now and waits until the node has taken the change.
func ingest(t *testing.T, db *tags.DB, n *Node, i int, v hmi.Value) {
	t.Helper()
	before := n.seen.Load()
	db.Ingest([]driver.Reading{{Index: i, Sample: hmi.Sample{Value: v, Quality: hmi.Good, TS: time.Now()}}}, nil)
	waitUntil(t, 10*time.Second, "the node takes the change", func() bool { return n.seen.Load() > before })
}

type runNode struct {
	*Node
	stop func()
}

func start(t *testing.T, o Options) runNode {
	if o.Log == nil && !testing.Verbose() {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.DataDir == "" && o.Config.Buffer.Path == "" {
		o.DataDir = t.TempDir()
	}
	n, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return runNode{n, stop}
}

// fakeWriter records the writes commands make.
type fakeWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *fakeWriter) Write(_ context.Context, who api.Principal, name string, v hmi.Value, reason string) (api.TagView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, fmt.Sprintf("%s %s %s=%s (%s)", who.User, who.Role, name, v.Text(), reason))
	return api.TagView{}, nil
}

func (w *fakeWriter) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

type eventLog struct {
	mu  sync.Mutex
	evs []hmi.Event
}

func (l *eventLog) log(e hmi.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
}

func (l *eventLog) find(action, result string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.evs {
		if e.Action == action && (result == "" || e.Result == result) {
			n++
		}
	}
	return n
}

// TestBirthDataDeathSequence: NBIRTH (seq 0, bdSeq, rebirth control) and
// DBIRTHs with every metric's value, alias and Quality; DDATA by alias
// with seq wrapping 255 -> 0; a rebirth on NCMD; DCMD writes through the
// write path; NDEATH with the same bdSeq on a clean stop.
func TestBirthDataDeathSequence(t *testing.T) {
	b := startBroker(t, freePort(t))
	sub := startSubscriber(t, b.url(), "")
	db := testTags()
	db.Ingest([]driver.Reading{{Index: 0, Sample: hmi.Sample{Value: hmi.Number(1.5), Quality: hmi.Good, TS: time.Now()}},
		{Index: 2, Sample: hmi.Sample{Value: hmi.Number(7), Quality: hmi.Uncertain, TS: time.Now()}}}, nil)
	cfg := testConfig(b.url())
	cfg.Commands.Enabled = true
	w := &fakeWriter{}
	n := start(t, Options{Config: cfg, Tags: db, Writer: w})

	waitUntil(t, 10*time.Second, "births arrive", func() bool { return sub.count("DBIRTH", "") == 2 })
	var nbirth msg
	births := map[string]msg{}
	for _, m := range sub.all() {
		switch m.Type {
		case "NBIRTH":
			nbirth = m
		case "DBIRTH":
			births[m.Device] = m
		}
	}
	if nbirth.Topic != "spBv1.0/plant/NBIRTH/hmi1" || nbirth.Seq == nil || *nbirth.Seq != 0 {
		t.Fatalf("NBIRTH %+v", nbirth)
	}
	names := map[string]jMetric{}
	for _, m := range nbirth.Metrics {
		names[m.Name] = m
	}
	if bd, ok := names["bdSeq"]; !ok || string(bd.Value) != "0" || bd.Type != "Int64" {
		t.Errorf("NBIRTH bdSeq %+v", names["bdSeq"])
	}
	if r, ok := names["Node Control/Rebirth"]; !ok || string(r.Value) != "false" || r.Type != "Boolean" {
		t.Errorf("NBIRTH rebirth control %+v", r)
	}
	d1, d2 := births["plc1"], births["plc_2"]
	if len(d1.Metrics) != 2 || len(d2.Metrics) != 1 || *d1.Seq+*d2.Seq != 3 {
		t.Fatalf("DBIRTHs plc1 %+v plc_2 %+v", d1, d2)
	}
	a, c := d1.Metrics[0], d2.Metrics[0]
	if a.Name != "a" || a.Alias != int(AliasBase) || a.Type != "Double" || string(a.Value) != "1.5" || a.Properties["Quality"].Value != 192 {
		t.Errorf("DBIRTH metric a %+v", a)
	}
	if c.Name != "c" || c.Alias != int(AliasBase)+2 || c.Type != "Int64" || string(c.Value) != "7" || c.Properties["Quality"].Value != 64 {
		t.Errorf("DBIRTH metric c %+v", c)
	}
	if bm := d1.Metrics[1]; bm.Name != "b" || string(bm.Value) != "null" || bm.Properties["Quality"].Value != 0 {
		t.Errorf("DBIRTH metric b (never read) %+v", bm)
	}

	// 300 changes: one DDATA each (publish period 0), seq on from the
	// births and wrapping past 255.
	for k := range 300 {
		ingest(t, db, n.Node, 0, hmi.Number(float64(k+10)))
	}
	waitUntil(t, 10*time.Second, "300 DDATA arrive", func() bool { return sub.count("DDATA", "") == 300 })
	want := 3
	k := 10
	for _, m := range sub.all() {
		if m.Type != "DDATA" {
			continue
		}
		if *m.Seq != want%256 {
			t.Fatalf("DDATA seq %d, want %d", *m.Seq, want%256)
		}
		want++
		if len(m.Metrics) != 1 || m.Metrics[0].Name != "" || m.Metrics[0].Alias != int(AliasBase) || string(m.Metrics[0].Value) != strconv.Itoa(k) || m.Metrics[0].IsHistorical {
			t.Fatalf("DDATA %d: %+v", k, m.Metrics)
		}
		k++
	}

	// Rebirth on NCMD Node Control/Rebirth.
	sub.send(t, map[string]any{"topic": "spBv1.0/plant/NCMD/hmi1", "metrics": []any{map[string]any{"name": "Node Control/Rebirth", "type": "Boolean", "value": true}}})
	waitUntil(t, 10*time.Second, "a second NBIRTH", func() bool { return sub.count("NBIRTH", "") == 2 && sub.count("DBIRTH", "") == 4 })
	for _, m := range sub.all() {
		if m.Type == "NBIRTH" && (*m.Seq != 0 || string(m.Metrics[0].Value) != "0") {
			t.Errorf("rebirth NBIRTH seq %d bdSeq %s, want 0 and the same bdSeq 0", *m.Seq, m.Metrics[0].Value)
		}
	}
	if got := n.Status().Births; got != 2 {
		t.Errorf("births %d, want 2", got)
	}

	// DCMD to b on plc1 (by alias, as hosts send them) goes to the write
	// path; a metric of another device is refused.
	sub.send(t, map[string]any{"topic": "spBv1.0/plant/DCMD/hmi1/plc1", "metrics": []any{map[string]any{"alias": AliasBase + 1, "type": "Boolean", "value": true}}})
	sub.send(t, map[string]any{"topic": "spBv1.0/plant/DCMD/hmi1/plc1", "metrics": []any{map[string]any{"name": "c", "type": "Int16", "value": 3}}})
	waitUntil(t, 10*time.Second, "the command is written", func() bool { return len(w.list()) == 1 && n.Status().CommandsFail == 1 })
	if got := w.list()[0]; got != "sparkplug:plant operator b=true (Sparkplug DCMD)" {
		t.Errorf("write %q", got)
	}

	n.stop()
	waitUntil(t, 10*time.Second, "NDEATH", func() bool { return sub.count("NDEATH", "") == 1 })
	for _, m := range sub.all() {
		if m.Type == "NDEATH" && (len(m.Metrics) != 1 || m.Metrics[0].Name != "bdSeq" || string(m.Metrics[0].Value) != "0") {
			t.Errorf("NDEATH %+v", m)
		}
	}
}

// TestCommandsDisabled: with commands off (the default), a DCMD writes
// nothing and is audited as refused.
func TestCommandsDisabled(t *testing.T) {
	b := startBroker(t, freePort(t))
	sub := startSubscriber(t, b.url(), "")
	w, ev := &fakeWriter{}, &eventLog{}
	n := start(t, Options{Config: testConfig(b.url()), Tags: testTags(), Writer: w, Event: ev.log})
	waitUntil(t, 10*time.Second, "births", func() bool { return sub.count("DBIRTH", "") == 2 })
	sub.send(t, map[string]any{"topic": "spBv1.0/plant/DCMD/hmi1/plc1", "metrics": []any{map[string]any{"name": "b", "type": "Boolean", "value": true}}})
	waitUntil(t, 10*time.Second, "the refusal is audited", func() bool { return ev.find("write", "") == 1 })
	if len(w.list()) != 0 || n.Status().CommandsFail != 1 {
		t.Errorf("writes %v, refused %d", w.list(), n.Status().CommandsFail)
	}
}

// values collects, per alias, the values of the data messages in order,
// and whether each was historical.
func values(msgs []msg) map[int][]jMetric {
	out := map[int][]jMetric{}
	for _, m := range msgs {
		if m.Type == "DDATA" || m.Type == "NDATA" {
			for _, x := range m.Metrics {
				out[x.Alias] = append(out[x.Alias], x)
			}
		}
	}
	return out
}

// TestBrokerKilledMidStream: the broker is killed while changes stream
// and restarted; the node follows its primary host's STATE, births again
// once the host is back, replays what it buffered as historical, then
// goes live: every change arrives exactly once, in order per metric.
func TestBrokerKilledMidStream(t *testing.T) {
	b := startBroker(t, freePort(t))
	sub := startSubscriber(t, b.url(), "scada")
	db := testTags()
	cfg := testConfig(b.url())
	cfg.PrimaryHost = "scada"
	cfg.PublishPeriod.Duration = 20 * time.Millisecond
	n := start(t, Options{Config: cfg, Tags: db})
	waitUntil(t, 10*time.Second, "births", func() bool { return sub.count("DBIRTH", "") == 2 })

	var sent [2][]int
	next := 0
	change := func(count int) {
		for range count {
			next++
			tag := []int{0, 2}[next%2]
			ingest(t, db, n.Node, tag, hmi.Number(float64(next)))
			sent[next%2] = append(sent[next%2], next)
			time.Sleep(2 * time.Millisecond) // the pace of a plant, not an assertion
		}
	}
	change(100)
	b.kill()
	change(150)
	waitUntil(t, 10*time.Second, "changes are buffered", func() bool { return n.Status().BufferRows > 0 })
	if n.Status().Connected {
		t.Error("connected while the broker is down")
	}
	b.start()
	change(100)
	waitUntil(t, 30*time.Second, "every change arrives", func() bool {
		v := values(sub.all())
		return len(v[int(AliasBase)])+len(v[int(AliasBase)+2]) >= len(sent[0])+len(sent[1])
	})
	change(50) // live again
	waitUntil(t, 10*time.Second, "the last changes arrive", func() bool {
		v := values(sub.all())
		return len(v[int(AliasBase)])+len(v[int(AliasBase)+2]) >= len(sent[0])+len(sent[1])
	})
	v := values(sub.all())
	hist := 0
	for k, alias := range []int{int(AliasBase), int(AliasBase) + 2} {
		got := v[alias]
		if len(got) != len(sent[k]) {
			t.Errorf("alias %d: %d values arrived, %d sent", alias, len(got), len(sent[k]))
		}
		for i := range min(len(got), len(sent[k])) {
			if string(got[i].Value) != strconv.Itoa(sent[k][i]) {
				t.Fatalf("alias %d value %d is %s, want %d (exactly once, in order)", alias, i, got[i].Value, sent[k][i])
			}
			if got[i].IsHistorical {
				hist++
			} else if sent[k][i] > 100 && sent[k][i] <= 250 {
				t.Errorf("value %d, changed while the broker was down, is not historical", sent[k][i])
			}
		}
		if last := got[len(got)-1]; last.IsHistorical {
			t.Errorf("alias %d: the last value, sent live, is historical", alias)
		}
	}
	if hist < 150 {
		t.Errorf("%d historical values, want at least the 150 changed while the broker was down", hist)
	}
	// After the restart: NBIRTH with the next bdSeq, historical data after the births.
	var bd []string
	for _, m := range sub.all() {
		if m.Type == "NBIRTH" {
			bd = append(bd, string(m.Metrics[0].Value))
		}
	}
	if len(bd) < 2 || bd[0] == bd[len(bd)-1] {
		t.Errorf("NBIRTH bdSeqs %v: want a new one after the reconnect", bd)
	}
	st := n.Status()
	if st.BufferRows != 0 || st.Replayed < 150 || st.State != StateOnline {
		t.Errorf("status after the replay: %+v", st)
	}
}

// TestBufferBound: with the broker away, a node buffering 300 changes in
// a buffer of 100 drops the oldest 200 (counted, one event); when the
// broker comes, exactly the newest 100 arrive, historical, in order.
func TestBufferBound(t *testing.T) {
	port := freePort(t)
	url := "tcp://127.0.0.1:" + strconv.Itoa(port)
	db := testTags()
	cfg := testConfig(url)
	cfg.Buffer.MaxRows = 100
	cfg.PrimaryHost = "scada"
	ev := &eventLog{}
	n := start(t, Options{Config: cfg, Tags: db, Event: ev.log})
	for k := range 300 {
		ingest(t, db, n.Node, 0, hmi.Number(float64(k)))
	}
	waitUntil(t, 10*time.Second, "the buffer is trimmed", func() bool { st := n.Status(); return st.BufferDropped == 200 && st.BufferRows == 100 })
	if st := n.Status(); st.BufferRows != 100 || ev.find("buffer.drop", "dropping") != 1 {
		t.Fatalf("buffer rows %d dropped %d, drop events %d", st.BufferRows, st.BufferDropped, ev.find("buffer.drop", ""))
	}
	b := startBroker(t, port)
	sub := startSubscriber(t, b.url(), "scada") // the node births once its primary host is online
	waitUntil(t, 20*time.Second, "the buffer is delivered", func() bool { return len(values(sub.all())[int(AliasBase)]) >= 100 })
	got := values(sub.all())[int(AliasBase)]
	if len(got) != 100 {
		t.Fatalf("%d values arrived, want the newest 100", len(got))
	}
	for i, m := range got {
		if string(m.Value) != strconv.Itoa(200+i) || !m.IsHistorical {
			t.Fatalf("value %d: %s historical %v, want %d historical", i, m.Value, m.IsHistorical, 200+i)
		}
	}
	waitUntil(t, 10*time.Second, "the buffer is empty", func() bool { return n.Status().BufferRows == 0 })
}
