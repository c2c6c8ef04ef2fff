// Package web is edgehmi's HTTP server: the REST API of API.md, the
// websocket hub, Prometheus metrics and the embedded frontend. Handlers
// decode and encode; every decision is made in backend/api.
package web

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "edgehmi_session"

// DesktopOrigin is the origin of pages in the Wails desktop window. It is
// trusted exactly; nothing broader is.
const DesktopOrigin = "wails://wails"

// maxBody bounds request bodies; maxAckBody the body of "acknowledge all
// visible", which names up to api.MaxAckNames alarms.
const (
	maxBody    = 64 << 10
	maxAckBody = 2 << 20
)

// Health reports whether the engine runs; nil means healthy.
type Health func() []string

// Metrics writes extra Prometheus lines (devices, store) to w.
type Metrics func(w io.Writer)

// Server is the HTTP side of edgehmi.
type Server struct {
	api     *api.Service
	hub     *Hub
	log     *slog.Logger
	health  Health
	metrics Metrics
	secure  bool // served over TLS: cookies are Secure
	north   func() any

	upgrader websocket.Upgrader
	csrf     *http.CrossOriginProtection
	handler  http.Handler
}

// Options configure a Server.
type Options struct {
	Static  fs.FS // the built frontend (index.html at its root); nil serves none
	Log     *slog.Logger
	Health  Health
	Metrics Metrics
	Secure  bool
	// Northbound reports the Sparkplug B edge node's status
	// (GET /api/v1/northbound); nil answers {"state":"disabled"}.
	Northbound func() any
}

// New builds the server's handler.
func New(svc *api.Service, hub *Hub, o Options) *Server {
	s := &Server{api: svc, hub: hub, log: o.Log, health: o.Health, metrics: o.Metrics, secure: o.Secure, north: o.Northbound}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.csrf = http.NewCrossOriginProtection()
	if err := s.csrf.AddTrustedOrigin(DesktopOrigin); err != nil {
		panic(err) // a constant: cannot fail
	}
	s.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	s.upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, CheckOrigin: sameOrigin}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /api/v1/info", s.info)
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("GET /api/v1/me", s.me)
	mux.HandleFunc("GET /api/v1/tags", s.tags)
	mux.HandleFunc("GET /api/v1/tags/{name}", s.tag)
	mux.HandleFunc("POST /api/v1/tags/{name}/write", s.write)
	s.controlRoutes(mux) // loops, interlocks, push buttons (control.go)
	s.displayRoutes(mux) // displays: list, open, save, versions (displays.go)
	mux.HandleFunc("GET /api/v1/alarms", s.alarms)
	mux.HandleFunc("GET /api/v1/alarms/history", s.alarmHistory)
	mux.HandleFunc("GET /api/v1/alarms/kpi", s.alarmKPI)
	mux.HandleFunc("POST /api/v1/alarms/ack", s.ackAlarms)
	mux.HandleFunc("POST /api/v1/alarms/silence", s.silenceHorn)
	mux.HandleFunc("POST /api/v1/alarms/{name}/ack", s.ackAlarm)
	mux.HandleFunc("POST /api/v1/alarms/{name}/shelve", s.shelveAlarm)
	mux.HandleFunc("POST /api/v1/alarms/{name}/unshelve", s.unshelveAlarm)
	mux.HandleFunc("POST /api/v1/alarms/{name}/reset", s.resetAlarm)
	mux.HandleFunc("POST /api/v1/alarms/{name}/out-of-service", s.removeAlarmFromService)
	mux.HandleFunc("POST /api/v1/alarms/{name}/return-to-service", s.returnAlarmToService)
	mux.HandleFunc("GET /api/v1/events", s.events)
	mux.HandleFunc("GET /api/v1/history", s.history)
	mux.HandleFunc("GET /api/v1/history/export", s.historyExport)
	mux.HandleFunc("GET /api/v1/devices", s.devices)
	mux.HandleFunc("GET /api/v1/northbound", s.northbound)
	mux.HandleFunc("GET /api/v1/opcua/devices", s.opcuaDevices)
	mux.HandleFunc("GET /api/v1/opcua/browse", s.opcuaBrowse)
	mux.HandleFunc("GET /api/v1/opcua/certificates", s.opcuaCertificates)
	mux.HandleFunc("POST /api/v1/opcua/certificates/{thumbprint}/trust", s.opcuaTrust(true))
	mux.HandleFunc("POST /api/v1/opcua/certificates/{thumbprint}/reject", s.opcuaTrust(false))
	mux.HandleFunc("GET /api/v1/project", s.project)
	mux.HandleFunc("POST /api/v1/project", s.loadProject)
	mux.HandleFunc("GET /api/v1/project/versions", s.projectVersions)
	mux.HandleFunc("POST /api/v1/project/versions/{id}/restore", s.restoreProject)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path))
	})
	if o.Static != nil {
		mux.Handle("/", spa(o.Static))
	}
	s.handler = securityHeaders(o.Secure, s.csrf.Handler(mux))
	return s
}

