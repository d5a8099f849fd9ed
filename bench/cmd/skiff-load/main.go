// Command skiff-load measures produce and consume throughput of a Kafka
// compatible broker through franz-go: the load that bench/run.sh drives
// against skiff and against kfake, and useful alone against any broker.
//
//	skiff-load --brokers 127.0.0.1:9092 --records 5000000 --consume
//
// It (re)creates the topic with kadm (deleting it first if it exists), produces
// --records records of --record-size bytes with kgo (async Produce with a
// callback; franz-go's default idempotent producer when --acks all; default
// linger), and with --consume reads every record back from the start by direct
// partition consumption (no group). It fails unless every record was
// acknowledged and read back exactly once, in dense offsets per partition.
//
// # Notes
//
// MB/s counts record value bytes only (records × record-size / 1e6 / seconds),
// so 1 M records/s of 100 bytes is 100 MB/s. Produce time runs from the first
// Produce call to the return of Flush; consume time from the creation of the
// consumer client to the last record. Ack latency is measured from Produce to
// the callback, so under full load it includes time queued in the client's
// buffer (--max-buffered records), not only the broker's time. With --rate the
// producers send at that fixed rate instead of as fast as they can: below
// saturation the queue stays empty and the ack latency is the broker's round
// trip (plus franz-go's batching), which is how bench/compare.sh measures
// produce latency p50/p99/p99.9.
//
// --admin create or --admin delete only (re)creates or deletes the topic and
// exits, so that a run of another tool (Kafka's kafka-producer-perf-test, say)
// starts from the same fresh topic.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	brokers     []string
	topic       string
	partitions  int
	records     int
	recordSize  int
	acks        string
	producers   int
	consume     bool
	compression string
	maxBuffered int
	timeout     time.Duration
	label       string
	brokerPID   int
	jsonOut     bool
	rate        float64
	warmup      time.Duration
	linger      time.Duration
	admin       string
}

// result is what one run measured; --json prints it as one line.
type result struct {
	Label       string       `json:"label,omitempty"`
	Brokers     string       `json:"brokers"`
	Topic       string       `json:"topic"`
	Partitions  int          `json:"partitions"`
	Records     int          `json:"records"`
	RecordSize  int          `json:"record_size"`
	Acks        string       `json:"acks"`
	Producers   int          `json:"producers"`
	Compression string       `json:"compression"`
	Produce     phaseResult  `json:"produce"`
	Consume     *phaseResult `json:"consume,omitempty"`
}

// phaseResult is the throughput of one phase (produce or consume).
type phaseResult struct {
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	// MinSecondRate and MaxSecondRate are the lowest and highest records/s
	// seen in any whole second of the phase: a stall shows as a low minimum.
	MinSecondRate float64 `json:"min_second_rate"`
	MaxSecondRate float64 `json:"max_second_rate"`
	// Ack latency percentiles in milliseconds (produce only).
	AckP50Ms  float64 `json:"ack_p50_ms,omitempty"`
	AckP99Ms  float64 `json:"ack_p99_ms,omitempty"`
	AckP999Ms float64 `json:"ack_p999_ms,omitempty"`
	AckMaxMs  float64 `json:"ack_max_ms,omitempty"`
	// CPU is where the machine's CPU time went during the phase.
	CPU cpuUse `json:"cpu"`
}

func main() {
	cfg := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	if cfg.admin != "" {
		if err := adminOnly(ctx, cfg); err != nil {
			fmt.Fprintf(os.Stderr, "skiff-load: %v\n", err)
			os.Exit(1)
		}
		return
	}
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff-load: %v\n", err)
		os.Exit(1)
	}
	if cfg.jsonOut {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		return
	}
	printHuman(res)
}

