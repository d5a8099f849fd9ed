package broker

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/raftlog"
)

// Produce, key 0, versions 3-12, advertised from v0 as Kafka 4.4 does.
//
// Each partition's records must be exactly one record batch v2 (Kafka's rule
// since v3); it is validated (length, magic, CRC-32C, record count) and
// handed to the partition's Raft group as the bytes the client sent, except
// that a topic with message.timestamp.type=LogAppendTime gets the broker's
// time written into the batch (and its CRC recomputed). acks=1 and acks=-1
// are answered after the batch is committed through Raft, so after an fsync;
// acks=0 gets no response. Validation and Raft submission happen in request
// order on the connection's read path; waiting for commits happens on the
// write path, so pipelined produce requests overlap.
//
// Version notes: v0-v2 carried message formats v0/v1, which Kafka 4 removed.
// Kafka 4.4 still lists them in ApiVersions (KAFKA-18659: librdkafka looks
// for Produce v0 there before it compresses) and closes the connection on a
// request of those versions; so does Skiff.
//
// # Notes
//   - Transactional batches get INVALID_TXN_STATE until transactions land.
//   - An unknown topic is created first when auto.create.topics.enable is on.
//   - Kafka's internal topic names (__consumer_offsets and the like) get
//     INVALID_TOPIC_EXCEPTION, as Kafka answers a client (isInternalTopic).
//   - Bytes after the batch that do not make a whole second batch are
//     ignored, as Kafka ignores them (its log trims them).

func init() {
	regKey(0, 3, 12, handleProduce)
	advertiseFrom(0, 0)
}

type produceSlot struct {
	rp     *kmsg.ProduceResponseTopicPartition
	fut    *raftlog.AppendFuture
	ingest *ingestRun // a produce-time chain's run, instead of fut
	topic  string
	size   int
}

func handleProduce(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ProduceRequest)
	resp := respFor[*kmsg.ProduceResponse](r)
	acksOK := req.Acks == 0 || req.Acks == 1 || req.Acks == -1
	var slots []produceSlot
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	now := time.Now().UnixMilli()
	for ti := range req.Topics {
		rt := &req.Topics[ti]
		st := &resp.Topics[ti]
		st.Topic = rt.Topic
		st.TopicID = rt.TopicID
		t := b.topic(rt.Topic)
		internal := isInternalTopic(rt.Topic)
		if t == nil && acksOK && b.cfg.AutoCreateTopics && b.autoCreate(rt.Topic) == 0 {
			t = b.topic(rt.Topic)
		}
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			sp := &st.Partitions[pi]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset = -1
			sp.LogAppendTime = -1
			sp.LogStartOffset = -1
			if !acksOK {
				sp.ErrorCode = kerr.InvalidRequiredAcks.Code
				continue
			}
			if internal {
				sp.ErrorCode = kerr.InvalidTopicException.Code
				sp.ErrorMessage = strp(fmt.Sprintf("%s is the name of a Kafka internal topic, which takes no produce: produce to another topic", rt.Topic))
				b.metrics.partitionError(0, sp.ErrorCode)
				continue
			}
			if t != nil && t.isView() {
				sp.ErrorCode = kerr.InvalidTopicException.Code
				sp.ErrorMessage = strp(fmt.Sprintf("topic %s is a read-time view of %s and stores nothing: produce to %s", rt.Topic, t.meta.Configs[cfgViewOf], t.meta.Configs[cfgViewOf]))
				b.metrics.partitionError(0, sp.ErrorCode)
				continue
			}
			p, code := b.producePartition(t, rp.Partition)
			if code == 0 {
				rp.Records, code = checkProduceBatch(rp.Records, t, r.version, now)
			}
			if code != 0 {
				sp.ErrorCode = code
				b.metrics.partitionError(0, code)
				continue
			}
			if t.cfg.logAppendTime {
				protocol.SetLogAppendTime(rp.Records, now)
				sp.LogAppendTime = now
			}
			if t.meta.Configs[cfgIngestTransforms] != "" {
				// Produce-time SmartModules run off the read path, so
				// batches of several requests run at once, and are
				// appended in the order they arrived (ingestAsync).
				slots = append(slots, produceSlot{rp: sp, ingest: b.ingestAsync(t, p, rp.Partition, rp.Records), topic: rt.Topic})
				continue
			}
			slots = append(slots, produceSlot{rp: sp, fut: p.Append(rp.Records), topic: rt.Topic, size: len(rp.Records)})
		}
	}
	finish := func() kmsg.Response {
		for _, s := range slots {
			if in := s.ingest; in != nil {
				<-in.done
				if in.dead != nil {
					if res := in.dead.Wait(); res.Err != nil {
						b.log.Error("dead-letter write failed", "topic", s.topic, "err", res.Err)
					}
				}
				if in.err != nil {
					s.rp.ErrorCode, s.rp.ErrorMessage = in.err.code, &in.err.msg
					b.metrics.partitionError(0, in.err.code)
					continue
				}
				if in.fut == nil {
					continue // all filtered out: nothing stored
				}
				s.fut, s.size = in.fut, in.size
			}
			res := s.fut.Wait()
			if s.rp == nil { // a dead-letter write
				if res.Err != nil {
					b.log.Error("dead-letter write failed", "topic", s.topic, "err", res.Err)
				}
				continue
			}
			if res.Err != nil {
				s.rp.ErrorCode = errCode(res.Err)
				if s.rp.ErrorCode == kerr.UnknownServerError.Code {
					b.log.Error("produce failed", "topic", s.topic, "partition", s.rp.Partition, "err", res.Err)
				}
				b.metrics.partitionError(0, s.rp.ErrorCode)
				continue
			}
			s.rp.BaseOffset = res.BaseOffset
			s.rp.LogStartOffset = res.LogStartOffset
			b.metrics.topicIn.WithLabelValues(s.topic).Add(float64(s.size))
		}
		return resp
	}
	if req.Acks == 0 {
		// No response, but the writer still waits so that a later
		// request on this connection sees this one applied.
		return reply{none: true, wait: func() kmsg.Response { finish(); return nil }}, nil
	}
	return reply{wait: finish}, nil
}

