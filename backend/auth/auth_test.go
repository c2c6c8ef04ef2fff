package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

func TestLoginSessionsExpire(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, Options{Idle: time.Minute, Absolute: time.Hour})
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	if err := s.AddUser(ctx, "op", hmi.RoleOperator, "secret1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pw string }{{"op", "wrong"}, {"nobody", "secret1"}} {
		if _, err := s.Login(ctx, c.user, c.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Login(%s,%s) err = %v, want ErrBadCredentials", c.user, c.pw, err)
		}
	}
	sess, err := s.Login(ctx, "op", "secret1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Role != hmi.RoleOperator || len(sess.ID) < 40 {
		t.Errorf("session = %+v", sess)
	}
	// Used every 50 s: stays alive past the idle time, until the absolute lifetime.
	for now.Sub(sess.Created) < 59*time.Minute {
		now = now.Add(50 * time.Second)
		if _, ok := s.Session(sess.ID); !ok {
			t.Fatalf("session expired after %v of use", now.Sub(sess.Created))
		}
	}
	now = now.Add(2 * time.Minute)
	if _, ok := s.Session(sess.ID); ok {
		t.Error("session alive past its absolute lifetime")
	}
	sess2, _ := s.Login(ctx, "op", "secret1")
	now = now.Add(61 * time.Second)
	if _, ok := s.Session(sess2.ID); ok {
		t.Error("session alive past the idle time")
	}
	sess3, _ := s.Login(ctx, "op", "secret1")
	s.Logout(sess3.ID)
	if _, ok := s.Session(sess3.ID); ok {
		t.Error("session alive after logout")
	}
	if _, err := HashPassword("abc"); err == nil {
		t.Error("accepted a 3-character password")
	}
}
