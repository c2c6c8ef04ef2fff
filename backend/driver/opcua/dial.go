package opcua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
)

// Security modes as the project file writes them.
const (
	SecurityNone           = "none"
	SecuritySign           = "sign"
	SecuritySignAndEncrypt = "sign_and_encrypt"
)

// Policies are the security policies the driver supports (gopcua v0.8.0's),
// strongest first.
var Policies = []string{"Basic256Sha256", "Aes256_Sha256_RsaPss", "Aes128_Sha256_RsaOaep", "Basic256", "Basic128Rsa15"}

// session is how to open a session with a server: the device's endpoint,
// security and identity.
type session struct {
	device   string
	endpoint string
	timeout  time.Duration
	mode     ua.MessageSecurityMode
	policy   string // short name, e.g. "Basic256Sha256"; "None" for none
	user     string
	password string
	// passwordEnv names the environment variable holding the password,
	// read at each connect.
	passwordEnv string
	dataDir     string
	// sessionTimeout is asked of the server for the session.
	sessionTimeout time.Duration
}

// newSession reads a device's settings (without I/O).
func newSession(dev config.Device, env driver.Env) (session, error) {
	s := session{device: dev.Name, endpoint: dev.Endpoint, timeout: dev.Timeout.Duration, user: dev.Username,
		password: dev.Password, passwordEnv: dev.PasswordEnv, dataDir: env.DataDir, sessionTimeout: time.Minute}
	if s.endpoint == "" {
		return session{}, errors.New("opcua: endpoint is missing (e.g. opc.tcp://192.168.0.10:4840)")
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	switch strings.ToLower(dev.Security) {
	case "", SecurityNone:
		s.mode, s.policy = ua.MessageSecurityModeNone, "None"
		if p := dev.SecurityPolicy; p != "" && p != "None" {
			return session{}, fmt.Errorf("opcua: security_policy %q needs security: sign or sign_and_encrypt", p)
		}
	case SecuritySign:
		s.mode = ua.MessageSecurityModeSign
	case SecuritySignAndEncrypt, "signandencrypt":
		s.mode = ua.MessageSecurityModeSignAndEncrypt
	default:
		return session{}, fmt.Errorf("opcua: security %q is not one of: none, sign, sign_and_encrypt", dev.Security)
	}
	if s.mode != ua.MessageSecurityModeNone {
		s.policy = dev.SecurityPolicy
		if s.policy == "" {
			s.policy = Policies[0]
		}
		if !containsFold(Policies, s.policy) {
			return session{}, fmt.Errorf("opcua: security_policy %q is not one of: %s", dev.SecurityPolicy, strings.Join(Policies, ", "))
		}
		if s.dataDir == "" {
			return session{}, fmt.Errorf("opcua: security %s needs a data directory for the client certificate", dev.Security)
		}
	}
	if (s.password != "" || s.passwordEnv != "") && s.user == "" {
		return session{}, errors.New("opcua: a password needs a username")
	}
	return s, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// modeName writes a security mode as the project file does.
func modeName(m ua.MessageSecurityMode) string {
	switch m {
	case ua.MessageSecurityModeNone:
		return SecurityNone
	case ua.MessageSecurityModeSign:
		return SecuritySign
	case ua.MessageSecurityModeSignAndEncrypt:
		return SecuritySignAndEncrypt
	}
	return strings.ToLower(m.String())
}

// policyName is a security policy URI's short name ("Basic256Sha256").
func policyName(uri string) string {
	return strings.TrimPrefix(uri, ua.SecurityPolicyURIPrefix)
}

// Dial opens a session with a device's server, with the device's security
// and identity, as the driver does: the caller owns the connected client
// and closes it (client.Close). env.DataDir holds the client certificate
// and the PKI of server certificates (see ClientIdentity and PKI); an
// unknown server certificate fails with an error wrapping ErrUntrusted.
// Dial connects to dev.Endpoint as configured, whatever host name the
// server advertises in its endpoint descriptions.
func Dial(ctx context.Context, dev config.Device, env driver.Env) (*opcua.Client, error) {
	s, err := newSession(dev, env)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("opcua %s: connect: %w", s.endpoint, err)
	}
	return c, nil
}

// dial opens a secure channel and a session, within ctx. On error nothing
// is left open.
func (s session) dial(ctx context.Context) (*opcua.Client, error) {
	opts := []opcua.Option{
		opcua.AutoReconnect(false),
		opcua.RequestTimeout(s.timeout),
		opcua.DialTimeout(s.timeout),
		opcua.SessionTimeout(s.sessionTimeout),
		opcua.ApplicationName("edgehmi"),
		opcua.ApplicationURI("urn:edgehmi:client"),
		opcua.ProductURI("urn:edgehmi"),
		opcua.SessionName("edgehmi"),
	}
	if s.mode == ua.MessageSecurityModeNone && s.user == "" {
		// Anonymous without security needs no endpoint description: with
		// no identity token configured gopcua sends an anonymous token
		// carrying the policy id the server announces in CreateSession.
		opts = append(opts, opcua.SecurityMode(ua.MessageSecurityModeNone))
	} else {
		more, err := s.secure(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, more...)
	}
	// The client dials s.endpoint, the address it was configured with;
	// endpoint descriptions only lend it their security settings.
	c, err := opcua.NewClient(s.endpoint, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		closeClient(c, s.timeout, true) // release whatever a half-done Connect left open
		return nil, s.connectError(ctx, err)
	}
	return c, nil
}

// secure picks the server's endpoint for the configured security, checks
// its certificate against the PKI, and returns the options for it.
func (s session) secure(ctx context.Context) ([]opcua.Option, error) {
	eps, err := s.endpoints(ctx)
	if err != nil {
		if timedOut(ctx, err) {
			return nil, fmt.Errorf("get endpoints: %w (%w)", driver.ErrTimeout, err)
		}
		return nil, fmt.Errorf("get endpoints: %w", err)
	}
	ep, err := s.pick(eps)
	if err != nil {
		return nil, err
	}
	token := ua.UserTokenTypeAnonymous
	if s.user != "" {
		token = ua.UserTokenTypeUserName
	}
	if !acceptsToken(ep, token) {
		return nil, fmt.Errorf("the server's %s %s endpoint accepts no %s login (it accepts: %s)",
			policyName(ep.SecurityPolicyURI), modeName(ep.SecurityMode), tokenName(token), tokenNames(ep))
	}
	var opts []opcua.Option
	if s.mode != ua.MessageSecurityModeNone {
		if _, err := NewPKI(PKIDir(s.dataDir)).Check(ep.ServerCertificate, s.device, s.endpoint); err != nil {
			return nil, err
		}
		id, err := ClientIdentity(s.dataDir)
		if err != nil {
			return nil, err
		}
		// Certificate also sets the session's application URI from the
		// certificate, as servers check.
		opts = append(opts, opcua.Certificate(id.Cert), opcua.PrivateKey(id.Key))
	}
	opts = append(opts, opcua.SecurityFromEndpoint(ep, token))
	if s.user != "" {
		pw := s.password
		if s.passwordEnv != "" {
			var ok bool
			if pw, ok = os.LookupEnv(s.passwordEnv); !ok {
				return nil, fmt.Errorf("the password of user %q is to come from the environment variable %s, which is not set", s.user, s.passwordEnv)
			}
		}
		opts = append(opts, opcua.AuthUsername(s.user, pw))
	}
	return opts, nil
}

// endpoints asks the server for its endpoint descriptions, over a
// connection to s.endpoint. A server that lists only the endpoints whose
// URL matches the one asked about (gopcua's does) answers none when it is
// reached under another address (a NAT, a proxy, an IP instead of its host
// name): then the URLs it gives for itself in FindServers are asked about,
// still over the same connection.
func (s session) endpoints(ctx context.Context) ([]*ua.EndpointDescription, error) {
	c, err := opcua.NewClient(s.endpoint, opcua.AutoReconnect(false), opcua.DialTimeout(s.timeout), opcua.RequestTimeout(s.timeout))
	if err != nil {
		return nil, err
	}
	if err := c.Dial(ctx); err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	get := func(url string) ([]*ua.EndpointDescription, error) {
		var res *ua.GetEndpointsResponse
		err := c.Send(ctx, &ua.GetEndpointsRequest{EndpointURL: url}, func(r ua.Response) error {
			v, ok := r.(*ua.GetEndpointsResponse)
			if !ok {
				return fmt.Errorf("unexpected answer %T to GetEndpoints", r)
			}
			res = v
			return nil
		})
		if err != nil {
			return nil, err
		}
		return res.Endpoints, nil
	}
	eps, err := get(s.endpoint)
	if err != nil || len(eps) > 0 {
		return eps, err
	}
	servers, err := c.FindServers(ctx)
	if err != nil {
		return nil, nil // the caller says the server announces no endpoints
	}
	for _, app := range servers.Servers {
		if app == nil {
			continue
		}
		for _, url := range app.DiscoveryURLs {
			if eps, err := get(url); err == nil && len(eps) > 0 {
				return eps, nil
			}
		}
	}
	return nil, nil
}

// pick returns the endpoint of the configured policy and mode.
func (s session) pick(eps []*ua.EndpointDescription) (*ua.EndpointDescription, error) {
	uri := ua.FormatSecurityPolicyURI(s.policy)
	var offered []string
	for _, ep := range eps {
		if ep == nil {
			continue
		}
		if strings.EqualFold(ep.SecurityPolicyURI, uri) && ep.SecurityMode == s.mode {
			return ep, nil
		}
		offered = append(offered, policyName(ep.SecurityPolicyURI)+" "+modeName(ep.SecurityMode))
	}
	if len(offered) == 0 {
		return nil, errors.New("the server announces no endpoints")
	}
	return nil, fmt.Errorf("the server offers no endpoint with security %s and policy %s (it offers: %s)",
		modeName(s.mode), s.policy, strings.Join(dedupe(offered), ", "))
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func acceptsToken(ep *ua.EndpointDescription, t ua.UserTokenType) bool {
	if len(ep.UserIdentityTokens) == 0 {
		return t == ua.UserTokenTypeAnonymous // gopcua falls back to anonymous
	}
	for _, p := range ep.UserIdentityTokens {
		if p != nil && p.TokenType == t {
			return true
		}
	}
	return false
}

func tokenName(t ua.UserTokenType) string {
	switch t {
	case ua.UserTokenTypeAnonymous:
		return "anonymous"
	case ua.UserTokenTypeUserName:
		return "user name"
	case ua.UserTokenTypeCertificate:
		return "certificate"
	}
	return "issued token"
}

func tokenNames(ep *ua.EndpointDescription) string {
	var names []string
	for _, p := range ep.UserIdentityTokens {
		if p != nil {
			names = append(names, tokenName(p.TokenType))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(dedupe(names), ", ")
}

// connectError words a failed Connect: timeouts wrap driver.ErrTimeout,
// and the server's refusals of our certificate or login say what to do.
func (s session) connectError(ctx context.Context, err error) error {
	if !errors.Is(ctx.Err(), context.Canceled) && timedOut(ctx, err) {
		return fmt.Errorf("%w (%w)", driver.ErrTimeout, err)
	}
	var sc ua.StatusCode
	if !errors.As(err, &sc) {
		return err
	}
	switch sc {
	case ua.StatusBadSecurityChecksFailed, ua.StatusBadCertificateUntrusted, ua.StatusBadCertificateInvalid,
		ua.StatusBadCertificateUseNotAllowed, ua.StatusBadCertificateURIInvalid, ua.StatusBadCertificateTimeInvalid,
		ua.StatusBadCertificateRevocationUnknown, ua.StatusBadCertificateIssuerRevocationUnknown, ua.StatusBadCertificateRevoked,
		ua.StatusBadSecurityPolicyRejected:
		if s.mode == ua.MessageSecurityModeNone {
			return fmt.Errorf("the server refused the connection: %s (%w)", statusName(sc), err)
		}
		thumb := "unknown"
		if id, ierr := ClientIdentity(s.dataDir); ierr == nil {
			thumb = id.Thumbprint()
		}
		return fmt.Errorf("the server refused edgehmi's client certificate (%s, SHA-1 thumbprint %s, in %s): trust it on the server, e.g. move it from the server's rejected certificates to its trusted ones (%w)",
			statusName(sc), thumb, Dir(s.dataDir), err)
	case ua.StatusBadUserAccessDenied, ua.StatusBadIdentityTokenInvalid, ua.StatusBadIdentityTokenRejected, ua.StatusBadUserSignatureInvalid:
		who := "an anonymous login"
		if s.user != "" {
			who = fmt.Sprintf("the user name or password of %q", s.user)
		}
		return fmt.Errorf("the server refused %s (%s) (%w)", who, statusName(sc), err)
	}
	return err
}

// closeClient closes c within timeout. When the link is already lost the
// session is detached first, so that closing does not wait on a
// CloseSession answer that will never come.
func closeClient(c *opcua.Client, timeout time.Duration, linkLost bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if linkLost {
		_, _ = c.DetachSession(ctx) // never fails
	}
	_ = c.Close(ctx) // gopcua ignores errors of the close handshake itself
}

// timedOut reports whether a call bounded by ctx failed for lack of time:
// ctx's deadline passed (the socket deadline gopcua sets from it can fire
// before ctx's own timer does) or the network timed out.
func timedOut(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