// Handler is the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for the handler with timeouts set.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// RedirectToHTTPS answers every request on the plain HTTP address with a
// permanent redirect to the same path on httpsAddr's port.
func RedirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		target := "https://" + net.JoinHostPort(host, httpsPort) + r.URL.RequestURI()
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}

// sameOrigin accepts a websocket upgrade from a page of this server (Origin
// host equals Host), from the desktop window, or from a non-browser client
// that sends no Origin.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == DesktopOrigin {
		return true
	}
	o, ok := strings.CutPrefix(origin, "http://")
	if !ok {
		o, ok = strings.CutPrefix(origin, "https://")
	}
	return ok && strings.EqualFold(o, r.Host)
}

func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// spa serves the frontend's files, and index.html for any other path so
// the page's own routes survive a reload.
func spa(static fs.FS) http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		if p != "" {
			if _, err := fs.Stat(static, p); err == nil {
				if strings.HasPrefix(p, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		index, err := fs.ReadFile(static, "index.html")
		if err != nil {
			http.Error(w, "the frontend is not built: run `make build`", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(index)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// status maps an API error code to its HTTP status.
func status(c api.Code) int {
	switch c {
	case api.CodeInvalid:
		return http.StatusBadRequest
	case api.CodeUnauthenticated:
		return http.StatusUnauthorized
	case api.CodeForbidden:
		return http.StatusForbidden
	case api.CodeNotFound:
		return http.StatusNotFound
	case api.CodeConflict:
		return http.StatusConflict
	case api.CodeUnavailable:
		return http.StatusBadGateway
	case api.CodeTimeout:
		return http.StatusGatewayTimeout
	case api.CodeTooMany:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := api.CodeOf(err)
	if code == api.CodeInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status(code), err.Error())
}

// decodeOptional is decode for bodies whose fields are all optional: an
// empty body leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	err := decode(w, r, v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// decode reads a JSON body strictly into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeLimit(w, r, v, maxBody)
}

// decodeLimit reads a JSON body of at most limit bytes strictly into v.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &api.Error{Code: api.CodeInvalid, Msg: "send the body as application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &api.Error{Code: api.CodeInvalid, Msg: fmt.Sprintf("request body too large (limit %d bytes)", limit), Err: err}
		}
		return &api.Error{Code: api.CodeInvalid, Msg: "malformed JSON body: " + err.Error(), Err: err}
	}
	if dec.More() {
		return &api.Error{Code: api.CodeInvalid, Msg: "malformed JSON body: more than one value"}
	}
	return nil
}

// clientAddr is the peer's address (no proxy headers are trusted).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sessionID finds the session id in the cookie or a bearer token (the
// desktop window may not keep cookies).
func sessionID(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok
	}
	return ""
}

func (s *Server) principal(r *http.Request) api.Principal {
	who, _ := s.api.Session(r.Context(), sessionID(r), clientAddr(r))
	return who
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if reasons := s.health(); len(reasons) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reasons": reasons})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.api.Info())
}

