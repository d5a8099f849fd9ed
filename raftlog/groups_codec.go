package raftlog

import (
	"encoding/binary"
	"errors"
)

// Binary encodings of the offsets group: Raft command bodies, Pebble keys and
// values. Strings and byte strings are uvarint-length prefixed; integers are
// varints. A decoder never panics on damaged input: it records the first
// error and returns zero values from then on (see FuzzRaftlogOffsetsDecode).

var errShort = errors.New("truncated or damaged consumer group record")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v != int64(int32(v)) {
		d.fail()
		return 0
	}
	return int32(v)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	v := d.raw()
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}

// count reads an element count and checks it against the bytes left, each
// element taking at least min bytes, so damaged input cannot make a decoder
// allocate without bound.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) end() {
	if len(d.b) != 0 {
		d.fail()
	}
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// Committed offset value: offset, leader epoch, commit time, metadata.

func encodeCommitted(dst []byte, c Committed) []byte {
	dst = binary.AppendVarint(dst, c.Offset)
	dst = binary.AppendVarint(dst, int64(c.LeaderEpoch))
	dst = binary.AppendVarint(dst, c.CommitTime)
	return appendStr(dst, c.Metadata)
}

func decodeCommitted(d *decoder) Committed {
	var c Committed
	c.Offset = d.varint()
	c.LeaderEpoch = d.int32()
	c.CommitTime = d.varint()
	c.Metadata = d.str()
	return c
}

// Commit command: group, count, then topic, partition and Committed each.

func encodeCommit(group string, commits []OffsetCommit) []byte {
	n := 16 + len(group)
	for _, c := range commits {
		n += 40 + len(c.Topic) + len(c.Metadata)
	}
	dst := appendStr(make([]byte, 0, n), group)
	dst = binary.AppendUvarint(dst, uint64(len(commits)))
	for _, c := range commits {
		dst = appendStr(dst, c.Topic)
		dst = binary.AppendVarint(dst, int64(c.Partition))
		dst = encodeCommitted(dst, c.Committed)
	}
	return dst
}

func decodeCommit(d *decoder) (string, []OffsetCommit) {
	group := d.str()
	out := make([]OffsetCommit, d.count(6))
	for i := range out {
		out[i].Topic = d.str()
		out[i].Partition = d.int32()
		out[i].Committed = decodeCommitted(d)
	}
	d.end()
	return group, out
}

func encodeDeleteOffsets(group string, tps []TopicPartition) []byte {
	dst := appendStr(nil, group)
	dst = binary.AppendUvarint(dst, uint64(len(tps)))
	for _, tp := range tps {
		dst = appendStr(dst, tp.Topic)
		dst = binary.AppendVarint(dst, int64(tp.Partition))
	}
	return dst
}

func decodeDeleteOffsets(d *decoder) (string, []TopicPartition) {
	group := d.str()
	out := make([]TopicPartition, d.count(2))
	for i := range out {
		out[i].Topic = d.str()
		out[i].Partition = d.int32()
	}
	d.end()
	return group, out
}

// Group metadata: a format version byte, then the fields in order.

const groupMetaVersion = 1

func encodeGroupMeta(dst []byte, g *GroupMeta) []byte {
	dst = append(dst, groupMetaVersion)
	dst = appendStr(dst, g.Group)
	dst = appendStr(dst, g.ProtocolType)
	dst = appendStr(dst, g.Protocol)
	dst = appendStr(dst, g.Leader)
	dst = binary.AppendVarint(dst, int64(g.Generation))
	dst = binary.AppendVarint(dst, g.StateTime)
	dst = binary.AppendUvarint(dst, uint64(len(g.Members)))
	for _, m := range g.Members {
		dst = appendStr(dst, m.MemberID)
		dst = appendStr(dst, m.InstanceID)
		dst = appendStr(dst, m.ClientID)
		dst = appendStr(dst, m.ClientHost)
		dst = binary.AppendVarint(dst, int64(m.SessionTimeoutMs))
		dst = binary.AppendVarint(dst, int64(m.RebalanceTimeoutMs))
		dst = appendBytes(dst, m.Subscription)
		dst = appendBytes(dst, m.Assignment)
	}
	return dst
}

func decodeGroupMeta(d *decoder) *GroupMeta {
	if len(d.b) == 0 || d.b[0] != groupMetaVersion {
		d.fail()
		return nil
	}
	d.b = d.b[1:]
	g := &GroupMeta{}
	g.Group = d.str()
	g.ProtocolType = d.str()
	g.Protocol = d.str()
	g.Leader = d.str()
	g.Generation = d.int32()
	g.StateTime = d.varint()
	g.Members = make([]GroupMember, d.count(8))
	for i := range g.Members {
		m := &g.Members[i]
		m.MemberID = d.str()
		m.InstanceID = d.str()
		m.ClientID = d.str()
		m.ClientHost = d.str()
		m.SessionTimeoutMs = d.int32()
		m.RebalanceTimeoutMs = d.int32()
		m.Subscription = d.bytes()
		m.Assignment = d.bytes()
	}
	d.end()
	if d.err != nil {
		return nil
	}
	return g
}

// Committed offset key: OffsetsGroup | 'f' | len(group) group len(topic)
// topic partition(4). The length prefixes make the keys of one group a
// contiguous range that no other group's keys fall into.

func appendGroupOffsetsPrefix(dst []byte, group string) []byte {
	dst = binary.BigEndian.AppendUint64(dst, OffsetsGroup)
	dst = append(dst, kindCommitted)
	return appendStr(dst, group)
}

func appendCommittedKey(dst []byte, group string, tp TopicPartition) []byte {
	dst = appendGroupOffsetsPrefix(dst, group)
	dst = appendStr(dst, tp.Topic)
	return binary.BigEndian.AppendUint32(dst, uint32(tp.Partition))
}

func parseCommittedKey(k []byte) (string, TopicPartition, error) {
	if len(k) < 9 {
		return "", TopicPartition{}, errShort
	}
	d := decoder{b: k[9:]}
	group := d.str()
	topic := d.str()
	if d.err != nil || len(d.b) != 4 {
		return "", TopicPartition{}, errShort
	}
	return group, TopicPartition{Topic: topic, Partition: int32(binary.BigEndian.Uint32(d.b))}, nil
}

// prefixEnd returns the smallest key above every key with the prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // all 0xff: no upper bound
}
