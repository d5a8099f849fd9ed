'use strict'
// Compatibility check of kafkajs against a Kafka-protocol broker.
//
//   node client.js BOOTSTRAP TOPIC produce|verify
//
// produce: sends the data set (dataset.js) with acks=all, one producer per codec group, in
// sends of 10 records, and fails on any send error. verify: joins a fresh consumer group,
// reads every partition from the beginning to its high watermark, checks the records exactly
// and prints "RESULT records=N partitions=P:N,... digest=HEX"; the digest covers partition,
// offset, key, value and headers, so two verify runs can be compared. Exit status 0 on
// success, 1 on a mismatch or error (the reason is printed to stderr), 2 on bad usage.

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const crypto = require('crypto')
const { Kafka, Partitioners, logLevel } = require('kafkajs')
const codecs = require('./codecs')
const data = require('./dataset')

const PHASE_TIMEOUT_MS = 60000
const WANT_PARTITIONS = 3
const SEND_CHUNK = 10

async function produce(kafka, topic) {
  for (let gi = 0; gi < data.GROUPS.length; gi++) {
    const g = data.GROUPS[gi]
    const what = `${g.codec}/${data.mode(g)}`
    const producer = kafka.producer({
      idempotent: g.idempotent,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner, // murmur2, as the Java client
      retry: g.idempotent ? { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 } : undefined,
      allowAutoTopicCreation: false,
    })
    await producer.connect()
    try {
      const recs = data.groupRecords(gi)
      for (let i = 0; i < recs.length; i += SEND_CHUNK) {
        const messages = recs.slice(i, i + SEND_CHUNK).map(r => ({
          key: r.key,
          value: r.value,
          headers: headerObject(r.headers),
        }))
        await producer.send({ topic, acks: -1, compression: codecs.TYPES[g.codec], messages })
      }
    } catch (e) {
      throw new Error(`produce ${what}: ${e.message}`)
    } finally {
      await producer.disconnect()
    }
    console.log(`produced ${data.PER_GROUP} records codec=${g.codec} mode=${data.mode(g)}`)
  }
}

// kafkajs takes headers as an object; a repeated key becomes an array of values.
function headerObject(pairs) {
  const h = {}
  for (const [k, v] of pairs) {
    if (k in h) h[k] = [].concat(h[k], v)
    else h[k] = v
  }
  return h
}

function headerList(obj) {
  const out = []
  for (const [k, v] of Object.entries(obj || {})) {
    for (const one of [].concat(v)) out.push(`${k}=${one === null ? '<null>' : one.toString()}`)
  }
  return out.join(',')
}

async function verify(kafka, topic) {
  const admin = kafka.admin()
  await admin.connect()
  let ends
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    const parts = meta.topics[0].partitions
    if (parts.length !== WANT_PARTITIONS) {
      throw new Error(`topic ${topic} has ${parts.length} partitions in metadata, want ${WANT_PARTITIONS}`)
    }
    ends = await admin.fetchTopicOffsets(topic)
  } finally {
    await admin.disconnect()
  }
  const byPartition = new Map()
  const pending = new Set()
  for (const e of ends) {
    byPartition.set(e.partition, [])
    if (Number(e.high) > Number(e.low)) pending.add(e.partition)
  }
  const high = new Map(ends.map(e => [e.partition, Number(e.high)]))

  const consumer = kafka.consumer({
    groupId: `skiff-compat-node-${crypto.randomBytes(6).toString('hex')}`,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    let done, crashed
    const finished = new Promise((resolve, reject) => {
      done = resolve
      crashed = reject
    })
    if (pending.size === 0) done()
    // A crashed consumer would otherwise sit until the phase timeout with nothing to show.
    consumer.on(consumer.events.CRASH, e => crashed(new Error(`consumer crashed: ${e.payload.error.message}`)))
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        byPartition.get(partition).push({
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers: headerList(message.headers),
        })
        if (Number(message.offset) + 1 >= high.get(partition)) {
          pending.delete(partition)
          if (pending.size === 0) done()
        }
      },
    })
    await finished
  } finally {
    await consumer.disconnect()
  }
  check(byPartition)
  const sizes = [...byPartition.keys()].sort((a, b) => a - b).map(p => `${p}:${byPartition.get(p).length}`)
  const count = [...byPartition.values()].reduce((n, rs) => n + rs.length, 0)
  return `RESULT records=${count} partitions=${sizes.join(',')} digest=${digest(byPartition)}`
}

