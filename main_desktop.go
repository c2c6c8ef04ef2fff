//go:build desktop

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/app"
	"github.com/edgehmi/edgehmi/frontend"
)

const desktopUsage = `  edgehmi desktop --demo|--config FILE [--kiosk] [--listen ADDR] [--data DIR]
                                                             open the HMI window, the engine in this process
  edgehmi desktop --server URL [--kiosk]                     an operator panel: the HMI window on a running edgehmi server
                                                             (--remote is another name for --server); --kiosk: full screen,
                                                             no window decorations, not closable but by an engineer's "Exit kiosk"
`

// desktopListen is the desktop's default --listen: a free loopback port,
// so the window never collides with a server running on the same machine.
const desktopListen = "127.0.0.1:0"

// desktop runs the Wails window until it is closed or a signal arrives.
func desktop(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f serveFlags
	fs := newFlags("desktop", stderr)
	f.register(fs)
	listen := fs.Lookup("listen")
	listen.Usage = "address the in-process engine serves on (the websocket of the window, and browsers)"
	listen.DefValue = desktopListen
	f.listen = desktopListen
	kiosk := fs.Bool("kiosk", false, "full screen, without window decorations, not closable but by an engineer's \"Exit kiosk\" (panel PCs)")
	server := fs.String("server", "", "`URL` of a running edgehmi server (e.g. http://10.0.0.5:8080) to show instead of running the engine here: an operator panel")
	remote := fs.String("remote", "", "another name for --server (`URL`)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *remote != "" && *server != "" && *remote != *server {
		fmt.Fprintln(stderr, "edgehmi desktop: --server and --remote name the same thing: give one")
		return 2
	}
	if *server != "" {
		remote = server
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgehmi desktop: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := app.CheckDisplay(); err != nil {
		fmt.Fprintln(stderr, "edgehmi:", err)
		return 1
	}
	if *remote != "" {
		var clash []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "config", "demo", "listen", "data":
				clash = append(clash, "--"+fl.Name)
			}
		})
		if len(clash) > 0 {
			fmt.Fprintf(stderr, "edgehmi desktop: --server shows a running server; %s would configure a local engine: drop one\n", strings.Join(clash, ", "))
			return 2
		}
		return desktopRemote(ctx, *remote, *kiosk, f.logLevel, stdout, stderr)
	}

	e, o, ok := f.start(ctx, "engine serving", stdout, stderr)
	if !ok {
		return 1
	}

	// The window closes on a signal (ctx) or when the engine fails.
	wctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case err := <-e.Fatal():
			cancel(err)
		case <-wctx.Done():
		}
	}()
	werr := app.Run(wctx, app.Options{Project: o.Project.Name, ServerURL: e.URL(), Handler: e.Handler(),
		Assets: o.Static, Kiosk: *kiosk, Log: o.Log})
	fatal := context.Cause(wctx)
	cancel(nil)
	<-watched

	code := 0
	if werr != nil {
		fmt.Fprintln(stderr, "edgehmi:", werr)
		code = 1
	}
	if fatal != nil && !errors.Is(fatal, context.Canceled) {
		fmt.Fprintln(stderr, "edgehmi:", fatal)
		code = 1
	}
	sctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := e.Stop(sctx); err != nil {
		fmt.Fprintln(stderr, "edgehmi: stop:", err)
		code = 1
	}
	return code
}

// desktopRemote shows the server at rawURL: the window's REST requests go
// through a reverse proxy to it, its websocket straight to it.
func desktopRemote(ctx context.Context, rawURL string, kiosk bool, logLevel string, stdout, stderr io.Writer) int {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "edgehmi: --log-level %q: want debug, info, warn or error\n", logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	u, err := app.ParseRemote(rawURL)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi:", err)
		return 2
	}
	name, err := remoteProject(ctx, u)
	if err != nil {
		// Not fatal: the window shows the link as down and keeps trying.
		log.Warn("remote server not reachable yet", "url", u.String(), "err", err)
		name = u.Host
	}
	fmt.Fprintf(stdout, "edgehmi: showing %s (%s); window open\n", u, name)
	if err := app.Run(ctx, app.Options{Project: name, ServerURL: u.String(), Handler: app.RemoteHandler(u, log),
		Assets: frontend.Dist(), Kiosk: kiosk, Log: log}); err != nil {
		fmt.Fprintln(stderr, "edgehmi:", err)
		return 1
	}
	return 0
}

// remoteProject asks the server for its project's name, for the title.
func remoteProject(ctx context.Context, u *url.URL) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+"/api/v1/info", nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /api/v1/info: %s", res.Status)
	}
	var info struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&info); err != nil || info.Name == "" {
		return "", fmt.Errorf("GET /api/v1/info: not an edgehmi server (%v)", err)
	}
	return info.Name, nil
}
