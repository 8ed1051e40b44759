package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger gives go-plugin (and through it, the plugin's own log lines from stderr) an
// hclog.Logger that writes into the host's slog logger.
func newHCLogger(log *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: &slogWriter{log: log}, JSONFormat: true, Level: hclog.Info})
}

// slogWriter turns hclog's JSON lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			w.log.Info("plugin log", "line", truncate(string(line), 2000))
			continue
		}
		level := slog.LevelInfo
		switch rec["@level"] {
		case "trace", "debug":
			level = slog.LevelDebug
		case "warn":
			level = slog.LevelWarn
		case "error":
			level = slog.LevelError
		}
		msg, _ := rec["@message"].(string)
		attrs := make([]any, 0, 2*len(rec))
		for k, v := range rec {
			switch k {
			case "@level", "@message", "@timestamp", "@caller":
				continue
			}
			attrs = append(attrs, k, v)
		}
		w.log.Log(context.Background(), level, truncate(msg, 2000), attrs...)
	}
	return len(b), nil
}

// stdoutWriter logs what a plugin writes to its stdout or stderr outside hclog, at most a
// few lines a second: a noisy plugin must not flood the host's log.
type stdoutWriter struct {
	log    *slog.Logger
	stderr bool

	mu     sync.Mutex
	window time.Time
	lines  int
}

func (w *stdoutWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.window) > time.Second {
		w.window, w.lines = now, 0
	}
	w.lines++
	if w.lines <= 5 {
		stream := "stdout"
		if w.stderr {
			stream = "stderr"
		}
		w.log.Warn("plugin wrote outside its log", "stream", stream, "text", truncate(string(b), 500))
	}
	return len(b), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
