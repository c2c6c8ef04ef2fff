// Package auth holds users, roles and sessions. Passwords are stored as
// bcrypt hashes in the store; sessions live in memory and expire after an
// idle time and an absolute lifetime.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// ErrBadCredentials is returned for an unknown user, a wrong password or a
// disabled account alike, so a caller cannot tell which.
var ErrBadCredentials = errors.New("wrong user name or password")

// Session is a logged-in user.
type Session struct {
	ID       string
	User     string
	Role     hmi.Role
	Created  time.Time
	LastSeen time.Time
	// checked is when the user was last read from the store: a user
	// disabled or changed by another process (the user command) is seen
	// within RecheckEvery.
	checked time.Time
}

// RecheckEvery is how often a session's user is read again from the store.
const RecheckEvery = 30 * time.Second

// Options tune session lifetimes.
type Options struct {
	Idle     time.Duration // default 30 min
	Absolute time.Duration // default 12 h
	// Cost is the bcrypt cost of new password hashes (default
	// bcrypt.DefaultCost, 10: about 50 ms a login on a gateway core).
	Cost int
}

// Service logs users in and keeps their sessions.
type Service struct {
	st   *store.Store
	opts Options
	now  func() time.Time
	// dummy is a hash compared against when the user does not exist, so
	// that a login takes as long whether or not the name is known. It is
	// made on first need, not at start, which it would slow.
	dummy func() []byte

	limit *limiter

	mu       sync.Mutex
	sessions map[string]*Session
}

// New returns a service over the users in st.
func New(st *store.Store, opts Options) *Service {
	if opts.Idle <= 0 {
		opts.Idle = 30 * time.Minute
	}
	if opts.Absolute <= 0 {
		opts.Absolute = 12 * time.Hour
	}
	if opts.Cost == 0 {
		opts.Cost = bcrypt.DefaultCost
	}
	cost := opts.Cost
	dummy := sync.OnceValue(func() []byte { // at the cost of real hashes, so timings match
		h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), cost)
		return h
	})
	return &Service{st: st, opts: opts, now: time.Now, dummy: dummy, limit: newLimiter(), sessions: map[string]*Session{}}
}

// MinPassword is the shortest password accepted.
const MinPassword = 6

