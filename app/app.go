//go:build desktop

// Package app is edgehmi's desktop shell: a Wails window that shows the
// embedded frontend and talks to an engine, in this process or remote. It
// wires the engine and Wails together and holds no business logic; the
// window's REST requests go through the engine's own web handler, and its
// websocket goes straight to the engine's address (see App.ServerURL).
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/logger"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	wailsruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

// Window sizes, for the 1280x800 panel PCs the HMI is designed for. The
// minimum matches the frontend's own minimum width.
const (
	DefaultWidth  = 1280
	DefaultHeight = 800
	MinWidth      = 1024
	MinHeight     = 600
)

// Options configure the window.
type Options struct {
	// Project is the project's name, shown in the title.
	Project string
	// ServerURL is the engine's base URL, e.g. "http://127.0.0.1:8080":
	// the page opens its websocket there.
	ServerURL string
	// Handler serves everything the page requests that is not a file of
	// Assets (/api/..., /healthz): the engine's web handler, or a proxy to
	// a remote engine. Requests arrive with Origin wails://wails.
	Handler http.Handler
	// Assets is the built frontend, index.html at its root.
	Assets fs.FS
	// Kiosk opens the window full screen without decorations.
	Kiosk bool
	// Log receives Wails' own messages; nil means slog.Default().
	Log *slog.Logger
}

// App is the struct bound to the page as window.go.app.App. Its exported
// methods are the page's bindings: keep them one-liners.
type App struct {
	serverURL string
	kiosk     bool
	leaving   atomic.Bool           // the window closes on purpose: let it
	quit      func(context.Context) // closes the window: wailsruntime.Quit
	started   chan context.Context  // receives Wails' context once, at startup
}

// New returns the binding for an engine at serverURL.
func New(serverURL string, kiosk bool) *App {
	return &App{serverURL: serverURL, kiosk: kiosk, quit: wailsruntime.Quit, started: make(chan context.Context, 1)}
}

// ServerURL is the engine's base URL, e.g. "http://127.0.0.1:8080"; the
// page opens its websocket there (REST stays relative to the page).
func (a *App) ServerURL() (string, error) { return a.serverURL, nil }

// Kiosk tells the page whether the window runs in kiosk mode (it then
// offers "Exit kiosk").
func (a *App) Kiosk() (bool, error) { return a.kiosk, nil }

// Quit closes the window when token is the session of an engineer or
// admin on the server (the page's login); otherwise it refuses.
func (a *App) Quit(token string) error { return a.quitAs(context.Background(), token) }

func (a *App) quitAs(ctx context.Context, token string) error {
	if err := engineerSession(ctx, a.serverURL, token); err != nil {
		return err
	}
	a.leave()
	return nil
}

// startup keeps Wails' context, which the runtime calls need.
func (a *App) startup(ctx context.Context) {
	select {
	case a.started <- ctx:
	default:
	}
}

// shutdown runs when the window has closed. The engine is stopped by the
// caller of Run, after Run returns.
func (a *App) shutdown(context.Context) {}

// Run opens the window and blocks until it is closed, or until ctx is done
// (it then closes the window). It may be called once per process.
func Run(ctx context.Context, o Options) error {
	if o.Handler == nil || o.Assets == nil || o.ServerURL == "" {
		return errors.New("desktop window: the engine's handler, address and the frontend are needed")
	}
	if err := CheckDisplay(); err != nil {
		return err
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if legacyWebKit {
		log.Warn("this desktop build passes only GET requests from the window (built without -tags webkit2_40): " +
			"logging in and writing will fail; rebuild with -tags desktop,production,webkit2_40")
	}
	a := New(o.ServerURL, o.Kiosk)
	title := "edgehmi"
	if o.Project != "" {
		title = "edgehmi — " + o.Project
	}
	opts := &options.App{
		Title:            title,
		Width:            DefaultWidth,
		Height:           DefaultHeight,
		MinWidth:         MinWidth,
		MinHeight:        MinHeight,
		BackgroundColour: options.NewRGB(0xd9, 0xd9, 0xd9), // --bg in frontend/src/app.css: no white flash
		AssetServer:      &assetserver.Options{Assets: o.Assets, Handler: o.Handler},
		OnStartup:        a.startup,
		OnShutdown:       a.shutdown,
		OnBeforeClose:    a.beforeClose,
		Bind:             []any{a},
		Logger:           wailsLog{log},
		LogLevel:         logger.WARNING,
		// Wails' safe default when no Linux options are given: software
		// rendering, which avoids blank windows on some GPU drivers.
		Linux: &linux.Options{ProgramName: "edgehmi", WebviewGpuPolicy: linux.WebviewGpuPolicyNever},
	}
	opts.LogLevelProduction = logger.WARNING
	if o.Kiosk {
		opts.WindowStartState = options.Fullscreen
		opts.Frameless = true
		opts.DisableResize = true
	}

	done := make(chan struct{})
	closed := make(chan struct{})
	go func() { // closes the window when ctx ends
		defer close(closed)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		a.leaving.Store(true) // past the kiosk's close guard
		select {
		case wctx := <-a.started:
			wailsruntime.Quit(wctx)
		case <-done:
		}
	}()
	err := wails.Run(opts)
	close(done)
	<-closed
	if err != nil {
		return fmt.Errorf("desktop window: %w", err)
	}
	return nil
}

// CheckDisplay reports whether a window can open here: GTK aborts the
// process when it finds no display, so look first.
func CheckDisplay() error {
	if runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("desktop window: no display (neither DISPLAY nor WAYLAND_DISPLAY is set); run `edgehmi serve` on a machine without one")
	}
	return nil
}

// wailsLog passes Wails' messages to slog.
type wailsLog struct{ log *slog.Logger }

func (l wailsLog) Print(m string)   { l.log.Info(m, "from", "wails") }
func (l wailsLog) Trace(m string)   { l.log.Debug(m, "from", "wails") }
func (l wailsLog) Debug(m string)   { l.log.Debug(m, "from", "wails") }
func (l wailsLog) Info(m string)    { l.log.Info(m, "from", "wails") }
func (l wailsLog) Warning(m string) { l.log.Warn(m, "from", "wails") }
func (l wailsLog) Error(m string)   { l.log.Error(m, "from", "wails") }
func (l wailsLog) Fatal(m string)   { l.log.Error(m, "from", "wails") }
