package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/driver/opcua"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

const browseUsage = `usage:
  edgehmi browse ENDPOINT [--node ID] [--depth N] [--tags [--device NAME]]
                 [--security none|sign|sign_and_encrypt] [--policy POLICY]
                 [--user NAME [--password-env VAR]] [--data DIR] [--timeout D]
prints an OPC UA server's address space from a node (default the Objects
folder, i=85) as a tree of node ids, data types and access levels; --tags
prints tag definitions instead, ready to paste under tags: in a project.
The password of --user is read from stdin, or from the environment variable
named by --password-env. Secured connections use the client certificate and
the trusted server certificates of --data (see edgehmi opcua certs).
`

// browseCmd browses an OPC UA server.
func browseCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, browseUsage)
		return 2
	}
	endpoint, rest := args[0], args[1:]
	fs := newFlags("browse", stderr)
	node := fs.String("node", opcua.DefaultBrowseRoot, "node id to start at")
	depth := fs.Int("depth", 3, "levels below the node")
	emitTags := fs.Bool("tags", false, "print tag definitions (YAML) instead of the tree")
	device := fs.String("device", "opcua", "device name in the tag definitions")
	security := fs.String("security", "none", "none, sign or sign_and_encrypt")
	policy := fs.String("policy", "", "security policy (default Basic256Sha256): "+strings.Join(opcua.Policies, ", "))
	user := fs.String("user", "", "user name (the password is read from stdin)")
	passwordEnv := fs.String("password-env", "", "environment variable holding the password of --user")
	data := fs.String("data", "./data", "data directory (client certificate, trusted server certificates)")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout for connecting and for each request")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgehmi browse: unexpected %q\n\n%s", fs.Arg(0), browseUsage)
		return 2
	}
	if !strings.HasPrefix(endpoint, "opc.tcp://") {
		endpoint = "opc.tcp://" + endpoint
	}
	dev := config.Device{Name: *device, Driver: opcua.Name, Endpoint: endpoint, Security: *security, SecurityPolicy: *policy,
		Username: *user, PasswordEnv: *passwordEnv, Timeout: config.Duration{Duration: *timeout}}
	if *user != "" && *passwordEnv == "" {
		pw, err := readPassword(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "edgehmi browse: password of --user:", err)
			return 2
		}
		dev.Password = pw
	}
	c, err := opcua.Dial(ctx, dev, driver.Env{DataDir: *data})
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi browse:", err)
		return 1
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *timeout)
		defer cancel()
		c.Close(cctx)
	}()
	bctx, cancel := context.WithTimeout(ctx, 10*(*timeout))
	defer cancel()
	root, err := opcua.Browse(bctx, c, *node, *depth)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi browse:", err)
		return 1
	}
	if *emitTags {
		return printTags(root, *device, stdout, stderr)
	}
	printTree(root, stdout)
	if root.Truncated {
		fmt.Fprintln(stderr, "edgehmi browse: the tree was cut short: browse a node further down with --node")
	}
	return 0
}

// printTree prints the nodes as an indented tree, one per line, in columns:
// name, node id, class, data type, access.
func printTree(root *opcua.Node, w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var lines []struct {
		prefix string
		n      *opcua.Node
	}
	var walk func(n *opcua.Node, prefix, childPrefix string)
	walk = func(n *opcua.Node, prefix, childPrefix string) {
		lines = append(lines, struct {
			prefix string
			n      *opcua.Node
		}{prefix, n})
		for i, c := range n.Children {
			if i == len(n.Children)-1 {
				walk(c, childPrefix+"└─ ", childPrefix+"   ")
			} else {
				walk(c, childPrefix+"├─ ", childPrefix+"│  ")
			}
		}
	}
	walk(root, "", "")
	for _, l := range lines {
		n := l.n
		name := n.DisplayName
		if name == "" {
			name = n.BrowseName
		}
		typ := n.DataType
		if n.Array {
			if n.ArrayLength > 0 {
				typ += fmt.Sprintf("[%d]", n.ArrayLength)
			} else {
				typ += "[]"
			}
		}
		access := n.Access
		if n.NodeClass == "Variable" && access == "" {
			access = "-"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", l.prefix, name, n.NodeID, n.NodeClass, typ, access)
	}
	tw.Flush()
}

// printTags prints the suggested tags of the tree as YAML tag definitions.
func printTags(root *opcua.Node, device string, stdout, stderr io.Writer) int {
	var tags []config.Tag
	seen := map[string]int{}
	root.Walk(func(n *opcua.Node, _ int) {
		if n.Tag == nil {
			return
		}
		t := *n.Tag
		t.Device = device
		if k := seen[t.Name]; k > 0 { // tag names must be unique
			t.Name = fmt.Sprintf("%s_%d", t.Name, k+1)
		}
		seen[n.Tag.Name]++
		tags = append(tags, t)
	})
	if len(tags) == 0 {
		fmt.Fprintln(stderr, "edgehmi browse: no variables of a supported type below the node (try a larger --depth)")
		return 1
	}
	type yamlTag struct {
		Name        string `yaml:"name"`
		Device      string `yaml:"device"`
		Address     string `yaml:"address"`
		Type        string `yaml:"type"`
		Writable    bool   `yaml:"writable,omitempty"`
		Description string `yaml:"description,omitempty"`
	}
	out := make([]yamlTag, len(tags))
	for i, t := range tags {
		out[i] = yamlTag{t.Name, t.Device, t.Address, t.Type, t.Writable, t.Description}
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi browse:", err)
		return 1
	}
	fmt.Fprintf(stdout, "# %d tags of device %q; paste under tags: in the project\n", len(tags), device)
	for _, line := range strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n") {
		fmt.Fprint(stdout, "  "+line) // indented as under tags:
	}
	fmt.Fprintln(stdout)
	return 0
}

