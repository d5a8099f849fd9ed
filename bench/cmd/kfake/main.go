// Command kfake runs franz-go's in-memory Kafka broker (pkg/kfake) as its own
// process, so that bench/run.sh can measure it over loopback exactly the way it
// measures a skiff server: same client, same load, separate process.
//
// It listens on 127.0.0.1:PORT with one broker and automatic topic creation,
// prints "kfake listening on ADDR" once it accepts connections, and runs until
// SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 0, "port to listen on at 127.0.0.1 (0: pick a free one)")
	partitions := flag.Int("partitions", 6, "partitions of an auto-created topic")
	flag.Parse()

	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: start cluster on port %d: %v (pick another with --port)\n", *port, err)
		os.Exit(1)
	}
	fmt.Printf("kfake listening on %s\n", c.ListenAddrs()[0])

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	c.Close()
}