// producePartition finds the partition to append to, or the error code.
func (b *Broker) producePartition(t *topicState, partition int32) (*raftlog.Partition, int16) {
	if t == nil || partition < 0 || int(partition) >= len(t.parts) {
		return nil, kerr.UnknownTopicOrPartition.Code
	}
	p := t.parts[partition]
	if p == nil || !p.IsLeader() {
		return nil, kerr.NotLeaderForPartition.Code
	}
	return p, 0
}

// checkProduceBatch validates a partition's records as Kafka does, in its
// order (ProduceRequest.validateRecords, UnifiedLog's checks, then
// LogValidator for magic 2), and returns the batch to store or the error
// code: INVALID_RECORD for records that hold no whole batch, a batch that is
// not magic 2, a second batch, a base offset other than 0 or records that
// break the rules; CORRUPT_MESSAGE for bytes that are all there but wrong
// (a length below any message, an unknown magic, a CRC mismatch).
func checkProduceBatch(records []byte, t *topicState, version int16, now int64) ([]byte, int16) {
	if len(records) == 0 {
		return nil, kerr.InvalidRecord.Code
	}
	batch, rest, err := protocol.NextBatch(records)
	switch {
	case errors.Is(err, protocol.ErrTruncatedBatch):
		return nil, kerr.InvalidRecord.Code // Kafka finds no batch
	case err != nil:
		return nil, kerr.CorruptMessage.Code
	}
	var hs [1]protocol.BatchHeader
	_, err = protocol.AppendValidBatches(hs[:0], batch)
	if errors.Is(err, protocol.ErrUnsupportedMagic) {
		return nil, kerr.InvalidRecord.Code
	}
	h, herr := protocol.ParseBatchHeader(batch)
	if herr == nil && version < 7 && h.Compression() == protocol.CodecZstd {
		return nil, kerr.UnsupportedCompressionType.Code
	}
	if len(rest) > 0 {
		// v3+: one batch per partition. Kafka frames the bytes after it
		// too: a whole batch is refused, a corrupt length or magic is
		// corrupt, and a partial batch is dropped (its log trims it).
		switch _, _, err := protocol.NextBatch(rest); {
		case err == nil:
			return nil, kerr.InvalidRecord.Code
		case !errors.Is(err, protocol.ErrTruncatedBatch):
			return nil, kerr.CorruptMessage.Code
		}
	}
	switch {
	case herr != nil:
		return nil, kerr.CorruptMessage.Code // shorter than a v2 header
	case h.BaseOffset != 0:
		return nil, kerr.InvalidRecord.Code // Kafka: a client's batch starts at offset 0
	case h.TotalSize() > t.cfg.maxMessageBytes:
		return nil, kerr.MessageTooLarge.Code
	case errors.Is(err, protocol.ErrInvalidRecord):
		return nil, kerr.InvalidRecord.Code
	case err != nil:
		return nil, kerr.CorruptMessage.Code // CRC, codec
	case h.Control():
		return nil, kerr.InvalidRecord.Code
	case h.ProducerID >= 0 && h.BaseSequence < 0:
		return nil, kerr.InvalidRecord.Code // Kafka: an idempotent batch needs a sequence
	case h.Transactional():
		return nil, kerr.InvalidTxnState.Code
	case !t.cfg.logAppendTime && (h.MaxTimestamp > now+t.cfg.timestampAfterMs || h.BaseTimestamp < now-t.cfg.timestampBeforeMs):
		return nil, kerr.InvalidTimestamp.Code // message.timestamp.after/before.max.ms
	}
	// Records of a compressed batch are checked by decompressing them (a
	// batch whose codec flag lies would reach consumers undecodable), and a
	// compacted topic needs a key on every record, as in Kafka's
	// LogValidator. A topic with produce-time SmartModules parses every
	// batch for its chain (and answers INVALID_RECORD when it cannot), so
	// it is not decompressed twice.
	ingest := t.meta.Configs[cfgIngestTransforms] != ""
	if (h.Compression() != protocol.CodecNone && !ingest) || t.cfg.compact {
		recs, err := protocol.ParseRecords(h, batch, maxDecompressedBatch)
		if err != nil {
			return nil, kerr.InvalidRecord.Code
		}
		if t.cfg.compact {
			for _, rec := range recs {
				if rec.Key == nil {
					return nil, kerr.InvalidRecord.Code
				}
			}
		}
	}
	return batch, 0
}

