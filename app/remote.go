//go:build desktop

package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// ParseRemote checks the address of a remote edgehmi server, e.g.
// "http://10.0.0.5:8080", and returns it without a trailing slash.
func ParseRemote(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--server %q: give the server's base URL, like http://10.0.0.5:8080", s)
	}
	u.Path = trimSlash(u.Path)
	u.RawPath = ""
	return u, nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// RemoteHandler passes the window's requests (REST, /healthz) to the
// server at target. Headers go through unchanged, so the server sees the
// window's Origin (wails://wails) and its session cookie or bearer token.
func RemoteHandler(target *url.URL, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 30 * time.Second // writes wait for the PLC: the server bounds them
	return &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, r.Context().Err()) {
				return // the page gave up
			}
			log.Warn("remote server unreachable", "url", target.String(), "path", r.URL.Path, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			json.NewEncoder(w).Encode(map[string]string{
				"error": fmt.Sprintf("cannot reach the edgehmi server at %s: %v", target, err)})
		},
	}
}
