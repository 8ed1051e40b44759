package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/pprof"

	"github.com/concorde-civic/concorde/core/app"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/demo"
)

// serve runs the server until ctx ends (SIGINT or SIGTERM), then finishes in-flight requests.
func serve(ctx context.Context, e Env, cfg *config.Config, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return errUsage
	}
	level, _ := cfg.Level()
	log := slog.New(slog.NewJSONHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
	// Libraries that print through the standard logger (go-plugin's broker) log as JSON too.
	slog.SetDefault(log)
	a, err := app.Open(ctx, *cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	if fs.Lookup("demo").Value.String() == "true" {
		logins, err := demo.Ensure(ctx, a)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		demo.Print(e.Stdout, logins, cfg.Addr)
	}
	srv, err := a.HTTP()
	if err != nil {
		return err
	}
	tickCtx, stopTicks := context.WithCancel(ctx)
	defer stopTicks()
	go a.RunTicks(tickCtx, 15*time.Second)
	go a.Watch(tickCtx, nil)
	a.RunMail(tickCtx)
	_ = srv.Ready(ctx)

	errc := make(chan error, 2)
	var metricsApp *fiber.App
	if cfg.MetricsAddr != "" {
		metricsApp = fiber.New(fiber.Config{DisableStartupMessage: true})
		metricsApp.Get("/metrics", srv.MetricsHandler())
		if v, _ := e.LookupEnv("CONCORDE_PPROF"); v == "1" {
			// Profiles for ops, on the metrics listener only (never on the public address).
			metricsApp.Use(pprof.New())
		}
		go func() { errc <- metricsApp.Listen(cfg.MetricsAddr) }()
		log.Info("metrics listening", "addr", cfg.MetricsAddr)
	}
	go func() { errc <- srv.App.Listen(cfg.Addr) }()
	log.Info("concorde listening", "addr", cfg.Addr, "database", dialectName(cfg.DatabaseURL), "env", cfg.Env)

	select {
	case err := <-errc:
		return fmt.Errorf("listen: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	if err := srv.App.ShutdownWithTimeout(30 * time.Second); err != nil {
		log.Error("shutdown", "error", err.Error())
	}
	if metricsApp != nil {
		_ = metricsApp.ShutdownWithTimeout(5 * time.Second)
	}
	log.Info("stopped")
	return nil
}

func dialectName(url string) string {
	if len(url) > 8 && url[:8] == "postgres" {
		return "postgres"
	}
	return "sqlite"
}
