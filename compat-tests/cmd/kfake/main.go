// Command kfake runs franz-go's in-memory Kafka (kfake) as a separate process,
// so the compat tests can be developed and checked before the Skiff broker
// exists. The harness starts it instead of `skiff server` when
// SKIFF_COMPAT_TARGET=kfake.
//
// It mirrors the parts of `skiff server` that the tests rely on: one broker on
// the given loopback port, topic auto-creation on, one partition per
// auto-created topic, and (with -data-dir) state that survives a restart. It
// runs until SIGTERM or SIGINT, then saves its state and exits 0.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:9092", "address to serve Kafka on; only the port is used, kfake always binds 127.0.0.1")
	dataDir := flag.String("data-dir", "", "directory to persist state in; empty keeps everything in memory")
	partitions := flag.Int("num-partitions", 1, "partitions of an auto-created topic")
	seed := flag.String("seed-topics", "", "comma-separated topics to create at start")
	flag.Parse()

	_, portText, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("parse -listen %q: %w", *listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("parse port of -listen %q: %w", *listen, err)
	}

	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, kfake.LogLevelWarn)),
	}
	if *seed != "" {
		opts = append(opts, kfake.SeedTopics(int32(*partitions), strings.Split(*seed, ",")...))
	}
	if *dataDir != "" {
		// SyncWrites makes every acknowledged produce durable, so a SIGKILL
		// loses nothing: the same promise the crash tests check Skiff for.
		opts = append(opts, kfake.DataDir(*dataDir), kfake.SyncWrites())
	}

	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kfake listening on %s (data dir %q)\n", strings.Join(cluster.ListenAddrs(), ","), *dataDir)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	sig := <-sigs
	fmt.Fprintf(os.Stderr, "kfake: %v received, shutting down\n", sig)
	cluster.Close()
	fmt.Fprintln(os.Stderr, "kfake: stopped")
	return nil
}
