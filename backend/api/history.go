package api

import (
	"context"
	"errors"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Limits of a history query.
const (
	DefaultHistoryPoints = 1000
	MaxHistoryPoints     = 10000
	MaxHistoryTags       = 16
	// DefaultHistorySpan is the range when a query gives no from.
	DefaultHistorySpan = time.Hour
)

// HistoryQuery asks for the history of tags in [From, To) in at most
// Points buckets. A zero To is now; a zero From is DefaultHistorySpan
// before To; Points 0 is DefaultHistoryPoints.
type HistoryQuery struct {
	Tags     []string
	From, To time.Time
	Points   int
}

// History is the answer: every tag's series in buckets of BucketMS
// milliseconds (from and to in Unix ms).
type History struct {
	From     int64          `json:"from"`
	To       int64          `json:"to"`
	BucketMS int64          `json:"bucket_ms"`
	Series   []store.Series `json:"series"`
}

// check validates a query and fills in its defaults.
func (s *Service) checkHistory(who Principal, q *HistoryQuery, what string) error {
	if err := require(who, hmi.RoleViewer, what); err != nil {
		return err
	}
	switch {
	case len(q.Tags) == 0:
		return errorf(CodeInvalid, nil, "name at least one tag (tag=NAME)")
	case len(q.Tags) > MaxHistoryTags:
		return errorf(CodeInvalid, nil, "at most %d tags per request, not %d", MaxHistoryTags, len(q.Tags))
	}
	for _, t := range q.Tags {
		if _, ok := s.db.Lookup(t); !ok {
			return errorf(CodeNotFound, tags.ErrUnknownTag, "there is no tag %q", t)
		}
	}
	if q.To.IsZero() {
		q.To = time.Now()
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-DefaultHistorySpan)
	}
	if !q.From.Before(q.To) {
		return errorf(CodeInvalid, nil, "from (%s) must be before to (%s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	switch {
	case q.Points == 0:
		q.Points = DefaultHistoryPoints
	case q.Points < 1 || q.Points > MaxHistoryPoints:
		return errorf(CodeInvalid, nil, "points must be 1 to %d, not %d", MaxHistoryPoints, q.Points)
	}
	return nil
}

// History returns the downsampled history of tags to a logged-in user:
// each bucket keeps the smallest, largest and last value of its samples.
func (s *Service) History(ctx context.Context, who Principal, q HistoryQuery) (History, error) {
	if err := s.checkHistory(who, &q, "read the history"); err != nil {
		return History{}, err
	}
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	h := History{From: from, To: to, Series: make([]store.Series, 0, len(q.Tags))}
	for _, t := range q.Tags {
		ser, width, err := s.store.History(ctx, t, from, to, q.Points)
		if err != nil {
			return History{}, errorf(CodeInternal, err, "reading the history of %q failed: %v", t, err)
		}
		h.BucketMS = width
		h.Series = append(h.Series, ser)
	}
	return h, nil
}

// HistoryExportEstimate checks an export query, fills in its defaults, and
// estimates its rows (from the per-minute rollup).
func (s *Service) HistoryExportEstimate(ctx context.Context, who Principal, q *HistoryQuery) (int64, error) {
	q.Points = 1
	if err := s.checkHistory(who, q, "export the history"); err != nil {
		return 0, err
	}
	var total int64
	for _, t := range q.Tags {
		n, err := s.store.HistoryEstimate(ctx, t, q.From.UnixMilli(), q.To.UnixMilli())
		if err != nil {
			return 0, errorf(CodeInternal, err, "reading the history of %q failed: %v", t, err)
		}
		total += n
	}
	return total, nil
}

// errStopExport ends an export that its consumer stopped.
var errStopExport = errors.New("export stopped")

// HistoryExport calls fn with every raw sample of q's tags, tag by tag in
// time order, until fn returns false. Call HistoryExportEstimate first
// (it checks q).
func (s *Service) HistoryExport(ctx context.Context, q HistoryQuery, fn func(store.HistSample) bool) error {
	for _, t := range q.Tags {
		err := s.store.HistoryRaw(ctx, t, q.From.UnixMilli(), q.To.UnixMilli(), func(h store.HistSample) error {
			if !fn(h) {
				return errStopExport
			}
			return nil
		})
		if errors.Is(err, errStopExport) {
			return nil
		}
		if err != nil {
			return errorf(CodeInternal, err, "reading the history of %q failed: %v", t, err)
		}
	}
	return nil
}
