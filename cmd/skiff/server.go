package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/skiffstream/skiff/broker"
)

// serverSettings are the settings of `skiff server`. Each is a flag, a key of
// the config file and a SKIFF_* environment variable; a flag wins over the
// environment, which wins over the file.
type serverSettings struct {
	Listen           string `yaml:"listen"`
	Advertise        string `yaml:"advertise"`
	DataDir          string `yaml:"data-dir"`
	NodeID           int    `yaml:"node-id"`
	MetricsListen    string `yaml:"metrics-listen"`
	LogFormat        string `yaml:"log-format"`
	LogLevel         string `yaml:"log-level"`
	AutoCreateTopics bool   `yaml:"auto-create-topics"`
	NumPartitions    int    `yaml:"num-partitions"`
	MaxRequestBytes  int    `yaml:"socket-request-max-bytes"`
	MessageMaxBytes  int    `yaml:"message-max-bytes"`
	RetentionMs      int64  `yaml:"log-retention-ms"`
	RetentionBytes   int64  `yaml:"log-retention-bytes"`
	RetentionCheck   string `yaml:"retention-check-interval"`
	OffsetsRetention int    `yaml:"offsets-retention-minutes"`
	CGSession        string `yaml:"group-consumer-session-timeout"`
	CGHeartbeat      string `yaml:"group-consumer-heartbeat-interval"`
	TransformMemMiB  int    `yaml:"smartmodule-memory-mib"`
	TransformTimeout string `yaml:"smartmodule-batch-timeout"`
}

func defaultServerSettings() serverSettings {
	d := broker.DefaultConfig()
	return serverSettings{
		Listen: d.Listen, DataDir: d.DataDir, NodeID: int(d.NodeID), MetricsListen: "127.0.0.1:9644",
		LogFormat: "text", LogLevel: "info", AutoCreateTopics: d.AutoCreateTopics, NumPartitions: int(d.NumPartitions),
		MaxRequestBytes: d.MaxRequestSize, MessageMaxBytes: int(d.MessageMaxBytes),
		RetentionMs: d.LogRetentionMs, RetentionBytes: d.LogRetentionBytes, RetentionCheck: d.RetentionCheckInterval.String(),
		OffsetsRetention: int(d.OffsetsRetention / time.Minute),
		TransformMemMiB:  16, TransformTimeout: "5s",
		CGSession: d.ConsumerGroupSessionTimeout.String(), CGHeartbeat: d.ConsumerGroupHeartbeatInterval.String(),
	}
}

// bindServerFlags defines a flag per setting on fs, with s's values as
// defaults.
func bindServerFlags(fs *flag.FlagSet, s *serverSettings) *string {
	config := fs.String("config", "", "read settings from this YAML file (keys as the flag names)")
	fs.StringVar(&s.Listen, "listen", s.Listen, "Kafka listener HOST:PORT")
	fs.StringVar(&s.Advertise, "advertise", s.Advertise, "HOST:PORT clients are told to connect to (default: --listen)")
	fs.StringVar(&s.DataDir, "data-dir", s.DataDir, "folder for this node's data")
	fs.IntVar(&s.NodeID, "node-id", s.NodeID, "this node's broker id")
	fs.StringVar(&s.MetricsListen, "metrics-listen", s.MetricsListen, "HOST:PORT for /metrics, /healthz, /readyz and the admin API that skiff smartmodule and skiff transform use (empty: off)")
	fs.StringVar(&s.LogFormat, "log-format", s.LogFormat, "text or json")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&s.AutoCreateTopics, "auto-create-topics", s.AutoCreateTopics, "create unknown topics on first produce or metadata request (auto.create.topics.enable)")
	fs.IntVar(&s.NumPartitions, "num-partitions", s.NumPartitions, "partitions of auto-created topics (num.partitions)")
	fs.IntVar(&s.MaxRequestBytes, "socket-request-max-bytes", s.MaxRequestBytes, "largest request accepted; larger ones close the connection")
	fs.IntVar(&s.MessageMaxBytes, "message-max-bytes", s.MessageMaxBytes, "default max.message.bytes of topics")
	fs.Int64Var(&s.RetentionMs, "log-retention-ms", s.RetentionMs, "default retention.ms of topics (-1: forever)")
	fs.Int64Var(&s.RetentionBytes, "log-retention-bytes", s.RetentionBytes, "default retention.bytes of topics (-1: unlimited)")
	fs.StringVar(&s.RetentionCheck, "retention-check-interval", s.RetentionCheck, "how often retention runs")
	fs.StringVar(&s.CGSession, "group-consumer-session-timeout", s.CGSession, "consumer-protocol (KIP-848) groups: a member silent this long is removed (group.consumer.session.timeout.ms)")
	fs.StringVar(&s.CGHeartbeat, "group-consumer-heartbeat-interval", s.CGHeartbeat, "consumer-protocol (KIP-848) groups: how often members heartbeat (group.consumer.heartbeat.interval.ms)")
	fs.IntVar(&s.TransformMemMiB, "smartmodule-memory-mib", s.TransformMemMiB, "memory limit of each SmartModule instance, in MiB")
	fs.StringVar(&s.TransformTimeout, "smartmodule-batch-timeout", s.TransformTimeout, "time limit of a SmartModule on one batch; a module still running then is stopped")
	fs.IntVar(&s.OffsetsRetention, "offsets-retention-minutes", s.OffsetsRetention, "committed offsets of a group empty this long expire (offsets.retention.minutes)")
	return config
}

