package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// User is a stored user account. Hash is the password hash; the store never
// sees a password.
type User struct {
	Name     string
	Role     hmi.Role
	Hash     string
	Disabled bool
	Created  time.Time
}

// User returns one user.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	var u User
	var role string
	var created int64
	err := s.db.QueryRowContext(ctx, "SELECT name, role, hash, disabled, created FROM users WHERE name = ?", name).
		Scan(&u.Name, &role, &u.Hash, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, err)
	}
	u.Created = time.UnixMilli(created)
	if u.Role, err = hmi.ParseRole(role); err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

// PutUser creates or replaces a user.
func (s *Store) PutUser(ctx context.Context, u User) error {
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(name, role, hash, disabled, created) VALUES (?,?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET role = excluded.role, hash = excluded.hash, disabled = excluded.disabled`,
		u.Name, u.Role.String(), u.Hash, u.Disabled, u.Created.UnixMilli())
	if err != nil {
		return fmt.Errorf("save user %q: %w", u.Name, err)
	}
	return nil
}

// Users returns every user, by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, role, hash, disabled, created FROM users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var role string
		var created int64
		if err := rows.Scan(&u.Name, &role, &u.Hash, &u.Disabled, &created); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.Created = time.UnixMilli(created)
		if u.Role, err = hmi.ParseRole(role); err != nil {
			return nil, fmt.Errorf("user %q: %w", u.Name, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
