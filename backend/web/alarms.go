package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/store"
)

// The alarm endpoints: operators' actions on one alarm ({name} is the
// alarm's name, percent-encoded when it holds a "/"), "acknowledge all
// visible", the horn, and the journal's history and KPIs.

type commentReq struct {
	Comment string `json:"comment"`
}

type reasonReq struct {
	Reason string `json:"reason"`
}

type ackAllReq struct {
	Names   []string `json:"names"`
	Comment string   `json:"comment"`
}

type shelveReq struct {
	Minutes float64 `json:"minutes"`
	OneShot bool    `json:"one_shot"`
	Reason  string  `json:"reason"`
}

// answer writes v, or the error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) ackAlarm(w http.ResponseWriter, r *http.Request) {
	var req commentReq
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.api.AckAlarm(r.Context(), s.principal(r), r.PathValue("name"), req.Comment)
	s.answer(w, r, a, err)
}

func (s *Server) ackAlarms(w http.ResponseWriter, r *http.Request) {
	var req ackAllReq
	if err := decodeLimit(w, r, &req, maxAckBody); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.api.AckAlarms(r.Context(), s.principal(r), req.Names, req.Comment)
	s.answer(w, r, res, err)
}

func (s *Server) shelveAlarm(w http.ResponseWriter, r *http.Request) {
	var req shelveReq
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.api.ShelveAlarm(r.Context(), s.principal(r), r.PathValue("name"),
		api.ShelveRequest{Minutes: req.Minutes, OneShot: req.OneShot, Reason: req.Reason})
	s.answer(w, r, a, err)
}

func (s *Server) unshelveAlarm(w http.ResponseWriter, r *http.Request) {
	var req reasonReq
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.api.UnshelveAlarm(r.Context(), s.principal(r), r.PathValue("name"), req.Reason)
	s.answer(w, r, a, err)
}

func (s *Server) resetAlarm(w http.ResponseWriter, r *http.Request) {
	var req commentReq
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.api.ResetAlarm(r.Context(), s.principal(r), r.PathValue("name"), req.Comment)
	s.answer(w, r, a, err)
}

func (s *Server) removeAlarmFromService(w http.ResponseWriter, r *http.Request) {
	var req reasonReq
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.api.RemoveAlarmFromService(r.Context(), s.principal(r), r.PathValue("name"), req.Reason)
	s.answer(w, r, a, err)
}

func (s *Server) returnAlarmToService(w http.ResponseWriter, r *http.Request) {
	var req reasonReq
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.api.ReturnAlarmToService(r.Context(), s.principal(r), r.PathValue("name"), req.Reason)
	s.answer(w, r, a, err)
}

func (s *Server) silenceHorn(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sum, err := s.api.SilenceHorn(r.Context(), s.principal(r))
	s.answer(w, r, sum, err)
}

// listParam is a query parameter that may be given more than once and hold
// values separated by commas.
func listParam(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (s *Server) alarmHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var jq store.JournalQuery
	var err error
	if jq.From, err = parseTime(q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	if jq.To, err = parseTime(q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	if l := q.Get("limit"); l != "" {
		if jq.Limit, err = strconv.Atoi(l); err != nil || jq.Limit < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive whole number")
			return
		}
	}
	jq.Alarm, jq.Area = q.Get("alarm"), q.Get("area")
	for _, p := range listParam(r, "priority") {
		if _, err := alarm.ParsePriority(p); err != nil {
			writeError(w, http.StatusBadRequest, "priority must be critical, high, medium or low (several separated by commas)")
			return
		}
		jq.Priorities = append(jq.Priorities, p)
	}
	for _, k := range listParam(r, "kind") {
		var kind alarm.Kind
		if err := kind.UnmarshalText([]byte(k)); err != nil {
			writeError(w, http.StatusBadRequest, "kind: "+err.Error())
			return
		}
		jq.Kinds = append(jq.Kinds, k)
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, "format must be json or csv")
		return
	}
	rows, err := s.api.AlarmHistory(r.Context(), s.principal(r), jq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if format == "csv" {
		writeJournalCSV(w, rows)
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

// writeJournalCSV answers alarm journal rows as a CSV file.
func writeJournalCSV(w http.ResponseWriter, rows []store.JournalRow) {
	writeCSV(w, "alarms", []string{"time", "alarm", "kind", "from", "to", "value", "user", "comment", "priority", "area", "message", "flags"},
		func(yield func([]string) bool) {
			for _, j := range rows {
				value := ""
				if j.Value != nil {
					value = strconv.FormatFloat(*j.Value, 'g', -1, 64)
				}
				if !yield([]string{j.TS.UTC().Format(time.RFC3339Nano), csvSafe(j.Alarm), j.Kind, j.From, j.To, value, csvSafe(j.User),
					csvSafe(j.Comment), j.Priority, csvSafe(j.Area), csvSafe(j.Message), strings.Join(j.Flags, ",")}) {
					return
				}
			}
		})
}

func (s *Server) alarmKPI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := parseTime(q.Get("from"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	to, err := parseTime(q.Get("to"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	k, err := s.api.AlarmKPIs(r.Context(), s.principal(r), from, to)
	s.answer(w, r, k, err)
}