// loadServerSettings resolves defaults < config file < SKIFF_* < flags.
func loadServerSettings(args []string, getenv func(string) string, stderr io.Writer) (serverSettings, error) {
	s := defaultServerSettings()
	// First pass: find --config without applying other flags.
	probe := flag.NewFlagSet("server", flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	cfgPath := bindServerFlags(probe, &serverSettings{})
	_ = probe.Parse(args)
	if *cfgPath == "" {
		*cfgPath = getenv("SKIFF_CONFIG")
	}
	if *cfgPath != "" {
		data, err := os.ReadFile(*cfgPath)
		if err != nil {
			return s, fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
			return s, fmt.Errorf("config file %s: %w (keys are the flag names, e.g. listen: 127.0.0.1:9092)", *cfgPath, err)
		}
	}
	// Environment: SKIFF_ plus the flag name in upper case with '_'.
	envFS := flag.NewFlagSet("server", flag.ContinueOnError)
	bindServerFlags(envFS, &s)
	var envErr error
	envFS.VisitAll(func(f *flag.Flag) {
		name := "SKIFF_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && f.Name != "config" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return s, envErr
	}
	fs := flag.NewFlagSet("skiff server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bindServerFlags(fs, &s)
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return s, nil
}

func (s serverSettings) brokerConfig(log *slog.Logger) (broker.Config, error) {
	c := broker.DefaultConfig()
	c.NodeID = int32(s.NodeID)
	c.Listen, c.Advertise, c.DataDir = s.Listen, s.Advertise, s.DataDir
	c.AutoCreateTopics = s.AutoCreateTopics
	c.NumPartitions = int32(s.NumPartitions)
	c.MaxRequestSize = s.MaxRequestBytes
	c.MessageMaxBytes = int32(s.MessageMaxBytes)
	c.LogRetentionMs, c.LogRetentionBytes = s.RetentionMs, s.RetentionBytes
	d, err := time.ParseDuration(s.RetentionCheck)
	if err != nil {
		return c, fmt.Errorf("retention-check-interval %q: %v", s.RetentionCheck, err)
	}
	c.RetentionCheckInterval = d
	c.OffsetsRetention = time.Duration(s.OffsetsRetention) * time.Minute
	if c.ConsumerGroupSessionTimeout, err = time.ParseDuration(s.CGSession); err != nil || c.ConsumerGroupSessionTimeout <= 0 {
		return c, fmt.Errorf("group-consumer-session-timeout %q: want a duration such as 45s", s.CGSession)
	}
	if c.ConsumerGroupHeartbeatInterval, err = time.ParseDuration(s.CGHeartbeat); err != nil || c.ConsumerGroupHeartbeatInterval <= 0 || c.ConsumerGroupHeartbeatInterval >= c.ConsumerGroupSessionTimeout {
		return c, fmt.Errorf("group-consumer-heartbeat-interval %q: want a duration shorter than the session timeout, such as 5s", s.CGHeartbeat)
	}
	if s.TransformMemMiB < 1 || s.TransformMemMiB > 4096 {
		return c, errors.New("smartmodule-memory-mib must be between 1 and 4096")
	}
	c.TransformMemoryLimit = int64(s.TransformMemMiB) << 20
	if c.TransformBatchTimeout, err = time.ParseDuration(s.TransformTimeout); err != nil || c.TransformBatchTimeout <= 0 {
		return c, fmt.Errorf("smartmodule-batch-timeout %q: want a duration such as 5s", s.TransformTimeout)
	}
	if s.OffsetsRetention < 1 {
		return c, errors.New("offsets-retention-minutes must be at least 1")
	}
	if c.NumPartitions < 1 {
		return c, errors.New("num-partitions must be at least 1")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c, fmt.Errorf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:9092", c.Listen)
	}
	c.Logger = log
	return c, nil
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}

func runServer(args []string, _ io.Reader, _, stderr io.Writer) int {
	s, err := loadServerSettings(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "skiff server:", err)
		return 2
	}
	log, err := newLogger(s.LogFormat, s.LogLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "skiff server:", err)
		return 2
	}
	cfg, err := s.brokerConfig(log)
	if err != nil {
		fmt.Fprintln(stderr, "skiff server:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, s.MetricsListen); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// serve runs a broker until ctx ends, then stops it gracefully.
func serve(ctx context.Context, cfg broker.Config, metricsListen string) error {
	log := cfg.Logger
	b := broker.New(cfg)
	if err := b.Start(); err != nil {
		return err
	}
	log.Info("skiff listening", "version", version, "kafka", b.Addr().String(), "data_dir", cfg.DataDir, "node_id", cfg.NodeID)
	var hs *http.Server
	if metricsListen != "" {
		ln, err := net.Listen("tcp", metricsListen)
		if err != nil {
			b.Close()
			return fmt.Errorf("metrics listener %s: %w (pick another with --metrics-listen, or --metrics-listen '' to turn it off)", metricsListen, err)
		}
		hs = &http.Server{Handler: metricsMux(b), ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		log.Info("metrics listening", "addr", ln.Addr().String())
	}
	errCh := make(chan error, 1)
	go func() { errCh <- b.WaitReady(ctx) }()
	select {
	case err := <-errCh:
		if err != nil && ctx.Err() == nil {
			b.Close()
			return err
		}
	case <-ctx.Done():
	}
	<-ctx.Done()
	log.Info("shutting down")
	if hs != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		hs.Shutdown(sctx)
		cancel()
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	log.Info("stopped")
	return nil
}

func metricsMux(b *broker.Broker) *http.ServeMux {
	b.RegisterPartitionMetrics()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(b.Metrics().Registry, promhttp.HandlerOpts{}))
	// Profiles for diagnosing a live broker: the metrics listener is on
	// loopback by default.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// The admin API (SmartModules, transforms): broker/admin.go.
	mux.Handle("/v1/", b.AdminHandler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !b.Ready() {
			http.Error(w, "starting: storage and partitions are still opening", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	return mux
}
