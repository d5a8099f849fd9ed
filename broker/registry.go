package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// request is one decoded request and what a handler needs to know about it.
type request struct {
	key, version int16
	clientID     string
	kreq         kmsg.Request
	conn         *clientConn
}

// reply is a handler's answer. Exactly one of resp or wait is set, unless
// none is true (acks=0 produce: Kafka sends nothing back).
type reply struct {
	resp kmsg.Response
	// wait completes the response off the read path (Raft commits, long
	// polls); the connection's writer calls it in request order.
	wait func() kmsg.Response
	none bool
	// release, when set, runs once the response is encoded: it gives
	// buffers the response referred to back to their pool.
	release func()
}

// handler serves one API. A non-nil error closes the connection; Kafka
// errors go inside the response.
type handler func(b *Broker, r *request) (reply, error)

type apiEntry struct {
	min, max int16
	// advertisedMin is the lowest version ApiVersions lists, which may be
	// below min (see advertiseFrom); requests below min still close the
	// connection.
	advertisedMin int16
	fn            handler
}

var apis = map[int16]apiEntry{}

// regKey registers the handler of an API key with the version range it
// serves. ApiVersions answers from this table.
func regKey(key, min, max int16, fn handler) {
	if kmsg.RequestForKey(key) == nil {
		panic("kmsg does not know API key")
	}
	apis[key] = apiEntry{min: min, max: max, advertisedMin: min, fn: fn}
}

// advertiseFrom makes ApiVersions list key from version v, below the
// versions its handler serves, where Kafka does the same: Kafka 4.4 lists
// Produce from v0 but serves v3 and up (KAFKA-18659). A request below the
// served range still closes the connection, as in Kafka.
func advertiseFrom(key, v int16) {
	a, ok := apis[key]
	if !ok || v > a.min {
		panic("advertiseFrom: register the key first, and advertise no less than it serves")
	}
	a.advertisedMin = v
	apis[key] = a
}

// supportedKeys lists the registered keys in order.
func supportedKeys() []int16 {
	keys := make([]int16, 0, len(apis))
	for k := range apis {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// respFor returns the typed response for a request, at its version.
func respFor[T kmsg.Response](r *request) T {
	resp := r.kreq.ResponseKind().(T)
	resp.SetVersion(r.version)
	return resp
}
