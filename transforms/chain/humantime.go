package chain

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// humanUnits are the units of Rust's humantime crate, which Fluvio's
// lookback `age` is parsed with; a month is 30.44 days and a year 365.25
// days, as there.
var humanUnits = map[string]time.Duration{
	"nsec": time.Nanosecond, "ns": time.Nanosecond,
	"usec": time.Microsecond, "us": time.Microsecond,
	"msec": time.Millisecond, "ms": time.Millisecond,
	"seconds": time.Second, "second": time.Second, "secs": time.Second, "sec": time.Second, "s": time.Second,
	"minutes": time.Minute, "minute": time.Minute, "mins": time.Minute, "min": time.Minute, "m": time.Minute,
	"hours": time.Hour, "hour": time.Hour, "hrs": time.Hour, "hr": time.Hour, "h": time.Hour,
	"days": 24 * time.Hour, "day": 24 * time.Hour, "d": 24 * time.Hour,
	"weeks": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "w": 7 * 24 * time.Hour,
	"months": 2_630_016 * time.Second, "month": 2_630_016 * time.Second, "M": 2_630_016 * time.Second,
	"years": 31_557_600 * time.Second, "year": 31_557_600 * time.Second, "y": 31_557_600 * time.Second,
}

// ParseHumanDuration parses a duration as Fluvio writes them (humantime):
// whole numbers each followed by a unit, optionally separated by spaces,
// such as "1w", "90s", "1h 30m" or "2days 4hours". Units: ns, us, ms, s
// (sec, second...), m (min, minute...), h (hr, hour...), d (day), w (week),
// M (month, 30.44 days), y (year, 365.25 days).
func ParseHumanDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("empty duration; write one such as 1w, 12h or 30m")
	}
	var total time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: expected a number at %q", s, rest)
		}
		var n int64
		for _, c := range rest[:i] {
			if n > (math.MaxInt64-9)/10 {
				return 0, fmt.Errorf("duration %q is too long", s)
			}
			n = n*10 + int64(c-'0')
		}
		if i < len(rest) && (rest[i] == '.' || rest[i] == ',') {
			return 0, fmt.Errorf("duration %q: use whole numbers (1h 30m rather than 1.5h)", s)
		}
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit, ok := humanUnits[rest[:j]]
		if !ok {
			if j == 0 {
				return 0, fmt.Errorf("duration %q: %d needs a unit (s, m, h, d, w...)", s, n)
			}
			return 0, fmt.Errorf("duration %q: unknown unit %q; use ns, us, ms, s, m, h, d, w, M or y", s, rest[:j])
		}
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += time.Duration(n) * unit
		rest = strings.TrimLeft(rest[j:], " ")
	}
	return total, nil
}
