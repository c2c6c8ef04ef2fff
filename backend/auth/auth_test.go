package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

func TestLoginSessionsExpire(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{Idle: time.Minute, Absolute: time.Hour, Cost: bcrypt.MinCost})
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	if err := s.AddUser(ctx, "op", hmi.RoleOperator, "secret1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pw string }{{"op", "wrong"}, {"nobody", "secret1"}} {
		if _, err := s.Login(ctx, c.user, c.pw, "10.0.0.9"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Login(%s,%s) err = %v, want ErrBadCredentials", c.user, c.pw, err)
		}
	}
	sess, err := s.Login(ctx, "op", "secret1", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Role != hmi.RoleOperator || len(sess.ID) < 40 {
		t.Errorf("session = %+v", sess)
	}
	// Used every 50 s: stays alive past the idle time, until the absolute lifetime.
	for now.Sub(sess.Created) < 59*time.Minute {
		now = now.Add(50 * time.Second)
		if _, ok := s.Session(ctx, sess.ID); !ok {
			t.Fatalf("session expired after %v of use", now.Sub(sess.Created))
		}
	}
	now = now.Add(2 * time.Minute)
	if _, ok := s.Session(ctx, sess.ID); ok {
		t.Error("session alive past its absolute lifetime")
	}
	sess2, _ := s.Login(ctx, "op", "secret1", "10.0.0.1")
	now = now.Add(61 * time.Second)
	if _, ok := s.Session(ctx, sess2.ID); ok {
		t.Error("session alive past the idle time")
	}
	sess3, _ := s.Login(ctx, "op", "secret1", "10.0.0.1")
	s.Logout(sess3.ID)
	if _, ok := s.Session(ctx, sess3.ID); ok {
		t.Error("session alive after logout")
	}
	if err := s.AddUser(ctx, "shorty", hmi.RoleViewer, "abc"); err == nil {
		t.Error("accepted a 3-character password")
	}
}

func newService(t *testing.T) (*Service, *time.Time) {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{Cost: bcrypt.MinCost})
	now := time.Unix(5000, 0)
	s.now = func() time.Time { return now }
	return s, &now
}

func TestLoginThrottling(t *testing.T) {
	s, now := newService(t)
	ctx := context.Background()
	if err := s.AddUser(ctx, "op", hmi.RoleOperator, "secret1"); err != nil {
		t.Fatal(err)
	}
	for i := range MaxFailures {
		if _, err := s.Login(ctx, "op", "bad", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Locked: even the right password is refused, with the wait.
	_, err := s.Login(ctx, "op", "secret1", "10.0.0.2")
	var re *RetryError
	if !errors.As(err, &re) || !errors.Is(err, ErrTooManyFailures) || re.After != LockFirst {
		t.Fatalf("locked login: %v, want a RetryError of %v", err, LockFirst)
	}
	// Another user from the same address is not locked by one user's failures...
	if _, err := s.Login(ctx, "someone", "x", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("other user from the address: %v, want only a wrong password", err)
	}
	*now = now.Add(LockFirst + time.Second)
	if _, err := s.Login(ctx, "op", "secret1", "10.0.0.2"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// ...but an address guessing many names is, after MaxAddressFailures.
	for i := range MaxAddressFailures - MaxFailures - 1 {
		s.Login(ctx, fmt.Sprint("name", i), "x", "10.0.0.1")
	}
	if _, err := s.Login(ctx, "op", "secret1", "10.0.0.1"); !errors.As(err, &re) || re.After != LockFirst {
		t.Errorf("address after %d failures: %v, want locked %v", MaxAddressFailures, err, LockFirst)
	}
	// A second lock of a user name, with no success between, lasts twice as long.
	for range MaxFailures {
		s.Login(ctx, "eve", "x", "10.0.0.3")
	}
	*now = now.Add(LockFirst + time.Second)
	for range MaxFailures {
		s.Login(ctx, "eve", "x", "10.0.0.4")
	}
	if _, err := s.Login(ctx, "eve", "x", "10.0.0.4"); !errors.As(err, &re) || re.After != 2*LockFirst {
		t.Errorf("second lock: %v, want %v", err, 2*LockFirst)
	}
	if re.Error() != "too many failed logins: try again in 120 s" {
		t.Errorf("message %q", re.Error())
	}
	if msg := (&RetryError{After: 300 * time.Millisecond}).Error(); msg != "too many failed logins: try again in 1 s" {
		t.Errorf("sub-second wait reads %q", msg)
	}
}

func TestUserChangesReachSessions(t *testing.T) {
	s, now := newService(t)
	ctx := context.Background()
	if err := s.AddUser(ctx, "ann", hmi.RoleOperator, "pw-1234"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "ann", hmi.RoleOperator, "pw-1234"); !errors.Is(err, ErrUserExists) {
		t.Errorf("second add: %v", err)
	}
	if err := s.AddUser(ctx, "bad name", hmi.RoleOperator, "pw-1234"); err == nil {
		t.Error("accepted a name with a space")
	}
	sess, err := s.Login(ctx, "ann", "pw-1234", "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another process disables ann: the session ends within RecheckEvery.
	u, _ := s.st.User(ctx, "ann")
	u.Disabled = true
	s.st.PutUser(ctx, u)
	if _, ok := s.Session(ctx, sess.ID); !ok {
		t.Fatal("session ended before the recheck interval")
	}
	*now = now.Add(RecheckEvery)
	if _, ok := s.Session(ctx, sess.ID); ok {
		t.Error("session of a disabled user still alive after the recheck")
	}
	if err := s.SetDisabled(ctx, "ann", false); err != nil {
		t.Fatal(err)
	}
	sess, _ = s.Login(ctx, "ann", "pw-1234", "a")
	if err := s.SetPassword(ctx, "ann", "new-pass"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Session(ctx, sess.ID); ok {
		t.Error("password change left the old session alive")
	}
	if _, err := s.Login(ctx, "ann", "pw-1234", "a"); !errors.Is(err, ErrBadCredentials) {
		t.Error("old password still works")
	}
	if ok, _ := s.HasAdmin(ctx); ok {
		t.Error("HasAdmin with no admin")
	}
	s.AddUser(ctx, "root", hmi.RoleAdmin, "pw-root")
	if ok, _ := s.HasAdmin(ctx); !ok {
		t.Error("HasAdmin false with an admin")
	}
}

// BenchmarkLogin measures a login at the production hash cost
// (bcrypt.DefaultCost): the password check dominates.
func BenchmarkLogin(b *testing.B) {
	st, err := store.Open(context.Background(), b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{})
	ctx := context.Background()
	if err := s.AddUser(ctx, "op", hmi.RoleOperator, "operator-pw"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Login(ctx, "op", "operator-pw", "10.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bcrypt.DefaultCost), "bcrypt-cost")
}
