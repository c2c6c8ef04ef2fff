package web

import (
	"net/http"
)

// The engineer's OPC UA screens (api.Service checks the role and audits).

func (s *Server) opcuaDevices(w http.ResponseWriter, r *http.Request) {
	devs, err := s.api.OPCUADevices(s.principal(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, devs)
}

func (s *Server) opcuaBrowse(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("device") == "" {
		writeError(w, http.StatusBadRequest, "name the device: ?device=NAME")
		return
	}
	res, err := s.api.Browse(r.Context(), s.principal(r), q.Get("device"), q.Get("node"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) opcuaCertificates(w http.ResponseWriter, r *http.Request) {
	certs, err := s.api.Certificates(s.principal(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, certs)
}

// opcuaTrust serves .../trust (trust true) and .../reject.
func (s *Server) opcuaTrust(trust bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct{}
		if err := decodeOptional(w, r, &body); err != nil {
			s.fail(w, r, err)
			return
		}
		c, err := s.api.TrustCertificate(s.principal(r), r.PathValue("thumbprint"), trust)
		s.answer(w, r, c, err)
	}
}