type loginReq struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type meResp struct {
	User  string   `json:"user"`
	Role  hmi.Role `json:"role"`
	Token string   `json:"token,omitempty"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginReq
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.api.Login(r.Context(), req.User, req.Password, clientAddr(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, meResp{User: sess.User, Role: sess.Role, Token: sess.ID})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	id := sessionID(r)
	s.api.Logout(id, s.principal(r))
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]string{"status": "logged out"})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	who := s.principal(r)
	if who.User == "" {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	writeJSON(w, http.StatusOK, meResp{User: who.User, Role: who.Role})
}

func (s *Server) tags(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.api.Tags())
}

func (s *Server) tag(w http.ResponseWriter, r *http.Request) {
	t, err := s.api.Tag(r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type writeReq struct {
	Value  *hmi.Value `json:"value"`
	Reason string     `json:"reason"`
}

func (s *Server) write(w http.ResponseWriter, r *http.Request) {
	var req writeReq
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Value == nil || req.Value.IsZero() {
		writeError(w, http.StatusBadRequest, `the body needs a "value"`)
		return
	}
	t, err := s.api.Write(r.Context(), s.principal(r), r.PathValue("name"), *req.Value, req.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) alarms(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.api.Alarms(r.URL.Query().Get("all") == "1"))
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.api.Devices())
}

func (s *Server) northbound(w http.ResponseWriter, r *http.Request) {
	if s.north == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "state": "disabled"})
		return
	}
	writeJSON(w, http.StatusOK, s.north())
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var eq store.EventQuery
	var err error
	if eq.From, err = parseTime(q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	if eq.To, err = parseTime(q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	if l := q.Get("limit"); l != "" {
		if eq.Limit, err = strconv.Atoi(l); err != nil || eq.Limit < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive whole number")
			return
		}
	}
	switch k := hmi.EventKind(q.Get("kind")); k {
	case "", hmi.EventSystem, hmi.EventDevice, hmi.EventAlarm, hmi.EventAudit:
		eq.Kind = k
	default:
		writeError(w, http.StatusBadRequest, "kind must be system, device, alarm or audit")
		return
	}
	eq.Source, eq.User, eq.Action = q.Get("source"), q.Get("user"), q.Get("action")
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, "format must be json or csv")
		return
	}
	ev, err := s.api.Events(r.Context(), s.principal(r), eq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if format == "csv" {
		writeEventsCSV(w, eq.Kind, ev)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

// writeEventsCSV answers events as a CSV file, one row per event.
func writeEventsCSV(w http.ResponseWriter, kind hmi.EventKind, ev []hmi.Event) {
	name := "events"
	if kind != "" {
		name = string(kind)
	}
	writeCSV(w, name, []string{"time", "kind", "user", "address", "action", "object", "old", "new", "readback", "reason", "result", "detail"},
		func(yield func([]string) bool) {
			for _, e := range ev {
				if !yield([]string{e.TS.UTC().Format(time.RFC3339Nano), string(e.Kind), csvSafe(e.User), csvSafe(e.Address), csvSafe(e.Action),
					csvSafe(e.Source), csvSafe(e.Old), csvSafe(e.New), csvSafe(e.Readback), csvSafe(e.Reason), csvSafe(e.Result), csvSafe(e.Detail)}) {
					return
				}
			}
		})
}

// writeCSV answers a CSV file named edgehmi-NAME-TIME.csv: the header,
// then the rows. Cells of free text go through csvSafe.
func writeCSV(w http.ResponseWriter, name string, header []string, rows iter.Seq[[]string]) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="edgehmi-%s-%s.csv"`, name, time.Now().UTC().Format("20060102-150405")))
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(header)
	for row := range rows {
		cw.Write(row)
	}
	cw.Flush()
}

// csvSafe defuses cells that a spreadsheet would run as a formula (an
// operator's reason is free text).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

// parseTime reads Unix milliseconds or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither Unix milliseconds nor RFC 3339", s)
	}
	return t, nil
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	newClient(s.hub, conn, s.log).serve()
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	hs := s.hub.Stats()
	fmt.Fprintf(w, "# HELP edgehmi_ws_clients Connected websocket clients.\n# TYPE edgehmi_ws_clients gauge\nedgehmi_ws_clients %d\n", hs.Clients)
	fmt.Fprintf(w, "# HELP edgehmi_ws_tag_updates_total Tag changes fanned out to clients.\n# TYPE edgehmi_ws_tag_updates_total counter\nedgehmi_ws_tag_updates_total %d\n", hs.Updates)
	fmt.Fprintf(w, "# HELP edgehmi_ws_pending Tag updates waiting in client queues.\n# TYPE edgehmi_ws_pending gauge\nedgehmi_ws_pending %d\n", hs.Pending)
	if s.metrics != nil {
		s.metrics(w)
	}
}