// Compares what was read with the data set; throws on the first difference.
function check(byPartition) {
  const want = new Map(data.allRecords().map(r => [r.id, r]))
  const seen = new Map()
  const keyPartition = new Map()
  for (const [part, recs] of byPartition) {
    let lastOffset = -1
    let lastIndex = -1
    for (const r of recs) {
      const where = `partition ${part} offset ${r.offset}`
      const id = (r.value || '').split('|')[0]
      const w = want.get(id)
      if (!w) throw new Error(`${where}: unexpected record value ${abbrev(r.value)}`)
      if (seen.has(id)) throw new Error(`${where}: duplicate of record ${id} first seen at ${seen.get(id)}`)
      seen.set(id, where)
      if (r.offset <= lastOffset) throw new Error(`${where}: offset not above previous ${lastOffset}`)
      if (w.index <= lastIndex) throw new Error(`${where}: record ${id} out of produce order in its partition`)
      lastOffset = r.offset
      lastIndex = w.index
      if (r.key !== w.key) throw new Error(`${where}: record ${id} key ${r.key}, want ${w.key}`)
      if (r.value !== w.value) throw new Error(`${where}: record ${id} value ${abbrev(r.value)}, want ${abbrev(w.value)}`)
      const wantHeaders = w.headers.map(([k, v]) => `${k}=${v}`).join(',')
      if (r.headers !== wantHeaders) throw new Error(`${where}: record ${id} headers [${r.headers}], want [${wantHeaders}]`)
      const kp = keyPartition.get(w.key)
      if (kp !== undefined && kp !== part) throw new Error(`${where}: key ${w.key} also seen in partition ${kp}`)
      keyPartition.set(w.key, part)
    }
  }
  if (seen.size !== want.size) {
    const missing = [...want.keys()].filter(id => !seen.has(id)).sort()
    throw new Error(`read ${seen.size} records, want ${want.size}; missing ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ' ...' : ''}`)
  }
}

function digest(byPartition) {
  const h = crypto.createHash('sha256')
  for (const p of [...byPartition.keys()].sort((a, b) => a - b)) {
    for (const r of byPartition.get(p)) {
      h.update(`${r.partition}\t${r.offset}\t${r.key}\t${r.value}\t${r.headers}\n`)
    }
  }
  return h.digest('hex')
}

function abbrev(s) {
  return s === null || s.length <= 60 ? s : `${s.slice(0, 60)}...(${s.length} bytes)`
}

async function main() {
  const [bootstrap, topic, phase] = process.argv.slice(2)
  if (!bootstrap || !topic || !['produce', 'verify'].includes(phase)) {
    console.error('usage: node client.js BOOTSTRAP TOPIC produce|verify')
    process.exit(2)
  }
  const timer = setTimeout(() => {
    console.error(`FAIL kafkajs ${phase}: timed out after ${PHASE_TIMEOUT_MS / 1000}s`)
    process.exit(1)
  }, PHASE_TIMEOUT_MS)
  try {
    await codecs.register()
    const kafka = new Kafka({
      clientId: `skiff-compat-kafkajs-${phase}`,
      brokers: [bootstrap],
      logLevel: logLevel.WARN,
      connectionTimeout: 10000,
      requestTimeout: 10000,
    })
    if (phase === 'produce') await produce(kafka, topic)
    else console.log(await verify(kafka, topic))
  } catch (e) {
    console.error(`FAIL kafkajs ${phase}: ${e.message}`)
    if (e.stack) console.error(e.stack)
    process.exit(1)
  }
  clearTimeout(timer)
  process.exit(0)
}

main()
