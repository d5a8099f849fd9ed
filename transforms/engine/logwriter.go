package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Bounds on what a module may write to stdout and stderr, so that a module
// printing in a loop cannot flood the broker's log or its memory.
const (
	maxLogLine     = 4 << 10  // a longer line is cut
	maxLogPerBatch = 64 << 10 // bytes logged per batch; the rest is dropped
	recentLines    = 128      // lines kept for error messages
	recentLineSize = 512      // bytes kept of each
)

// logWriter sends a module's stdout or stderr to slog, one record per line,
// tagged with the module name and the stream. It keeps the last lines of
// the stream so an error can say what the module printed before it failed.
type logWriter struct {
	log    *slog.Logger
	level  slog.Level
	module string
	stream string

	mu      sync.Mutex
	line    []byte
	budget  int
	dropped bool
	recent  []string // a ring of the last lines
	nrecent int      // lines written to the ring so far
}

func newLogWriter(log *slog.Logger, level slog.Level, module, stream string) *logWriter {
	return &logWriter{log: log, level: level, module: module, stream: stream, budget: maxLogPerBatch}
}

// Write implements io.Writer. It never fails, so the module never sees an
// error from fd_write.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			room := maxLogLine - len(w.line)
			w.line = append(w.line, rest[:min(len(rest), max(room, 0))]...)
			break
		}
		room := maxLogLine - len(w.line)
		w.line = append(w.line, rest[:min(i, max(room, 0))]...)
		w.emit()
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (w *logWriter) emit() {
	line := w.line
	w.line = w.line[:0]
	if w.recent == nil {
		w.recent = make([]string, recentLines)
	}
	w.recent[w.nrecent%recentLines] = string(line[:min(len(line), recentLineSize)])
	w.nrecent++
	if w.budget < len(line) {
		if !w.dropped {
			w.dropped = true
			w.log.Warn("module output dropped: too much in one batch", "module", w.module, "stream", w.stream)
		}
		return
	}
	w.budget -= len(line)
	w.log.Log(context.Background(), w.level, string(line), "module", w.module, "stream", w.stream)
}

// flush logs a pending partial line.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.line) > 0 {
		w.emit()
	}
}

// newBatch resets the per-batch budget.
func (w *logWriter) newBatch() {
	w.mu.Lock()
	w.budget, w.dropped = maxLogPerBatch, false
	w.mu.Unlock()
}

// summary returns the line of the stream that best explains a failure:
// the last line a Go runtime starts a crash report with ("panic: ",
// "fatal error: "), the last Rust panic, or else the last non-empty line
// but Rust's hint about RUST_BACKTRACE, which says nothing about the
// failure. Rust (1.73 and later) prints a panic on two lines, "thread
// 'main' panicked at src/main.rs:9:5:" (since 1.88 "thread 'main' (1)
// panicked at") and then the message; summary joins them.
func (w *logWriter) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(w.nrecent, recentLines)
	last, newer := "", "" // newer: the line written after this one
	for i := 1; i <= n; i++ {
		line := strings.TrimSpace(w.recent[(w.nrecent-i)%recentLines])
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return line
		}
		if strings.HasPrefix(line, "thread '") && strings.Contains(line, " panicked at ") {
			if strings.HasSuffix(line, ":") && newer != "" && !isRustBacktraceHint(newer) {
				return line + " " + newer
			}
			return line
		}
		if last == "" && !isRustBacktraceHint(line) {
			last = line
		}
		newer = line
	}
	return last
}

func isRustBacktraceHint(line string) bool {
	return strings.HasPrefix(line, "note: run with `RUST_BACKTRACE=")
}
