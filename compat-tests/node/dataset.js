'use strict'
// The records every phase produces or expects, generated the same way each time so that a
// verify run after a server restart needs no state from the produce run. The same data set is
// built by the Java and Python clients (see compat-tests/java/.../Dataset.java), so any of them
// can verify a topic another one wrote.
//
// One group per (codec, producer mode); in group g record i has key "key-(i%10)", a
// compressible value starting with "codec/mode/seq|", and five headers including a repeated
// key ("dup") whose order must survive. Groups are produced one after another, so within a
// partition the global index (g*PER_GROUP + i) must grow with the offset.

const PER_GROUP = 40

// Codecs in their Kafka names, each sent by an idempotent producer, then one plain group.
const GROUPS = [
  { codec: 'none', idempotent: true },
  { codec: 'gzip', idempotent: true },
  { codec: 'snappy', idempotent: true },
  { codec: 'lz4', idempotent: true },
  { codec: 'zstd', idempotent: true },
  { codec: 'lz4', idempotent: false },
]

const mode = g => (g.idempotent ? 'idempotent' : 'plain')

function groupRecords(gi) {
  const g = GROUPS[gi]
  const out = []
  for (let i = 0; i < PER_GROUP; i++) {
    const seq = String(i).padStart(3, '0')
    const id = `${g.codec}/${mode(g)}/${seq}`
    out.push({
      index: gi * PER_GROUP + i,
      id,
      key: `key-${i % 10}`,
      value: `${id}|` + `skiff-compat-${i % 5};`.repeat(20 + i),
      headers: [
        ['codec', g.codec],
        ['mode', mode(g)],
        ['seq', seq],
        ['dup', 'first'],
        ['dup', 'second'],
      ],
    })
  }
  return out
}

function allRecords() {
  return GROUPS.flatMap((_, gi) => groupRecords(gi))
}

module.exports = { PER_GROUP, GROUPS, mode, groupRecords, allRecords }
