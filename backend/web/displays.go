package web

import (
	"net/http"

	"github.com/edgehmi/edgehmi/backend/config"
)

// maxDisplayBody bounds a saved display: 10,000 objects of JSON.
const maxDisplayBody = 8 << 20

// displayRoutes adds the display endpoints (docs/api.md).
func (s *Server) displayRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/displays", s.displays)
	mux.HandleFunc("GET /api/v1/displays/{name}", s.display)
	mux.HandleFunc("PUT /api/v1/displays/{name}", s.saveDisplay)
	mux.HandleFunc("GET /api/v1/displays/{name}/versions", s.displayVersions)
	mux.HandleFunc("POST /api/v1/displays/{name}/versions/{id}/restore", s.restoreDisplay)
}

func (s *Server) displays(w http.ResponseWriter, r *http.Request) {
	l, err := s.api.Displays(s.principal(r))
	s.answer(w, r, l, err)
}

func (s *Server) display(w http.ResponseWriter, r *http.Request) {
	d, err := s.api.Display(s.principal(r), r.PathValue("name"))
	s.answer(w, r, d, err)
}

// saveDisplayReq is the body of PUT: the display, and why.
type saveDisplayReq struct {
	Display *config.Display `json:"display"`
	Reason  string          `json:"reason"`
}

func (s *Server) saveDisplay(w http.ResponseWriter, r *http.Request) {
	var req saveDisplayReq
	if err := decodeLimit(w, r, &req, maxDisplayBody); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.api.SaveDisplay(r.Context(), s.principal(r), r.PathValue("name"), req.Display, req.Reason)
	s.answer(w, r, d, err)
}

func (s *Server) displayVersions(w http.ResponseWriter, r *http.Request) {
	v, err := s.api.DisplayVersions(s.principal(r), r.PathValue("name"))
	s.answer(w, r, v, err)
}

func (s *Server) restoreDisplay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.api.RestoreDisplay(r.Context(), s.principal(r), r.PathValue("name"), r.PathValue("id"), req.Reason)
	s.answer(w, r, d, err)
}
