package broker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/protocol"
)

// clientConn is one client connection. A reader goroutine decodes requests
// and runs handlers in arrival order (so produce requests reach Raft in
// order); a writer goroutine finishes and writes responses in the same
// order. Up to maxInFlight responses may be pending, so pipelined produce
// requests overlap their Raft commits.
type clientConn struct {
	b       *Broker
	c       net.Conn
	remote  string
	pending chan pendingReply
}

type pendingReply struct {
	corr  int32
	key   int16
	ver   int16
	start time.Time
	reply reply
	// frame, when set, goes back to protocol's pool once the reply is
	// written: a produce request's, whose batches Raft has written to
	// their segments by the time its wait returns.
	frame []byte
}

const maxInFlight = 64

func (b *Broker) acceptLoop() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			b.log.Error("accept", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		b.connMu.Lock()
		b.conns[c] = struct{}{}
		b.connMu.Unlock()
		b.metrics.connections.Inc()
		cc := &clientConn{b: b, c: c, remote: c.RemoteAddr().String(), pending: make(chan pendingReply, maxInFlight)}
		b.wg.Add(2)
		go cc.readLoop()
		go cc.writeLoop()
	}
}

func (cc *clientConn) close() {
	cc.c.Close()
	cc.b.connMu.Lock()
	if _, ok := cc.b.conns[cc.c]; ok {
		delete(cc.b.conns, cc.c)
		cc.b.metrics.connections.Dec()
	}
	cc.b.connMu.Unlock()
}

func (cc *clientConn) readLoop() {
	defer cc.b.wg.Done()
	defer close(cc.pending)
	br := bufio.NewReaderSize(cc.c, 64<<10)
	for {
		frame, err := protocol.ReadPooledFrame(br, cc.b.cfg.MaxRequestSize)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				cc.b.log.Info("closing connection", "remote", cc.remote, "reason", err)
			}
			cc.close()
			return
		}
		start := time.Now()
		cc.b.metrics.bytesIn.Add(float64(len(frame) + 4))
		rep, hdr, err := cc.handle(frame)
		if err != nil {
			cc.b.log.Info("closing connection", "remote", cc.remote, "api", hdr.Key, "version", hdr.Version, "reason", err)
			cc.close()
			return
		}
		p := pendingReply{corr: hdr.CorrelationID, key: hdr.Key, ver: hdr.Version, start: start, reply: rep}
		if hdr.Key == 0 && rep.wait != nil {
			// Only produce frames are recycled: other requests' fields
			// (group metadata, for one) may be kept past the reply.
			p.frame = frame
		}
		cc.pending <- p
	}
}

// handle decodes one request and runs its handler.
func (cc *clientConn) handle(frame []byte) (reply, protocol.RequestHeader, error) {
	hdr, kreq, body, err := protocol.ParseRequestHeader(frame)
	if err != nil {
		return reply{}, hdr, err
	}
	api, known := apis[hdr.Key]
	if hdr.Key == 18 && (kreq == nil || hdr.Version > api.max || hdr.Version > kreq.MaxVersion()) {
		// An ApiVersions request newer than we know: answer v0 with
		// UNSUPPORTED_VERSION and the key list, so the client downgrades.
		return reply{resp: apiVersionsFallback()}, hdr, nil
	}
	if kreq == nil || !known {
		return reply{}, hdr, errors.New("unsupported API key " + strconv.Itoa(int(hdr.Key)))
	}
	if hdr.Version < api.min || hdr.Version > api.max {
		return reply{}, hdr, errors.New("unsupported version " + strconv.Itoa(int(hdr.Version)) + " of API key " + strconv.Itoa(int(hdr.Key)))
	}
	if err := kreq.ReadFrom(body); err != nil {
		return reply{}, hdr, errors.New("malformed request body: " + err.Error())
	}
	if hdr.Key != 18 {
		if err := cc.b.WaitReady(cc.b.ctx); err != nil {
			return reply{}, hdr, errors.New("broker not ready: " + err.Error())
		}
	}
	r := &request{key: hdr.Key, version: hdr.Version, clientID: hdr.ClientID, kreq: kreq, conn: cc}
	rep, err := api.fn(cc.b, r)
	return rep, hdr, err
}

func (cc *clientConn) writeLoop() {
	defer cc.b.wg.Done()
	bw := bufio.NewWriterSize(cc.c, 64<<10)
	var buf []byte
	failed := false
	for p := range cc.pending {
		if failed {
			continue // drain so the reader never blocks
		}
		if p.reply.none {
			if p.reply.wait != nil {
				p.reply.wait()
				protocol.PutBuffer(p.frame)
			}
			cc.b.metrics.observe(p.key, p.ver, 0, time.Since(p.start))
			continue
		}
		resp := p.reply.resp
		if p.reply.wait != nil {
			resp = p.reply.wait()
		}
		if hint := sizeHint(resp); hint > cap(buf) {
			protocol.PutBuffer(buf)
			buf = protocol.GetBuffer(hint)
		}
		buf = protocol.AppendResponse(buf[:0], p.corr, resp)
		protocol.PutBuffer(p.frame)
		if p.reply.release != nil {
			p.reply.release()
		}
		cc.b.metrics.observe(p.key, p.ver, firstErrorCode(resp), time.Since(p.start))
		cc.b.metrics.bytesOut.Add(float64(len(buf)))
		if _, err := bw.Write(buf); err != nil {
			failed = true
			cc.close()
			continue
		}
		if len(cc.pending) == 0 {
			if err := bw.Flush(); err != nil {
				failed = true
				cc.close()
			}
		}
		if cap(buf) > 4<<20 {
			// Do not pin a large fetch buffer per idle connection: the
			// pool keeps it for whichever connection needs one next.
			protocol.PutBuffer(buf)
			buf = nil
		}
	}
}

// sizeHint estimates the encoded size of a response whose record bytes
// make it large (a fetch), so that it is encoded into a buffer of the right
// size rather than one that doubles as it goes; 0 for the others.
func sizeHint(resp kmsg.Response) int {
	fr, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 0
	}
	n := 64
	for i := range fr.Topics {
		t := &fr.Topics[i]
		n += 32 + len(t.Topic)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			n += 64 + len(p.RecordBatches) + 32*len(p.AbortedTransactions)
		}
	}
	return n
}

// errorCodeField caches, per response type, the index of its top-level
// ErrorCode field (-1 if it has none).
var errorCodeField sync.Map

// firstErrorCode finds the top-level error code of a response for the
// request metrics, or 0 (per-partition errors are counted by handlers).
func firstErrorCode(resp kmsg.Response) int16 {
	v := reflect.ValueOf(resp).Elem()
	idx, ok := errorCodeField.Load(v.Type())
	if !ok {
		i := -1
		if f, found := v.Type().FieldByName("ErrorCode"); found && len(f.Index) == 1 && f.Type.Kind() == reflect.Int16 {
			i = f.Index[0]
		}
		errorCodeField.Store(v.Type(), i)
		idx = i
	}
	if i := idx.(int); i >= 0 {
		return int16(v.Field(i).Int())
	}
	return 0
}