func parseFlags() config {
	var cfg config
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
	flag.StringVar(&cfg.topic, "topic", "skiff-load", "topic to (re)create and load; deleted first if it exists")
	flag.IntVar(&cfg.partitions, "partitions", 6, "partitions of the topic")
	flag.IntVar(&cfg.records, "records", 5_000_000, "records to produce")
	flag.IntVar(&cfg.recordSize, "record-size", 100, "bytes per record value (no key)")
	flag.StringVar(&cfg.acks, "acks", "all", "all (idempotent producer), 1 or 0")
	flag.IntVar(&cfg.producers, "producers", 1, "producer clients, each producing records/producers")
	flag.BoolVar(&cfg.consume, "consume", false, "after producing, consume every record back from the start")
	flag.StringVar(&cfg.compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	flag.IntVar(&cfg.maxBuffered, "max-buffered", 1<<18, "kgo MaxBufferedRecords per producer client")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.StringVar(&cfg.label, "label", "", "name of the broker under test, copied into the result")
	flag.IntVar(&cfg.brokerPID, "broker-pid", 0, "pid of a broker on this machine, to report its CPU time per phase")
	flag.BoolVar(&cfg.jsonOut, "json", false, "print the result as one JSON line")
	flag.Float64Var(&cfg.rate, "rate", 0, "records/s over all producers (0: as fast as the broker takes them)")
	flag.DurationVar(&cfg.warmup, "warmup", 0, "leave records produced in this first part of the run out of the latency percentiles")
	flag.DurationVar(&cfg.linger, "linger", -1, "how long a batch waits for more records (negative: franz-go's default, 10ms)")
	flag.StringVar(&cfg.admin, "admin", "", "only \"create\" (recreate) or \"delete\" the topic, then exit")
	flag.Parse()
	cfg.brokers = strings.Split(*brokers, ",")
	if cfg.records < 1 || cfg.recordSize < 0 || cfg.partitions < 1 || cfg.producers < 1 || cfg.rate < 0 {
		fmt.Fprintln(os.Stderr, "skiff-load: --records, --partitions and --producers must be at least 1, --record-size and --rate at least 0")
		os.Exit(2)
	}
	if cfg.admin != "" && cfg.admin != "create" && cfg.admin != "delete" {
		fmt.Fprintf(os.Stderr, "skiff-load: --admin %q: use create or delete\n", cfg.admin)
		os.Exit(2)
	}
	return cfg
}

func run(ctx context.Context, cfg config) (result, error) {
	res := result{
		Label: cfg.label, Brokers: strings.Join(cfg.brokers, ","), Topic: cfg.topic,
		Partitions: cfg.partitions, Records: cfg.records, RecordSize: cfg.recordSize,
		Acks: cfg.acks, Producers: cfg.producers, Compression: cfg.compression,
	}
	if err := recreateTopic(ctx, cfg); err != nil {
		return res, err
	}
	produced, err := produce(ctx, cfg)
	if err != nil {
		return res, err
	}
	res.Produce = produced
	if !cfg.consume {
		return res, nil
	}
	consumed, err := consume(ctx, cfg)
	if err != nil {
		return res, err
	}
	res.Consume = &consumed
	return res, nil
}

func printHuman(r result) {
	fmt.Printf("%d records of %d bytes, %d partitions, acks=%s, %d producer(s), compression %s, brokers %s\n",
		r.Records, r.RecordSize, r.Partitions, r.Acks, r.Producers, r.Compression, r.Brokers)
	p := r.Produce
	fmt.Printf("produce: %.2fs  %.0f records/s  %.1f MB/s  (%sack p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms)\n",
		p.Seconds, p.RecordsPerSec, p.MBPerSec, perSecond(p), p.AckP50Ms, p.AckP99Ms, p.AckP999Ms, p.AckMaxMs)
	printCPU(p.CPU)
	if c := r.Consume; c != nil {
		fmt.Printf("consume: %.2fs  %.0f records/s  %.1f MB/s", c.Seconds, c.RecordsPerSec, c.MBPerSec)
		if ps := perSecond(*c); ps != "" {
			fmt.Printf("  (%s)", strings.TrimSuffix(ps, "; "))
		}
		fmt.Println()
		printCPU(c.CPU)
	}
}

// perSecond describes the range of whole-second rates, if the phase had any.
func perSecond(p phaseResult) string {
	if p.MaxSecondRate == 0 {
		return ""
	}
	return fmt.Sprintf("per second %.0f..%.0f; ", p.MinSecondRate, p.MaxSecondRate)
}

func printCPU(u cpuUse) {
	fmt.Printf("         CPU seconds: broker %.2f, this client %.2f, others %.2f (machine busy %.2f)\n",
		u.BrokerSeconds, u.ClientSeconds, u.OtherSeconds, u.MachineSeconds)
}
