package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ErrTooManyFailures is returned (wrapped in a *RetryError) while logins
// for a user name or from an address are locked after repeated failures.
var ErrTooManyFailures = errors.New("too many failed logins")

// RetryError says how long a locked login must wait.
type RetryError struct{ After time.Duration }

func (e *RetryError) Error() string {
	secs := int((e.After + time.Second - 1) / time.Second) // round up: never "0 s"
	return fmt.Sprintf("too many failed logins: try again in %d s", secs)
}

func (e *RetryError) Unwrap() error { return ErrTooManyFailures }

// Login throttling: MaxFailures failures of one user name, or
// MaxAddressFailures from one address (a shared panel PC serves many
// operators, so it gets more), within FailureWindow lock that key for
// LockFirst, doubling with each further lock up to LockMax.
const (
	MaxFailures        = 5
	MaxAddressFailures = 20
	FailureWindow      = 10 * time.Minute
	LockFirst          = time.Minute
	LockMax            = 15 * time.Minute
)

// limiter counts failed logins per key ("user:NAME", "addr:IP").
type limiter struct {
	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	count int       // failures since first
	first time.Time // start of the current window
	locks int       // locks so far (for the doubling)
	until time.Time // locked until
}

func newLimiter() *limiter { return &limiter{keys: map[string]*failures{}} }

// check returns how long the longest lock among keys still runs (0: none).
func (l *limiter) check(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if f := l.keys[k]; f != nil && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait
}

// fail records a failure on each key.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) > 10000 {
		l.sweepLocked(now)
	}
	for _, k := range keys {
		f := l.keys[k]
		if f == nil || now.Sub(f.first) > FailureWindow && now.After(f.until) {
			locks := 0
			if f != nil && now.Sub(f.until) < FailureWindow {
				locks = f.locks // a lock that just ended still counts for doubling
			}
			f = &failures{first: now, locks: locks}
			l.keys[k] = f
		}
		f.count++
		limit := MaxFailures
		if strings.HasPrefix(k, "addr:") {
			limit = MaxAddressFailures
		}
		if f.count >= limit {
			lock := min(LockFirst<<f.locks, LockMax)
			f.until, f.count, f.first = now.Add(lock), 0, now
			f.locks++
		}
	}
}

// succeed forgets the failures of a user name (not of the address, so a
// password-guesser cannot reset its address by logging in as itself).
func (l *limiter) succeed(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, f := range l.keys {
		if now.Sub(f.first) > FailureWindow && now.After(f.until.Add(FailureWindow)) {
			delete(l.keys, k)
		}
	}
}
