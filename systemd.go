package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/edgehmi/edgehmi/backend/engine"
)

// notifyReady tells systemd (Type=notify) that the service is up: the
// engine has started and its HTTP listener is bound. Outside systemd
// (no NOTIFY_SOCKET) it does nothing.
func notifyReady(log *slog.Logger, url string) {
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS=serving "+url); err != nil {
		log.Warn("systemd notify", "err", err)
	} else if ok {
		log.Debug("told systemd: ready")
	}
}

// notifyStopping tells systemd the service is stopping.
func notifyStopping() { daemon.SdNotify(false, daemon.SdNotifyStopping) }

// watchdog feeds systemd's watchdog (WatchdogSec=, WATCHDOG_USEC) at half
// a third of its interval while the engine's scan loops are alive, and stops feeding
// it while any is stalled, so systemd restarts a hung process. It returns
// when ctx ends, or at once when no watchdog is enabled.
func watchdog(ctx context.Context, e *engine.Engine, log *slog.Logger) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog", "err", err)
		return
	}
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 3)
	defer t.Stop()
	var was string
	for {
		problems := strings.Join(e.Stalled(time.Now()), "; ")
		if problems != was {
			if problems != "" {
				log.Error("not feeding the watchdog: "+problems, "watchdog", interval)
				daemon.SdNotify(false, "STATUS=stalled: "+problems)
			} else {
				log.Info("scan loops alive again; feeding the watchdog")
				daemon.SdNotify(false, "STATUS=serving")
			}
			was = problems
		}
		if problems == "" {
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
