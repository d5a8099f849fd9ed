package raftlog

import "encoding/binary"

// Consumer group value: a format version byte, then the fields in order
// (strings uvarint-length prefixed, integers varints, as in groups_codec.go).

const consumerGroupVersion = 1

func encodeConsumerGroup(dst []byte, g *ConsumerGroupMeta) []byte {
	dst = append(dst, consumerGroupVersion)
	dst = appendStr(dst, g.Group)
	dst = binary.AppendVarint(dst, int64(g.Epoch))
	dst = binary.AppendVarint(dst, int64(g.AssignmentEpoch))
	dst = binary.BigEndian.AppendUint64(dst, g.MetadataHash)
	dst = binary.AppendUvarint(dst, uint64(len(g.Members)))
	for i := range g.Members {
		dst = encodeConsumerMember(dst, &g.Members[i])
	}
	return dst
}

func encodeConsumerMember(dst []byte, m *ConsumerMember) []byte {
	for _, s := range [...]string{m.MemberID, m.InstanceID, m.RackID, m.ClientID, m.ClientHost} {
		dst = appendStr(dst, s)
	}
	dst = binary.AppendVarint(dst, int64(m.MemberEpoch))
	dst = binary.AppendVarint(dst, int64(m.PreviousEpoch))
	dst = binary.AppendVarint(dst, int64(m.State))
	dst = binary.AppendVarint(dst, int64(m.RebalanceTimeoutMs))
	dst = binary.AppendUvarint(dst, uint64(len(m.SubscribedTopics)))
	for _, t := range m.SubscribedTopics {
		dst = appendStr(dst, t)
	}
	dst = appendStr(dst, m.SubscribedRegex)
	dst = appendStr(dst, m.ServerAssignor)
	dst = encodeConsumerTopics(dst, m.Assigned)
	dst = encodeConsumerTopics(dst, m.PendingRevocation)
	return encodeConsumerTopics(dst, m.Target)
}

// Topic partitions: count, then per topic its id, a flag byte (1: epochs
// follow each partition), the partition count and the partitions.
func encodeConsumerTopics(dst []byte, ts []ConsumerTopicPartitions) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ts)))
	for _, t := range ts {
		dst = append(dst, t.TopicID[:]...)
		withEpochs := t.Epochs != nil && len(t.Epochs) == len(t.Partitions)
		if withEpochs {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(len(t.Partitions)))
		for i, p := range t.Partitions {
			dst = binary.AppendVarint(dst, int64(p))
			if withEpochs {
				dst = binary.AppendVarint(dst, int64(t.Epochs[i]))
			}
		}
	}
	return dst
}

func decodeConsumerGroup(d *decoder) *ConsumerGroupMeta {
	if len(d.b) == 0 || d.b[0] != consumerGroupVersion {
		d.fail()
		return nil
	}
	d.b = d.b[1:]
	g := &ConsumerGroupMeta{}
	g.Group = d.str()
	g.Epoch = d.int32()
	g.AssignmentEpoch = d.int32()
	if len(d.b) < 8 {
		d.fail()
		return nil
	}
	g.MetadataHash = binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	g.Members = make([]ConsumerMember, d.count(15))
	for i := range g.Members {
		decodeConsumerMember(d, &g.Members[i])
	}
	d.end()
	if d.err != nil {
		return nil
	}
	return g
}

func decodeConsumerMember(d *decoder, m *ConsumerMember) {
	m.MemberID = d.str()
	m.InstanceID = d.str()
	m.RackID = d.str()
	m.ClientID = d.str()
	m.ClientHost = d.str()
	m.MemberEpoch = d.int32()
	m.PreviousEpoch = d.int32()
	st := d.int32()
	if st != int32(int8(st)) {
		d.fail()
	}
	m.State = int8(st)
	m.RebalanceTimeoutMs = d.int32()
	if n := d.count(1); n > 0 {
		m.SubscribedTopics = make([]string, n)
		for i := range m.SubscribedTopics {
			m.SubscribedTopics[i] = d.str()
		}
	}
	m.SubscribedRegex = d.str()
	m.ServerAssignor = d.str()
	m.Assigned = decodeConsumerTopics(d)
	m.PendingRevocation = decodeConsumerTopics(d)
	m.Target = decodeConsumerTopics(d)
}

func decodeConsumerTopics(d *decoder) []ConsumerTopicPartitions {
	n := d.count(18)
	if n == 0 {
		return nil
	}
	out := make([]ConsumerTopicPartitions, n)
	for i := range out {
		t := &out[i]
		if len(d.b) < 17 {
			d.fail()
			return nil
		}
		copy(t.TopicID[:], d.b[:16])
		withEpochs := d.b[16]
		d.b = d.b[17:]
		if withEpochs > 1 {
			d.fail()
			return nil
		}
		min := 1
		if withEpochs == 1 {
			min = 2
		}
		np := d.count(min)
		t.Partitions = make([]int32, np)
		if withEpochs == 1 {
			t.Epochs = make([]int32, np)
		}
		for j := range t.Partitions {
			t.Partitions[j] = d.int32()
			if withEpochs == 1 {
				t.Epochs[j] = d.int32()
			}
		}
	}
	return out
}
