package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/engine"
	"github.com/edgehmi/edgehmi/examples"
)

// reloadOnHUP re-reads the project file at path and loads it into e on
// each SIGHUP, until the returned stop is called (it waits for a reload in
// progress). Without a file (--demo) a SIGHUP is logged and ignored.
func reloadOnHUP(ctx context.Context, e *engine.Engine, path string, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			if path == "" {
				log.Warn("SIGHUP: no project file to reload (demo mode)")
				continue
			}
			res, err := e.ReloadFile(ctx, path)
			if err != nil {
				var ce config.Errors
				if errors.As(err, &ce) {
					log.Error("SIGHUP: project not loaded, nothing changed", "file", path, "errors", strings.Join(strings.Split(ce.Error(), "\n"), "; "))
				} else {
					log.Error("SIGHUP: project reload", "file", path, "err", err)
				}
				continue
			}
			log.Info("SIGHUP: project reloaded", "file", path, "sha256", res.Hash, "kept", res.Kept, "started", res.Started, "stopped", res.Stopped)
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// demoSource is the demo project's text in demo mode (kept as its first
// project version), nil otherwise (the engine reads the file).
func demoSource(demo bool) []byte {
	if demo {
		return examples.Demo
	}
	return nil
}
