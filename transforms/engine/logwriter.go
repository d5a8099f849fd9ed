package engine

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// Bounds on what a module may write to stdout and stderr, so that a module
// printing in a loop cannot flood the broker's log or its memory.
const (
	maxLogLine     = 4 << 10  // a longer line is cut
	maxLogPerBatch = 64 << 10 // bytes logged per batch; the rest is dropped
	stderrTailSize = 1 << 10  // kept for error messages
)

// logWriter sends a module's stdout or stderr to slog, one record per line,
// tagged with the module name and the stream. It keeps the last bytes of the
// stream so an error can say what the module printed before it failed.
type logWriter struct {
	log    *slog.Logger
	level  slog.Level
	module string
	stream string

	mu      sync.Mutex
	line    []byte
	budget  int
	dropped bool
	tail    []byte
}

func newLogWriter(log *slog.Logger, level slog.Level, module, stream string) *logWriter {
	return &logWriter{log: log, level: level, module: module, stream: stream, budget: maxLogPerBatch}
}

// Write implements io.Writer. It never fails, so the module never sees an
// error from fd_write.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keepTail(p)
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

func (w *logWriter) keepTail(p []byte) {
	if len(p) >= stderrTailSize {
		w.tail = append(w.tail[:0], p[len(p)-stderrTailSize:]...)
		return
	}
	if over := len(w.tail) + len(p) - stderrTailSize; over > 0 {
		w.tail = append(w.tail[:0], w.tail[over:]...)
	}
	w.tail = append(w.tail, p...)
}

func (w *logWriter) emit() {
	line := w.line
	w.line = w.line[:0]
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

// lastLines returns the kept tail of the stream, trimmed, for errors.
func (w *logWriter) lastLines() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.TrimSpace(w.tail))
}
