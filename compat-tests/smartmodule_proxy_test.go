package compat_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchWatch is a TCP proxy in front of the broker that reads the Fetch requests
// clients send and remembers, per partition, the offset each last asked for: the
// client's fetch position, seen the same way for every client library. The broker
// advertises the proxy's address (--advertise), so a client that bootstraps through
// it keeps using it. Responses pass through untouched.
//
// # Notes
//
//   - With incremental fetch sessions (KIP-227; Java, librdkafka) a partition whose
//     offset did not change is left out of the request, so the last offset sent is
//     still the position.
//   - Fetch v13+ names topics by ID, older versions by name; both are kept and
//     [fetchWatch.position] takes whichever was sent last.
type fetchWatch struct {
	ln       net.Listener
	upstream atomic.Pointer[string]

	mu    sync.Mutex
	seq   int64
	parts map[watchKey]*watchStat
	conns map[net.Conn]bool
}

type watchKey struct {
	topic     string
	id        [16]byte
	partition int32
}

// watchStat is what one partition's fetches asked for.
type watchStat struct {
	seq     int64   // when it was last asked for, across all partitions
	last    int64   // the offset last asked for
	times   int     // how many fetches in a row asked for last
	history []int64 // the distinct offsets asked for, the latest last (bounded)
}

const watchHistory = 24

// startFetchWatch listens on a free loopback port; set its upstream with
// [fetchWatch.forward] before clients connect.
func startFetchWatch(t *testing.T) *fetchWatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fetch watch: %v", err)
	}
	w := &fetchWatch{ln: ln, parts: map[watchKey]*watchStat{}, conns: map[net.Conn]bool{}}
	go w.accept()
	t.Cleanup(w.close)
	return w
}

// Addr is the address clients use, and the broker advertises.
func (w *fetchWatch) Addr() string { return w.ln.Addr().String() }

// forward sets the broker address connections go to.
func (w *fetchWatch) forward(addr string) { w.upstream.Store(&addr) }

func (w *fetchWatch) close() {
	w.ln.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.conns {
		c.Close()
	}
	w.conns = nil
}

func (w *fetchWatch) track(c net.Conn, open bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if open && w.conns == nil {
		return false // closed
	}
	if open {
		w.conns[c] = true
	} else {
		delete(w.conns, c)
	}
	return true
}

func (w *fetchWatch) accept() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		go w.serve(c)
	}
}

// serve copies one client connection to a new broker connection, reading the
// client's requests frame by frame on the way.
func (w *fetchWatch) serve(client net.Conn) {
	up := w.upstream.Load()
	if up == nil {
		client.Close()
		return
	}
	broker, err := net.Dial("tcp", *up)
	if err != nil {
		client.Close()
		return
	}
	if !w.track(client, true) || !w.track(broker, true) {
		client.Close()
		broker.Close()
		return
	}
	defer func() {
		client.Close()
		broker.Close()
		w.track(client, false)
		w.track(broker, false)
	}()
	go func() {
		io.Copy(client, broker)
		client.Close()
	}()
	var size [4]byte
	for {
		if _, err := io.ReadFull(client, size[:]); err != nil {
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 0 || n > 200<<20 {
			return
		}
		frame := make([]byte, 4+n)
		copy(frame, size[:])
		if _, err := io.ReadFull(client, frame[4:]); err != nil {
			return
		}
		w.inspect(frame[4:])
		if _, err := broker.Write(frame); err != nil {
			return
		}
	}
}

// inspect records the offsets of a Fetch request; other requests, and requests
// it cannot parse, are only passed on.
func (w *fetchWatch) inspect(frame []byte) {
	if len(frame) < 10 || int16(binary.BigEndian.Uint16(frame)) != 1 {
		return
	}
	req, err := parseRequest(frame)
	if err != nil {
		return
	}
	fetch, ok := req.(*kmsg.FetchRequest)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rt := range fetch.Topics {
		for _, rp := range rt.Partitions {
			w.seq++
			k := watchKey{topic: rt.Topic, id: rt.TopicID, partition: rp.Partition}
			st := w.parts[k]
			if st == nil {
				st = &watchStat{last: -1}
				w.parts[k] = st
			}
			st.seq = w.seq
			if st.last == rp.FetchOffset {
				st.times++
				continue
			}
			st.last, st.times = rp.FetchOffset, 1
			st.history = append(st.history, rp.FetchOffset)
			if len(st.history) > watchHistory {
				st.history = st.history[1:]
			}
		}
	}
}

// parseRequest decodes a request frame (without its size): the request header
// (v1, or v2 with tagged fields for flexible versions), then the body with kmsg.
func parseRequest(frame []byte) (kmsg.Request, error) {
	key := int16(binary.BigEndian.Uint16(frame))
	req := kmsg.RequestForKey(key)
	if req == nil {
		return nil, fmt.Errorf("unknown key %d", key)
	}
	req.SetVersion(int16(binary.BigEndian.Uint16(frame[2:])))
	b := frame[8:] // after key, version, correlation id
	if len(b) < 2 {
		return nil, errors.New("short header")
	}
	skip := 2 // the client id's length, then the id unless it is null (-1)
	if n := int16(binary.BigEndian.Uint16(b)); n > 0 {
		skip += int(n)
	}
	if len(b) < skip {
		return nil, errors.New("short client id")
	}
	b = b[skip:]
	if req.IsFlexible() {
		tags, used := binary.Uvarint(b)
		if used <= 0 {
			return nil, errors.New("bad header tags")
		}
		b = b[used:]
		for range tags {
			_, used := binary.Uvarint(b)
			if used <= 0 {
				return nil, errors.New("bad header tag")
			}
			b = b[used:]
			size, used := binary.Uvarint(b)
			if used <= 0 || uint64(len(b)-used) < size {
				return nil, errors.New("bad header tag size")
			}
			b = b[used+int(size):]
		}
	}
	return req, req.ReadFrom(b)
}

// position returns the offset a client last fetched partition p of topic at, or
// -1 if no fetch named it.
func (w *fetchWatch) position(topic string, id [16]byte, p int32) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.latest(topic, id, p); st != nil {
		return st.last
	}
	return -1
}

func (w *fetchWatch) latest(topic string, id [16]byte, p int32) *watchStat {
	byName, byID := w.parts[watchKey{topic: topic, partition: p}], w.parts[watchKey{id: id, partition: p}]
	switch {
	case byName == nil:
		return byID
	case byID == nil || byName.seq > byID.seq:
		return byName
	}
	return byID
}

// repeats returns how many fetches in a row asked for partition p's last offset.
func (w *fetchWatch) repeats(topic string, id [16]byte, p int32) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.latest(topic, id, p); st != nil {
		return st.times
	}
	return 0
}

// describe says what the fetches of partition p asked for, for failure messages.
func (w *fetchWatch) describe(topic string, id [16]byte, p int32) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.latest(topic, id, p)
	if st == nil {
		return fmt.Sprintf("no Fetch named %s-%d", topic, p)
	}
	hist := make([]string, len(st.history))
	for i, o := range st.history {
		hist[i] = fmt.Sprint(o)
	}
	return fmt.Sprintf("last Fetch of %s-%d at offset %d (%d requests in a row); offsets fetched, oldest first: %s",
		topic, p, st.last, st.times, strings.Join(hist, " "))
}
