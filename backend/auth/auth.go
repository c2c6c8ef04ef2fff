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
}

// Options tune session lifetimes.
type Options struct {
	Idle     time.Duration // default 30 min
	Absolute time.Duration // default 12 h
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
	dummy := sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
		return h
	})
	return &Service{st: st, opts: opts, now: time.Now, dummy: dummy, sessions: map[string]*Session{}}
}

// HashPassword hashes a password for storage.
func HashPassword(password string) (string, error) {
	if len(password) < 4 {
		return "", errors.New("password too short (at least 4 characters)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// AddUser creates or replaces a user with a password and role.
func (s *Service) AddUser(ctx context.Context, name string, role hmi.Role, password string) error {
	h, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	return s.st.PutUser(ctx, store.User{Name: name, Role: role, Hash: h})
}

// Login checks a user's password and starts a session.
func (s *Service) Login(ctx context.Context, user, password string) (*Session, error) {
	u, err := s.st.User(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(password)) != nil || u.Disabled {
		return nil, ErrBadCredentials
	}
	var raw [32]byte
	rand.Read(raw[:])
	now := s.now()
	sess := &Session{ID: base64.RawURLEncoding.EncodeToString(raw[:]), User: u.Name, Role: u.Role, Created: now, LastSeen: now}
	s.mu.Lock()
	s.sweepLocked(now)
	s.sessions[sess.ID] = sess
	s.mu.Unlock()
	return sess, nil
}

// Session returns the live session with the given id and marks it used.
func (s *Service) Session(id string) (Session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return Session{}, false
	}
	if s.expired(sess, now) {
		delete(s.sessions, id)
		return Session{}, false
	}
	sess.LastSeen = now
	return *sess, true
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