// hash hashes a password for storage.
func (s *Service) hash(password string) (string, error) {
	if len(password) < MinPassword {
		return "", fmt.Errorf("password too short (at least %d characters)", MinPassword)
	}
	if len(password) > 72 {
		return "", errors.New("password too long (at most 72 bytes)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.Cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// ErrUserExists is returned by AddUser for a name already taken.
var ErrUserExists = errors.New("user already exists")

// AddUser creates a user with a password and role.
func (s *Service) AddUser(ctx context.Context, name string, role hmi.Role, password string) error {
	if !validName(name) {
		return fmt.Errorf("user name %q: use 1 to 64 letters, digits and . _ - @", name)
	}
	if role == hmi.RoleNone {
		return fmt.Errorf("user %q: a role is needed (viewer, operator, engineer, admin)", name)
	}
	if _, err := s.st.User(ctx, name); err == nil {
		return fmt.Errorf("user %q: %w", name, ErrUserExists)
	}
	h, err := s.hash(password)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	return s.st.PutUser(ctx, store.User{Name: name, Role: role, Hash: h})
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	u, err := s.st.User(ctx, name)
	if err != nil {
		return err
	}
	if u.Hash, err = s.hash(password); err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	if err := s.st.PutUser(ctx, u); err != nil {
		return err
	}
	s.endSessions(name)
	return nil
}

// SetDisabled disables or enables a user; disabling ends their sessions.
func (s *Service) SetDisabled(ctx context.Context, name string, disabled bool) error {
	u, err := s.st.User(ctx, name)
	if err != nil {
		return err
	}
	u.Disabled = disabled
	if err := s.st.PutUser(ctx, u); err != nil {
		return err
	}
	if disabled {
		s.endSessions(name)
	}
	return nil
}

// HasAdmin reports whether an enabled admin exists.
func (s *Service) HasAdmin(ctx context.Context) (bool, error) {
	us, err := s.st.Users(ctx)
	if err != nil {
		return false, err
	}
	for _, u := range us {
		if u.Role == hmi.RoleAdmin && !u.Disabled {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) endSessions(user string) {
	s.mu.Lock()
	for id, sess := range s.sessions {
		if sess.User == user {
			delete(s.sessions, id)
		}
	}
	s.mu.Unlock()
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '@') {
			return false
		}
	}
	return true
}

// Login checks a user's password and starts a session. addr is the
// client's address: failures are throttled per user name and per address
// (a *RetryError while locked).
func (s *Service) Login(ctx context.Context, user, password, addr string) (*Session, error) {
	keys := []string{"user:" + user, "addr:" + addr}
	if wait := s.limit.check(s.now(), keys...); wait > 0 {
		return nil, &RetryError{After: wait}
	}
	u, err := s.st.User(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		s.limit.fail(s.now(), keys...)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(password)) != nil || u.Disabled {
		s.limit.fail(s.now(), keys...)
		return nil, ErrBadCredentials
	}
	s.limit.succeed(keys[0])
	var raw [32]byte
	rand.Read(raw[:])
	now := s.now()
	sess := &Session{ID: base64.RawURLEncoding.EncodeToString(raw[:]), User: u.Name, Role: u.Role, Created: now, LastSeen: now, checked: now}
	s.mu.Lock()
	s.sweepLocked(now)
	s.sessions[sess.ID] = sess
	s.mu.Unlock()
	return sess, nil
}

// Session returns the live session with the given id and marks it used.
func (s *Service) Session(ctx context.Context, id string) (Session, bool) {
	now := s.now()
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok {
		s.mu.Unlock()
		return Session{}, false
	}
	if s.expired(sess, now) {
		delete(s.sessions, id)
		s.mu.Unlock()
		return Session{}, false
	}
	sess.LastSeen = now
	recheck := now.Sub(sess.checked) >= RecheckEvery
	out := *sess
	s.mu.Unlock()
	if !recheck {
		return out, true
	}
	u, err := s.st.User(ctx, out.User)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled:
		delete(s.sessions, id)
		return Session{}, false
	case err == nil:
		sess.Role, sess.checked = u.Role, now
		out.Role = u.Role
	}
	return out, true // a store error keeps the session as it was
}

// Logout ends a session.
func (s *Service) Logout(id string) {
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
}

func (s *Service) expired(sess *Session, now time.Time) bool {
	return now.Sub(sess.LastSeen) > s.opts.Idle || now.Sub(sess.Created) > s.opts.Absolute
}

func (s *Service) sweepLocked(now time.Time) {
	for k, sess := range s.sessions {
		if s.expired(sess, now) {
			delete(s.sessions, k)
		}
	}
}

// DemoUsers returns the users of demo mode, whose passwords equal their
// names: one per role.
func DemoUsers() []hmi.Role {
	return []hmi.Role{hmi.RoleViewer, hmi.RoleOperator, hmi.RoleEngineer, hmi.RoleAdmin}
}

// SeedDemoUsers creates the demo users where missing. Their passwords are
// public (equal to the names), so they are hashed at bcrypt's minimum cost:
// a slow hash would protect nothing and only slow the demo's start.
func (s *Service) SeedDemoUsers(ctx context.Context) error {
	for _, role := range DemoUsers() {
		name := role.String()
		if _, err := s.st.User(ctx, name); err == nil {
			continue
		}
		h, err := bcrypt.GenerateFromPassword([]byte(name), bcrypt.MinCost)
		if err != nil {
			return fmt.Errorf("demo user %q: %w", name, err)
		}
		if err := s.st.PutUser(ctx, store.User{Name: name, Role: role, Hash: string(h)}); err != nil {
			return err
		}
	}
	return nil
}
