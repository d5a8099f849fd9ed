package reference

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestReferenceLastLine(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:1\n":                    "127.0.0.1:1",
		"noise\n127.0.0.1:1,127.0.0.1:2\n": "127.0.0.1:1,127.0.0.1:2",
		"  x  ":                            "x",
	} {
		if got := lastLine(in); got != want {
			t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReferenceCluster starts the three-node cluster, creates a topic with
// replication factor 3 through Kafka's kafka-topics tool, and round-trips
// records with acks=all. It takes about a minute on two cores, so it runs
// only with SKIFF_REFERENCE_CLUSTER=1.
func TestReferenceCluster(t *testing.T) {
	if os.Getenv("SKIFF_REFERENCE_CLUSTER") != "1" {
		t.Skip("set SKIFF_REFERENCE_CLUSTER=1 to start the three-node Kafka cluster")
	}
	k := Start(t, Nodes(3))
	if got := len(k.Addrs()); got != 3 {
		t.Fatalf("Addrs() = %v, want 3 addresses", k.Addrs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := k.Tool(ctx, "kafka-topics", "--bootstrap-server", strings.Join(k.Addrs(), ","),
		"--create", "--topic", "replicated", "--partitions", "3", "--replication-factor", "3")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kafka-topics --create: %v\n%s", err, out.String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addrs()...), kgo.DefaultProduceTopic("replicated"),
		kgo.ConsumeTopics("replicated"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, "replicated")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.Topics["replicated"].Partitions {
		if len(p.Replicas) != 3 || len(p.ISR) != 3 {
			t.Errorf("partition %d: replicas %v, ISR %v; want 3 of each", p.Partition, p.Replicas, p.ISR)
		}
	}
	const n = 30
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, n, err)
		}
		got += fs.NumRecords()
	}
}