const opcuaUsage = `usage:
  edgehmi opcua certs [--data DIR]                      list the OPC UA server certificates met (trusted or rejected)
  edgehmi opcua trust THUMBPRINT [--user NAME] [--data DIR]     trust a rejected server certificate
  edgehmi opcua untrust THUMBPRINT [--user NAME] [--data DIR]   reject a trusted one again
  edgehmi opcua client-cert [--data DIR]                print edgehmi's client certificate (PEM), for servers to trust
THUMBPRINT is the certificate's SHA-1 in hex (at least its first 8 digits);
trust and untrust are audited as --user (default: cli:<your login>).
`

// opcuaCmd manages the OPC UA certificates of a data directory.
func opcuaCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, opcuaUsage)
		return 2
	}
	verb, rest := args[0], args[1:]
	var thumb string
	if verb == "trust" || verb == "untrust" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(stderr, "edgehmi opcua %s: give the certificate's thumbprint (see edgehmi opcua certs)\n\n%s", verb, opcuaUsage)
			return 2
		}
		thumb, rest = rest[0], rest[1:]
	}
	fs := newFlags("opcua "+verb, stderr)
	data := fs.String("data", "./data", "data directory")
	who := fs.String("user", "", "who trusts or untrusts, for the audit trail (default cli:<login>)")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgehmi opcua %s: unexpected %q\n", verb, fs.Arg(0))
		return 2
	}
	pki := opcua.NewPKI(opcua.PKIDir(*data))
	switch verb {
	case "certs":
		return listCerts(pki, stdout, stderr)
	case "client-cert":
		id, err := opcua.ClientIdentity(*data)
		if err != nil {
			fmt.Fprintln(stderr, "edgehmi opcua client-cert:", err)
			return 1
		}
		fmt.Fprintf(stderr, "edgehmi's OPC UA client certificate: SHA-1 thumbprint %s, application URI %s\n", id.Thumbprint(), id.URI)
		fmt.Fprint(stdout, id.PEM())
		return 0
	case "trust", "untrust":
		user := *who
		if user == "" {
			user = "cli:" + osUser()
		}
		var c opcua.Cert
		var err error
		if verb == "trust" {
			c, err = pki.Trust(thumb)
		} else {
			c, err = pki.Reject(thumb)
		}
		ev := hmi.Event{Kind: hmi.EventAudit, Source: "opcua-cert:" + thumb, User: user, Address: "local",
			Action: "opcua." + verb, Result: "ok"}
		if err == nil {
			ev.Source = "opcua-cert:" + c.Thumbprint
			ev.New = c.Status()
			ev.Detail = fmt.Sprintf("%s (endpoint %s, device %s, valid until %s)", c.Subject, orDash(c.Endpoint), orDash(c.Device), c.NotAfter.Format(time.DateOnly))
		}
		return auditCert(ctx, *data, ev, err, fmt.Sprintf("%s: %s (%s)", c.Status(), c.Thumbprint, c.Subject), stdout, stderr)
	default:
		fmt.Fprintf(stderr, "edgehmi opcua: unknown command %q\n\n%s", verb, opcuaUsage)
		return 2
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// auditCert audits a trust change (failed ones too) in the data
// directory's event log and reports it.
func auditCert(ctx context.Context, data string, ev hmi.Event, err error, ok string, stdout, stderr io.Writer) int {
	if err != nil {
		ev.Result = err.Error()
	}
	st, serr := store.Open(ctx, data, nil)
	if serr != nil {
		fmt.Fprintln(stderr, "edgehmi opcua: audit:", serr)
		return 1
	}
	defer st.Close()
	if aerr := st.Append(ctx, ev); aerr != nil {
		fmt.Fprintln(stderr, "edgehmi opcua: audit:", aerr)
		return 1
	}
	if err != nil {
		if errors.Is(err, opcua.ErrNoCert) {
			err = fmt.Errorf("%w (see `edgehmi opcua certs`)", err)
		}
		fmt.Fprintln(stderr, "edgehmi opcua:", err)
		return 1
	}
	fmt.Fprintln(stdout, ok)
	return 0
}

// listCerts prints the PKI's certificates as a table.
func listCerts(pki *opcua.PKI, stdout, stderr io.Writer) int {
	certs, err := pki.List()
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi opcua certs:", err)
		return 1
	}
	if len(certs) == 0 {
		fmt.Fprintf(stdout, "no OPC UA server certificates in %s yet: they are saved there when a secured device first connects\n", pki.Dir())
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tTHUMBPRINT\tSUBJECT\tNOT AFTER\tDEVICE\tENDPOINT")
	for _, c := range certs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Status(), c.Thumbprint, c.Subject, c.NotAfter.Format(time.DateOnly), orDash(c.Device), orDash(c.Endpoint))
	}
	tw.Flush()
	return 0
}
