//go:build desktop

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Engineer roles, as the server names them (hmi.Role's text): only these
// may take a kiosk panel out of kiosk mode.
var mayLeaveKiosk = map[string]bool{"engineer": true, "admin": true}

// beforeClose keeps a kiosk window open: the window manager's close
// (Alt+F4, a stray gesture) is ignored; the page's "Exit kiosk" (Quit, after
// an engineer's login) and a signal to the process close it.
func (a *App) beforeClose(context.Context) (prevent bool) {
	return a.kiosk && !a.leaving.Load()
}

// leave closes the window on purpose.
func (a *App) leave() {
	a.leaving.Store(true)
	select {
	case wctx := <-a.started:
		a.started <- wctx
		a.quit(wctx)
	default:
	}
}

// engineerSession asks the server who holds token (GET /api/v1/me with it
// as the bearer) and refuses unless it is an engineer or admin. The server
// decides, so a page that skipped its own check still cannot quit.
func engineerSession(ctx context.Context, serverURL, token string) error {
	if token == "" {
		return fmt.Errorf("exit kiosk: log in as an engineer first")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL+"/api/v1/me", nil)
	if err != nil {
		return fmt.Errorf("exit kiosk: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("exit kiosk: cannot ask the server %s who is logged in: %w", serverURL, err)
	}
	defer res.Body.Close()
	var me struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&me) != nil {
		return fmt.Errorf("exit kiosk: the server does not know this session (%s): log in again", res.Status)
	}
	if !mayLeaveKiosk[me.Role] {
		return fmt.Errorf("exit kiosk: %s is %s; it takes an engineer or admin", me.User, me.Role)
	}
	return nil
}
