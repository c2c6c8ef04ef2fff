package web

import (
	"net/http"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
)

// controlRoutes adds the loop, interlock and push-button endpoints.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/tags/{name}/pulse", s.pulse)
	mux.HandleFunc("GET /api/v1/interlocks", s.interlocks)
	mux.HandleFunc("GET /api/v1/loops", s.loops)
	mux.HandleFunc("GET /api/v1/loops/{name}", s.loop)
	mux.HandleFunc("POST /api/v1/loops/{name}/mode", s.loopMode)
	mux.HandleFunc("POST /api/v1/loops/{name}/sp", s.loopSetpoint)
	mux.HandleFunc("POST /api/v1/loops/{name}/out", s.loopOutput)
	mux.HandleFunc("POST /api/v1/loops/{name}/tuning", s.loopTuning)
}

type pulseReq struct {
	MS     int    `json:"ms"`
	Reason string `json:"reason"`
}

func (s *Server) pulse(w http.ResponseWriter, r *http.Request) {
	var req pulseReq
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.MS < 0 {
		writeError(w, http.StatusBadRequest, `"ms" must be a positive number of milliseconds`)
		return
	}
	t, err := s.api.Pulse(r.Context(), s.principal(r), r.PathValue("name"), time.Duration(req.MS)*time.Millisecond, req.Reason)
	s.answer(w, r, t, err)
}

func (s *Server) interlocks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.api.Interlocks())
}

func (s *Server) loops(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.api.Loops())
}

func (s *Server) loop(w http.ResponseWriter, r *http.Request) {
	l, err := s.api.Loop(r.PathValue("name"))
	s.answer(w, r, l, err)
}

type modeReq struct {
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
}

func (s *Server) loopMode(w http.ResponseWriter, r *http.Request) {
	var req modeReq
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Mode == "" {
		writeError(w, http.StatusBadRequest, `the body needs a "mode": auto, manual or cascade`)
		return
	}
	l, err := s.api.LoopMode(s.principal(r), r.PathValue("name"), req.Mode, req.Reason)
	s.answer(w, r, l, err)
}

type valueReq struct {
	Value  *float64 `json:"value"`
	Reason string   `json:"reason"`
}

// decodeValue reads {"value": number, "reason"?}.
func (s *Server) decodeValue(w http.ResponseWriter, r *http.Request) (valueReq, bool) {
	var req valueReq
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return req, false
	}
	if req.Value == nil {
		writeError(w, http.StatusBadRequest, `the body needs a "value" (a number)`)
		return req, false
	}
	return req, true
}

func (s *Server) loopSetpoint(w http.ResponseWriter, r *http.Request) {
	if req, ok := s.decodeValue(w, r); ok {
		l, err := s.api.LoopSetpoint(r.Context(), s.principal(r), r.PathValue("name"), *req.Value, req.Reason)
		s.answer(w, r, l, err)
	}
}

func (s *Server) loopOutput(w http.ResponseWriter, r *http.Request) {
	if req, ok := s.decodeValue(w, r); ok {
		l, err := s.api.LoopOutput(r.Context(), s.principal(r), r.PathValue("name"), *req.Value, req.Reason)
		s.answer(w, r, l, err)
	}
}

type tuningReq struct {
	Kp     *float64 `json:"kp"`
	Ti     *float64 `json:"ti"`
	Td     *float64 `json:"td"`
	Reason string   `json:"reason"`
}

func (s *Server) loopTuning(w http.ResponseWriter, r *http.Request) {
	var req tuningReq
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.api.LoopTuning(s.principal(r), r.PathValue("name"), api.TuningChange{Kp: req.Kp, Ti: req.Ti, Td: req.Td}, req.Reason)
	s.answer(w, r, l, err)
}
