package probe

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Broker is one broker that probes go to.
type Broker struct {
	Name string // in messages: "kafka", "skiff"
	Addr string
	Cl   *kgo.Client        // the client probes use, capped to Vers
	Vers *kversion.Versions // the highest request versions to send
}

// NewBroker returns a Broker for addr whose client sends requests at vers at
// most (CommonVersions); the client closes when the test ends.
func NewBroker(t testing.TB, name, addr string, vers *kversion.Versions) *Broker {
	t.Helper()
	b := &Broker{Name: name, Addr: addr, Vers: vers}
	b.Cl = b.Client(t)
	return b
}

// Client returns a new client for b, capped to b.Vers, with opts added; it
// closes when the test ends.
func (b *Broker) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.MaxVersions(b.Vers), kgo.MetadataMinAge(50 * time.Millisecond)}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("%s: franz-go client: %v", b.Name, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// CommonVersions asks both brokers for their ApiVersions and keeps, for each
// key both serve, the lower of the two maximum versions.
func CommonVersions(ctx context.Context, t testing.TB, addrs ...string) *kversion.Versions {
	t.Helper()
	var all []*kversion.Versions
	for _, addr := range addrs {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
		cl.Close()
		if err != nil {
			t.Fatalf("ApiVersions to %s: %v", addr, err)
		}
		all = append(all, kversion.FromApiVersionsResponse(resp))
	}
	common := kversion.FromApiVersionsResponse(&kmsg.ApiVersionsResponse{})
	all[0].EachMaxKeyVersion(func(key, v int16) {
		for _, other := range all[1:] {
			ov, ok := other.LookupMaxKeyVersion(key)
			if !ok {
				return
			}
			v = min(v, ov)
		}
		common.SetMaxKeyVersion(key, v)
	})
	return common
}

// ErrName is the protocol name of a Kafka error code, "NONE" for 0.
func ErrName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	return fmt.Sprintf("error code %d", code)
}

// ErrOf names a request error the same way on both brokers: the Kafka error
// name, or "request failed" (a closed connection, a timeout).
func ErrOf(err error) string {
	if err == nil {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return "request failed"
}

// WithMax returns b with a client that sends request key at version max at most.
func (b *Broker) WithMax(t testing.TB, key, max int16) *Broker {
	t.Helper()
	vers := kversion.FromApiVersionsResponse(&kmsg.ApiVersionsResponse{})
	b.Vers.EachMaxKeyVersion(func(k, v int16) {
		if k == key {
			v = min(v, max)
		}
		vers.SetMaxKeyVersion(k, v)
	})
	return NewBroker(t, b.Name, b.Addr, vers)
}
