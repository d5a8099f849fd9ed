// Package raftlog stores Skiff's partitions: each partition is a
// hashicorp/raft group whose log entries are the record batches themselves,
// and every group of a node shares one Pebble database.
//
// # Why the Raft log is the partition log
//
// A produced batch is written once: as the Raft log entry (synced by the
// LogStore before Raft acknowledges it). The FSM does not copy the batch; on
// Apply it assigns offsets and writes a small index entry that points from the
// batch's last offset to the Raft index that holds it. Raft never compacts the
// log (TrailingLogs is unbounded); Kafka retention and DeleteRecords remove
// whole batches with range deletes instead, and never past the last Raft
// snapshot, so Raft's own start-up scan always finds the entries it reads.
//
// # Key layout
//
// Every key starts with the 8-byte big-endian group id, so one group's data is
// contiguous and deleting a partition is a single range delete of
// [group, group+1). Group 0 is the controller (cluster metadata); group
// 1<<62 (OffsetsGroup) holds consumer groups and their committed offsets.
//
//	group | 'l' | raftIndex(8)   Raft log entry: type(1) term(uvarint)
//	                             appendedAt(varint ns) extLen(uvarint) ext data
//	group | 's' | name           Raft stable store (CurrentTerm, LastVote...)
//	group | 'o' | lastOffset(8)  batch index: raftIndex(8) baseOffset(8)
//	                             maxTimestamp(8) size(4)
//	group | 'm'                  partition state: appliedIndex, nextOffset,
//	                             logStartOffset (written with every Apply)
//	group | 'p' | producerID(8)  idempotent producer state
//	group | 'c' | name           controller records (group 0 only)
//	group | 'w' | name           a stored SmartModule's bytes (group 0 only;
//	                             its metadata is in the 'c' record)
//	group | 'f' | len(g) g len(t) t partition(4)
//	                             committed offset (OffsetsGroup only):
//	                             offset, leader epoch, commit time, metadata
//	group | 'g' | groupName      consumer group metadata (OffsetsGroup only)
//	group | 'k' | groupName      a KIP-848 consumer group: epochs, members,
//	                             their assignments and target assignment
//	                             (OffsetsGroup only; consumergroups.go)
//
// The offsets group's 'm' key is its applied index. Its FSM keeps all of its
// state in Pebble (and in memory maps loaded at open), so, unlike a
// partition's, its Raft log is compacted after snapshots.
//
// Fetch by offset is one SeekGE on the 'o' keys (the first batch whose last
// offset is ≥ the wanted offset) followed by reads of the Raft entries it
// names; retention is a range delete on 'l' and on 'o'.
//
// # Durability
//
// StoreLogs commits with pebble.Sync: a produce with acks=1 or acks=all is
// answered only after its Raft entry is committed, so after an fsync of the
// WAL that holds it. Pebble's commit pipeline merges concurrent synced commits
// of all groups into one fsync (group commit). FSM writes (index, producer
// state, applied index) are not synced: after a crash, Raft re-applies the
// entries after the last snapshot and the FSM skips those at or below its
// persisted applied index, so index and log always agree. Snapshots sync the
// WAL before they are recorded.
package raftlog
