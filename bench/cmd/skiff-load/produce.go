package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// distinctValues is how many different record values the producers cycle
// through, so compressed runs see data that is not one repeated record.
const distinctValues = 4096

// produce sends cfg.records records from cfg.producers clients and waits until
// every one is acknowledged. Any failed record fails the run.
func produce(ctx context.Context, cfg config) (phaseResult, error) {
	opts, err := producerOpts(cfg)
	if err != nil {
		return phaseResult{}, err
	}
	values := makeValues(cfg.recordSize)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var acked atomic.Int64
	lat := newLatencyHistogram()
	sampler := startRateSampler(&acked)
	start, startCPU := time.Now(), markCPU(cfg.brokerPID)

	var wg sync.WaitGroup
	for k := range cfg.producers {
		n := cfg.records / cfg.producers
		if k < cfg.records%cfg.producers {
			n++
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return phaseResult{}, fmt.Errorf("producer client: %w", err)
		}
		defer cl.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			produceFrom(ctx, cancel, cl, cfg.topic, values, k, n, cfg.rate/float64(cfg.producers), start.Add(cfg.warmup), &acked, lat)
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), markCPU(cfg.brokerPID).Since(startCPU)
	perSecond := sampler.stop()

	if err := context.Cause(ctx); err != nil {
		return phaseResult{}, fmt.Errorf("produce: %w", err)
	}
	if got := acked.Load(); got != int64(cfg.records) {
		return phaseResult{}, fmt.Errorf("produce: %d of %d records acknowledged", got, cfg.records)
	}
	// With acks=0 Flush returns once the records are written to the socket;
	// give the broker time to store them before counting.
	settle := time.Duration(0)
	if cfg.acks == "0" {
		settle = 10 * time.Second
	}
	if err := checkEndOffsets(ctx, cfg, settle); err != nil {
		return phaseResult{}, err
	}
	res := phaseFrom(cfg, elapsed, perSecond)
	res.CPU = cpu
	res.AckP50Ms, res.AckP99Ms, res.AckP999Ms = lat.quantile(0.50), lat.quantile(0.99), lat.quantile(0.999)
	res.AckMaxMs = lat.max()
	return res, nil
}

// produceFrom produces n records on cl and flushes. Records come from a pool
// and go back to it in their callback, so the client allocates little and the
// broker, not the load generator, sets the pace on a small machine.
//
// With rate > 0 record i is sent no earlier than i/rate seconds after the
// first. The loop sleeps only when it is ahead of that schedule; after a
// sleep that overslept it sends what is due at once, so the average rate
// holds and a burst is at most one oversleep's worth of records.
//
// Records produced before warmupEnd are left out of the latency histogram:
// the first ones wait for the client to connect and learn the leaders.
func produceFrom(ctx context.Context, cancel context.CancelCauseFunc, cl *kgo.Client, topic string,
	values [][]byte, k, n int, rate float64, warmupEnd time.Time, acked *atomic.Int64, lat *latencyHistogram) {
	pool := sync.Pool{New: func() any { return new(kgo.Record) }}
	callback := func(r *kgo.Record, err error) {
		if err != nil {
			cancel(fmt.Errorf("record to %s[%d]: %w", r.Topic, r.Partition, err))
			return
		}
		if !r.Timestamp.Before(warmupEnd) {
			lat.observe(time.Since(r.Timestamp))
		}
		acked.Add(1)
		*r = kgo.Record{}
		pool.Put(r)
	}
	start := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
		}
		r := pool.Get().(*kgo.Record)
		r.Topic = topic
		r.Value = values[(k+i*7)%len(values)]
		r.Timestamp = time.Now()
		cl.Produce(ctx, r, callback)
	}
	if err := cl.Flush(ctx); err != nil && context.Cause(ctx) == nil {
		cancel(fmt.Errorf("flush: %w", err))
	}
}

func producerOpts(cfg config) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.brokers...),
		kgo.MaxBufferedRecords(cfg.maxBuffered),
	}
	switch cfg.acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("--acks %q: use all, 1 or 0", cfg.acks)
	}
	if cfg.linger >= 0 {
		opts = append(opts, kgo.ProducerLinger(cfg.linger))
	}
	codec, err := codecFor(cfg.compression)
	if err != nil {
		return nil, err
	}
	return append(opts, kgo.ProducerBatchCompression(codec)), nil
}

func codecFor(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: use none, gzip, snappy, lz4 or zstd", name)
}

// makeValues returns distinctValues values of size bytes: printable text from
// a fixed seed, so runs are repeatable and codecs have something to do.
func makeValues(size int) [][]byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-"
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([][]byte, distinctValues)
	for i := range vals {
		v := make([]byte, size)
		for j := range v {
			v[j] = alphabet[rng.IntN(len(alphabet))]
		}
		vals[i] = v
	}
	return vals
}