// maxDecompressedBatch bounds what one produced batch may decompress to.
const maxDecompressedBatch = 256 << 20

// ingestRun is a produced batch going through its topic's produce-time
// chain. Its fields are set before done is closed.
type ingestRun struct {
	done chan struct{}
	fut  *raftlog.AppendFuture // nil when nothing is stored
	size int
	dead *raftlog.AppendFuture // the dead letters' append, if any
	err  *ingestError
}

// ingestAsync runs a batch through the topic's produce-time chain in a
// goroutine and appends what comes out in arrival order: each run waits for
// the one before it on the same partition to have submitted its append, so
// an idempotent producer's batches reach Raft in sequence order while their
// modules run in parallel (a stateless module has an instance per core).
func (b *Broker) ingestAsync(t *topicState, p *raftlog.Partition, partition int32, records []byte) *ingestRun {
	run := &ingestRun{done: make(chan struct{})}
	submitted := make(chan struct{})
	prev := b.sm.takeTurn(p.Group(), submitted)
	go func() {
		defer close(run.done)
		defer b.sm.endTurn(p.Group(), submitted)
		out, dead, ierr := b.sm.ingest(b.ctx, t, partition, records)
		<-prev
		defer close(submitted)
		if ierr != nil {
			run.err = ierr
			return
		}
		if dead != nil {
			run.dead = b.deadLetterAppend(t, partition, dead)
		}
		if out != nil {
			in, _ := protocol.ParseBatchHeader(records)
			run.fut, run.size = p.AppendTransformed(out, in.LastOffsetDelta), len(out)
		}
	}()
	return run
}

// deadLetterAppend appends a produce-time chain's dead letters to their
// topic (the partition of the same number, modulo its count).
func (b *Broker) deadLetterAppend(t *topicState, partition int32, dead []byte) *raftlog.AppendFuture {
	_, topic, _ := strings.Cut(t.ingestPolicy(), ":")
	p, _ := b.topic(topic).mirrorPartition(partition)
	if p == nil {
		b.log.Error("dead-letter topic is gone or not open; dropping records", "topic", topic)
		return nil
	}
	return p.Append(dead)
}
