package compat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkajsConsumerKeys are the APIs a kafkajs consumer cannot start without: it has no
// assign mode, every read goes through a consumer group.
var kafkajsConsumerKeys = []int16{
	8,  // OffsetCommit
	9,  // OffsetFetch
	10, // FindCoordinator
	11, // JoinGroup
	12, // Heartbeat
	13, // LeaveGroup
	14, // SyncGroup
}

// TestCompatKafkaJS runs kafkajs 2.x (see node/package.json): idempotent producers in
// every codec (none, gzip, snappy via kafkajs-snappy, lz4 via kafkajs-lz4, zstd via
// zstd-codec) and a plain one, then a consumer group reading from the beginning, before
// and after a broker restart. See runExternalClient in java_test.go.
//
// While the broker does not advertise the consumer group APIs, only the produce phase
// runs and the test is skipped after it, naming the missing APIs.
func TestCompatKafkaJS(t *testing.T) {
	harness.Require(t, "node")
	needBuilt(t, filepath.Join("node", "node_modules", "kafkajs", "package.json"))
	argv := []string{"node", needBuilt(t, filepath.Join("node", "client.js"))}
	s, topic := startExternal(t, "kafkajs")
	runPhase(t, "kafkajs", argv, s.Addr(), topic, "produce")
	if missing := missingAPIs(t, s.Addr(), kafkajsConsumerKeys); len(missing) > 0 {
		t.Skipf("produce passed; kafkajs cannot consume: the %s broker does not advertise %v, and a kafkajs consumer always joins a group", s.Target(), missing)
	}
	verifyAcrossRestart(t, s, "kafkajs", argv, topic)
}

// missingAPIs asks the broker for its ApiVersions and returns the names of keys it lacks.
func missingAPIs(t *testing.T, addr string, keys []int16) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatalf("franz-go client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ApiVersions from %s: %v", addr, err)
	}
	have := make(map[int16]bool)
	for _, k := range resp.ApiKeys {
		have[k.ApiKey] = true
	}
	var missing []string
	for _, k := range keys {
		if !have[k] {
			missing = append(missing, fmt.Sprintf("%s (key %d)", kmsg.NameForKey(k), k))
		}
	}
	return missing
}
