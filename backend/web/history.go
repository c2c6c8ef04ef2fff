package web

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// historyExportTimeout bounds a CSV export's writing (the server's write
// timeout is for ordinary requests).
const historyExportTimeout = 30 * time.Minute

// historyQuery reads tag (repeatable), from, to and points.
func historyQuery(w http.ResponseWriter, r *http.Request) (api.HistoryQuery, bool) {
	q := r.URL.Query()
	hq := api.HistoryQuery{Tags: q["tag"]}
	var err error
	if hq.From, err = parseTime(q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error())
		return hq, false
	}
	if hq.To, err = parseTime(q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return hq, false
	}
	if p := q.Get("points"); p != "" {
		if hq.Points, err = strconv.Atoi(p); err != nil || hq.Points < 1 {
			writeError(w, http.StatusBadRequest, "points must be a whole number from 1 to "+strconv.Itoa(api.MaxHistoryPoints))
			return hq, false
		}
	}
	return hq, true
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	hq, ok := historyQuery(w, r)
	if !ok {
		return
	}
	h, err := s.api.History(r.Context(), s.principal(r), hq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// historyExport streams raw samples as CSV; X-Row-Estimate tells the page
// about how many rows to expect, for a progress bar.
func (s *Server) historyExport(w http.ResponseWriter, r *http.Request) {
	hq, ok := historyQuery(w, r)
	if !ok {
		return
	}
	est, err := s.api.HistoryExportEstimate(r.Context(), s.principal(r), &hq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(historyExportTimeout))
	w.Header().Set("X-Row-Estimate", strconv.FormatInt(est, 10))
	w.Header().Set("Access-Control-Expose-Headers", "X-Row-Estimate")
	var failed error
	writeCSV(w, "history", []string{"time", "tag", "value", "quality"}, func(yield func([]string) bool) {
		row := make([]string, 4)
		failed = s.api.HistoryExport(r.Context(), hq, func(h store.HistSample) bool {
			row[0] = time.UnixMilli(h.TS).UTC().Format("2006-01-02T15:04:05.000Z")
			row[1] = csvSafe(h.Tag)
			row[2] = ""
			if !math.IsNaN(h.Value) {
				row[2] = strconv.FormatFloat(h.Value, 'g', -1, 64)
			}
			row[3] = hmi.Quality(h.Quality).String()
			return yield(row)
		})
	})
	if failed != nil {
		s.log.Error("history export failed", "tags", hq.Tags, "err", failed)
	}
}
