// Package raftlog stores Skiff's partitions: each partition is a
// hashicorp/raft group whose log entries are the record batches themselves.
// Every group of a node shares one Pebble database; a partition's entries are
// in append-only segment files, with a pointer per entry in Pebble.
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
// # Why segment files
//
// Kept as Pebble values, each batch was copied into Pebble's memtable,
// written to its WAL and written again to a blob file at flush: about 70% of
// the broker's CPU under produce load, measured (a build that stored only the
// batch headers produced 3.4 M records/s against 1.7 M). A partition's entries
// now go to its own segment files (segments.go), written once, straight from
// the request's bytes, and read by fetch straight into the response buffer;
// Pebble keeps what it is good at: the small keys (entry pointers, the offset
// index, Raft's stable store, FSM state). The controller and offsets groups,
// whose entries are small, keep them inline in Pebble as before, and an 'l'
// value of either kind is read by every reader, so data folders written
// before segments existed open unchanged.
//
// Segments live in <segment dir>/<group as 16 hex digits>/<first Raft index
// as 20 digits>.log and roll over at the topic's segment.bytes
// (Partition.SetSegmentBytes; Kafka's default, 1 GiB, when the broker runs
// it) or else StoreOptions.SegmentBytes (64 MiB). A record is length(4)
// crc32c(4) raftIndex(8) and the encoded entry.
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
//	                             (controller, offsets group), or a pointer
//	                             into a segment (partitions): 0xff type(1)
//	                             term segment offset entryLen dataOffset
//	                             (uvarints)
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
// names (one pread per batch from a segment); retention is a range delete on
// 'l' and on 'o', then the removal of the segment files that hold only
// deleted entries.
//
// # Durability
//
// StoreLogs of a partition writes its entries to the active segment and
// fsyncs it (fdatasync), then commits their pointers to Pebble with
// pebble.Sync; StoreLogs of the other groups commits the entries themselves
// with pebble.Sync. A produce with acks=1 or acks=all is answered only after
// its Raft entry is committed, so after both fsyncs. Pebble's commit pipeline
// merges concurrent synced commits of all groups into one WAL fsync (group
// commit); each partition's segment fsync covers every request that reached
// its Raft group meanwhile (Raft batches them into one StoreLogs). A new
// segment file and its folder entry are synced before a pointer names it.
// Because a pointer is durable only after its record is, bytes past the last
// pointer (a crash mid-write) are never read: writing resumes in a new
// segment after a restart, and segment files no pointer can name are removed
// at open. FSM writes (index, producer state, applied index) are not synced:
// after a crash, Raft re-applies the entries after the last snapshot and the
// FSM skips those at or below its persisted applied index, so index and log
// always agree. Snapshots sync the WAL before they are recorded.
package raftlog
