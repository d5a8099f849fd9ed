package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// moduleLogs keeps the last lines each SmartModule wrote to stdout and
// stderr, for `skiff transform logs` (they also go to the broker's log).
type moduleLogs struct {
	max   int
	mu    sync.Mutex
	lines map[string][]LogLine
}

// LogLine is one line a module wrote.
type LogLine struct {
	Time    time.Time `json:"time"`
	Module  string    `json:"module"`
	Stream  string    `json:"stream"`
	Message string    `json:"message"`
}

func newModuleLogs(max int) *moduleLogs {
	return &moduleLogs{max: max, lines: map[string][]LogLine{}}
}

func (l *moduleLogs) add(line LogLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls := append(l.lines[line.Module], line)
	if len(ls) > l.max {
		ls = append(ls[:0:0], ls[len(ls)-l.max:]...)
	}
	l.lines[line.Module] = ls
}

// get returns the lines of the named modules, oldest first.
func (l *moduleLogs) get(modules ...string) []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LogLine
	for _, m := range modules {
		out = append(out, l.lines[m]...)
	}
	return out
}

// slogTee returns a logger that logs to base and keeps the records tagged
// with a module (the engine's stdout/stderr lines) in logs.
func slogTee(base *slog.Logger, logs *moduleLogs) *slog.Logger {
	return slog.New(teeHandler{next: base.Handler(), logs: logs})
}

type teeHandler struct {
	next  slog.Handler
	logs  *moduleLogs
	attrs []slog.Attr
}

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool { return true }

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	line := LogLine{Time: r.Time, Message: r.Message}
	visit := func(a slog.Attr) bool {
		switch a.Key {
		case "module":
			line.Module = a.Value.String()
		case "stream":
			line.Stream = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	if line.Module != "" && line.Stream != "" {
		h.logs.add(line)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{next: h.next.WithAttrs(attrs), logs: h.logs, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{next: h.next.WithGroup(name), logs: h.logs, attrs: h.attrs}
}
