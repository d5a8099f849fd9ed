package engine

import (
	"io"
	"log/slog"
	"testing"
)

// TestLogWriterSummary checks which line of a module's stderr an error
// quotes: a Go crash report's first line, a Rust panic with its message
// (Rust prints them on two lines, then a hint about backtraces), or the
// last line.
func TestLogWriterSummary(t *testing.T) {
	for _, c := range []struct{ name, stderr, want string }{
		{"empty", "", ""},
		{"last line", "starting\nbad parameter\n\n", "bad parameter"},
		{"unterminated", "starting\nno newline", "starting"},
		{"go panic", "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n", "panic: boom"},
		{"go fatal", "fatal error: out of memory\n\nruntime stack:\n", "fatal error: out of memory"},
		{"rust panic", "thread 'main' panicked at src/bin/f.rs:10:51:\nset the regex variable: NotPresent\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
			"thread 'main' panicked at src/bin/f.rs:10:51: set the regex variable: NotPresent"},
		{"rust panic with thread id", "\nthread 'main' (1) panicked at src/bin/f.rs:10:42:\nset the regex variable: NotPresent\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
			"thread 'main' (1) panicked at src/bin/f.rs:10:42: set the regex variable: NotPresent"},
		{"rust panic, old format", "thread 'main' panicked at 'boom', src/main.rs:3:5\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
			"thread 'main' panicked at 'boom', src/main.rs:3:5"},
		{"rust hint only", "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newLogWriter(slog.New(slog.NewTextHandler(io.Discard, nil)), slog.LevelWarn, "m", "stderr")
			w.Write([]byte(c.stderr))
			if got := w.summary(); got != c.want {
				t.Fatalf("summary %q, want %q", got, c.want)
			}
		})
	}
}
