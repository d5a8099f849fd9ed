package main

import (
	"math"
	"sync/atomic"
	"time"
)

// phaseFrom turns a record count and a duration into rates.
func phaseFrom(cfg config, elapsed time.Duration, perSecond []float64) phaseResult {
	s := elapsed.Seconds()
	r := phaseResult{
		Seconds:       round(s, 3),
		RecordsPerSec: round(float64(cfg.records)/s, 0),
		MBPerSec:      round(float64(cfg.records)*float64(cfg.recordSize)/1e6/s, 1),
	}
	if len(perSecond) > 0 {
		r.MinSecondRate, r.MaxSecondRate = math.Inf(1), 0
		for _, v := range perSecond {
			r.MinSecondRate = math.Min(r.MinSecondRate, v)
			r.MaxSecondRate = math.Max(r.MaxSecondRate, v)
		}
	}
	return r
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// rateSampler reads a counter once a second and keeps the increments.
type rateSampler struct {
	done  chan struct{}
	rates chan []float64
}

func startRateSampler(count *atomic.Int64) *rateSampler {
	s := &rateSampler{done: make(chan struct{}), rates: make(chan []float64, 1)}
	go func() {
		var rates []float64
		last := count.Load()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				s.rates <- rates // the partial last second is left out
				return
			case <-t.C:
				now := count.Load()
				rates = append(rates, float64(now-last))
				last = now
			}
		}
	}()
	return s
}

// stop ends sampling and returns the records counted in each whole second.
func (s *rateSampler) stop() []float64 {
	close(s.done)
	return <-s.rates
}

// latencyHistogram counts durations in 100 µs buckets up to 30 s; it is safe
// for concurrent use by several producers' callbacks.
type latencyHistogram struct {
	buckets []atomic.Int64
	maxNs   atomic.Int64
}

const (
	latencyBucket  = 100 * time.Microsecond
	latencyBuckets = int(30 * time.Second / latencyBucket)
)

func newLatencyHistogram() *latencyHistogram {
	return &latencyHistogram{buckets: make([]atomic.Int64, latencyBuckets+1)}
}

func (h *latencyHistogram) observe(d time.Duration) {
	i := min(int(d/latencyBucket), latencyBuckets)
	h.buckets[i].Add(1)
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the upper edge, in milliseconds, of the bucket holding q.
func (h *latencyHistogram) quantile(q float64) float64 {
	var total int64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= want {
			return round(float64(time.Duration(i+1)*latencyBucket)/1e6, 1)
		}
	}
	return h.max()
}

func (h *latencyHistogram) max() float64 {
	return round(float64(h.maxNs.Load())/1e6, 1)
}
