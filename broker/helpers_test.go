package broker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testBroker is an in-process broker on a free port.
type testBroker struct {
	*Broker
	dir string
}

func startTestBroker(t testing.TB, dir string, mod ...func(*Config)) *testBroker {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range mod {
		m(&cfg)
	}
	b := New(cfg)
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	tb := &testBroker{Broker: b, dir: dir}
	t.Cleanup(func() { b.Close() })
	return tb
}

func (tb *testBroker) addr() string { return tb.Addr().String() }

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// request sends one raw request and returns its response.
func send[R kmsg.Response](t testing.TB, c *kgo.Client, req kmsg.Request) R {
	t.Helper()
	resp, err := c.Request(ctxT(t), req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp.(R)
}

func createTopic(t testing.TB, c *kgo.Client, name string, parts int32, configs ...string) {
	t.Helper()
	if code, msg := createTopicErr(t, c, name, parts, configs...); code != 0 {
		t.Fatalf("create %s: %s %s", name, errName(code), msg)
	}
}

// createTopicErr creates a topic (configs are name, value pairs) and
// returns its error code and message.
func createTopicErr(t testing.TB, c *kgo.Client, name string, parts int32, configs ...string) (int16, string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, 1
	for i := 0; i+1 < len(configs); i += 2 {
		rt.Configs = append(rt.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: configs[i], Value: &configs[i+1]})
	}
	req.Topics = append(req.Topics, rt)
	resp := send[*kmsg.CreateTopicsResponse](t, c, req)
	msg := ""
	if m := resp.Topics[0].ErrorMessage; m != nil {
		msg = *m
	}
	return resp.Topics[0].ErrorCode, msg
}
