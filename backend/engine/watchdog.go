package engine

import (
	"fmt"
	"time"
)

// Stalled describes each running, connected device poller that has not
// finished a read for too long (see poll.StallScans), and any part of the
// engine that has stopped (the event log writer); none when the scan loops
// are alive. The service watchdog is fed only while it reports none.
func (e *Engine) Stalled(now time.Time) []string {
	problems := e.health()
	e.mu.RLock() // a project reload replaces the pollers
	order := e.order
	e.mu.RUnlock()
	for _, d := range order {
		if since, stalled := d.Stalled(now); stalled {
			problems = append(problems, fmt.Sprintf("device %q: no read finished for %s (scan %s)",
				d.Name(), since.Round(time.Millisecond), d.Config().Scan.Duration))
		}
	}
	return problems
}
