package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Sparkplug configures the northbound MQTT Sparkplug B edge node (the
// project's top-level sparkplug section). Without the section there is no
// edge node.
type Sparkplug struct {
	// Brokers are the MQTT brokers, tried in turn: tcp://host:1883 or
	// ssl://host:8883 (also mqtt:// and mqtts://).
	Brokers []string `yaml:"brokers"`
	// ClientID is the MQTT client id (default "edgehmi-GROUP-EDGE").
	ClientID string `yaml:"client_id"`
	// GroupID and EdgeNode are the Sparkplug group and edge node ids of
	// the topics spBv1.0/GROUP/.../EDGE.
	GroupID  string `yaml:"group_id"`
	EdgeNode string `yaml:"edge_node"`
	// Username and a password: given here, or read from an environment
	// variable (PasswordEnv) or a file (PasswordFile); one of the three.
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// TLS for ssl:// brokers.
	TLS SparkplugTLS `yaml:"tls"`
	// PrimaryHost is the Sparkplug host application id whose STATE the
	// node follows: births only while it is online. "" publishes whenever
	// the broker is reachable.
	PrimaryHost string `yaml:"primary_host"`
	// Commands are the NCMD/DCMD writes (off by default).
	Commands SparkplugCommands `yaml:"commands"`
	// Buffer is the store-and-forward buffer.
	Buffer SparkplugBuffer `yaml:"buffer"`
	// PublishPeriod gathers changes this long into one NDATA/DDATA per
	// device (default 100ms; 0 in the file publishes each batch of
	// changes as it comes).
	PublishPeriod Duration `yaml:"publish_period"`
	// MaxMetrics bounds the metrics of one data message (default 500).
	MaxMetrics int `yaml:"max_metrics"`
	// QoS of the data messages (default 1: the broker acknowledges each,
	// so a message in flight when the link fails is buffered and sent
	// again; 0 is the specification's QoS and can lose those).
	QoS *int `yaml:"qos"`
	// KeepAlive is the MQTT keep-alive (default 30s); ConnectTimeout
	// bounds a connection attempt (default 10s); RetryMax is the longest
	// wait between attempts (default 30s; they start at 1s and double).
	KeepAlive      Duration `yaml:"keep_alive"`
	ConnectTimeout Duration `yaml:"connect_timeout"`
	RetryMax       Duration `yaml:"retry_max"`
	// Tags are the tags published: names, or prefixes ending in "*"
	// ("Line1.*"); none publishes every tag.
	Tags []string `yaml:"tags"`
}

// SparkplugTLS is the broker's TLS: a CA file to trust (default: the
// system's), a client certificate and key (PEM), the server name to check.
type SparkplugTLS struct {
	CA                 string `yaml:"ca"`
	Cert               string `yaml:"cert"`
	Key                string `yaml:"key"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SparkplugCommands: NCMD/DCMD writes, when enabled, are writes by User
// (default "sparkplug:HOST", HOST the primary host or the group) with Role
// (default operator), checked and audited like any write.
type SparkplugCommands struct {
	Enabled bool   `yaml:"enabled"`
	Role    string `yaml:"role"`
	User    string `yaml:"user"`
}

// SparkplugBuffer is the store-and-forward buffer: at most MaxRows
// changes (default 1,000,000; the oldest are dropped first) in the SQLite
// file Path (default DATA/sparkplug.db).
type SparkplugBuffer struct {
	MaxRows int    `yaml:"max_rows"`
	Path    string `yaml:"path"`
}

// Defaults of the sparkplug section.
const (
	DefaultSparkplugPublishPeriod = 100 * time.Millisecond
	DefaultSparkplugMaxMetrics    = 500
	DefaultSparkplugQoS           = 1
	DefaultSparkplugKeepAlive     = 30 * time.Second
	DefaultSparkplugTimeout       = 10 * time.Second
	DefaultSparkplugRetryMax      = 30 * time.Second
	DefaultSparkplugBufferRows    = 1_000_000
)

// CommandRole is the role of NCMD/DCMD writes.
func (s *Sparkplug) CommandRole() hmi.Role {
	r, err := hmi.ParseRole(s.Commands.Role)
	if err != nil {
		return hmi.RoleOperator
	}
	return r
}

// Publishes tells whether the tag named name is published.
func (s *Sparkplug) Publishes(name string) bool {
	if len(s.Tags) == 0 {
		return true
	}
	for _, t := range s.Tags {
		if prefix, ok := strings.CutSuffix(t, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if t == name {
			return true
		}
	}
	return false
}

// sparkplugID is what a Sparkplug group, edge node or host id may hold:
// no MQTT wildcards or topic separators.
func sparkplugID(s string) bool {
	return s != "" && !strings.ContainsAny(s, "/+#")
}

func (v *validator) sparkplug() {
	s := v.p.Sparkplug
	if s == nil {
		return
	}
	const at = "sparkplug"
	if len(s.Brokers) == 0 {
		v.errorf(at, "sparkplug needs brokers (e.g. [\"tcp://broker:1883\"])")
	}
	tlsBroker := false
	for i, b := range s.Brokers {
		u, err := url.Parse(b)
		path := fmt.Sprintf("%s.brokers[%d]", at, i)
		switch {
		case err != nil || u.Host == "":
			v.errorf(path, "broker %q is not a URL such as tcp://broker:1883", b)
		case u.Scheme == "tcp" || u.Scheme == "mqtt":
		case u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts":
			tlsBroker = true
		default:
			v.errorf(path, "broker %q: scheme %q is not tcp, ssl, mqtt or mqtts", b, u.Scheme)
		}
	}
	if !sparkplugID(s.GroupID) {
		v.errorf(at+".group_id", "group_id %q must be set and hold no / + #", s.GroupID)
	}
	if !sparkplugID(s.EdgeNode) {
		v.errorf(at+".edge_node", "edge_node %q must be set and hold no / + #", s.EdgeNode)
	}
	if s.PrimaryHost != "" && !sparkplugID(s.PrimaryHost) {
		v.errorf(at+".primary_host", "primary_host %q may hold no / + #", s.PrimaryHost)
	}
	if s.ClientID == "" {
		s.ClientID = "edgehmi-" + s.GroupID + "-" + s.EdgeNode
	}
	n := 0
	for _, p := range []string{s.Password, s.PasswordEnv, s.PasswordFile} {
		if p != "" {
			n++
		}
	}
	if n > 1 {
		v.errorf(at+".password", "give one of password, password_env and password_file")
	}
	if n > 0 && s.Username == "" {
		v.errorf(at+".username", "a password needs a username")
	}
	t := &s.TLS
	if (t.Cert == "") != (t.Key == "") {
		v.errorf(at+".tls", "a client certificate needs both cert and key")
	}
	if !tlsBroker && (t.CA != "" || t.Cert != "" || t.InsecureSkipVerify) {
		v.errorf(at+".tls", "tls settings need an ssl:// (or mqtts://) broker")
	}
	if s.Commands.Role == "" {
		s.Commands.Role = hmi.RoleOperator.String()
	} else if r, err := hmi.ParseRole(s.Commands.Role); err != nil || r < hmi.RoleOperator {
		v.errorf(at+".commands.role", "role %q: commands need operator, engineer or admin", s.Commands.Role)
	}
	if !v.set(at + ".buffer.max_rows") {
		s.Buffer.MaxRows = DefaultSparkplugBufferRows
	} else if s.Buffer.MaxRows < 100 {
		v.errorf(at+".buffer.max_rows", "max_rows %d is too small (at least 100)", s.Buffer.MaxRows)
	}
	if !v.set(at + ".publish_period") {
		s.PublishPeriod.Duration = DefaultSparkplugPublishPeriod
	} else if s.PublishPeriod.Duration < 0 || s.PublishPeriod.Duration > time.Minute {
		v.errorf(at+".publish_period", "publish_period %s must be between 0 and 1m", s.PublishPeriod.Duration)
	}
	v.intRange(at+".max_metrics", &s.MaxMetrics, 1, 100_000, DefaultSparkplugMaxMetrics)
	if s.QoS == nil {
		q := DefaultSparkplugQoS
		s.QoS = &q
	} else if *s.QoS != 0 && *s.QoS != 1 {
		v.errorf(at+".qos", "qos %d: data messages use 0 or 1", *s.QoS)
	}
	for _, d := range []struct {
		name string
		d    *Duration
		def  time.Duration
	}{{"keep_alive", &s.KeepAlive, DefaultSparkplugKeepAlive}, {"connect_timeout", &s.ConnectTimeout, DefaultSparkplugTimeout},
		{"retry_max", &s.RetryMax, DefaultSparkplugRetryMax}} {
		if !v.set(at + "." + d.name) {
			d.d.Duration = d.def
		} else if d.d.Duration < time.Second {
			v.errorf(at+"."+d.name, "%s %s is too short (at least 1s)", d.name, d.d.Duration)
		}
	}
	for i, name := range s.Tags {
		path := fmt.Sprintf("%s.tags[%d]", at, i)
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			if strings.Contains(prefix, "*") {
				v.errorf(path, "%q: only a trailing * is allowed", name)
			}
			continue
		}
		found := false
		for k := range v.p.Tags {
			if v.p.Tags[k].Name == name {
				found = true
				break
			}
		}
		if !found {
			v.errorf(path, "no tag %q in the project", name)
		}
	}
}
