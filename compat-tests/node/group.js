'use strict'
// One member of a consumer group, for the group scenario of the compat tests
// (compat-tests/group_test.go; the line protocol is described in group_proc_test.go).
//
//   node group.js BOOTSTRAP TOPIC GROUP CLIENT_ID
//
// A kafkajs consumer (its default round-robin assigner, a 6s session timeout, 500ms
// heartbeats) that reads from the earliest offset and commits with commitOffsets after
// each batch (a failed commit is not retried: kafkajs refetches the committed offset of
// every partition after a rebalance, so the records are read and committed again). It prints RECORD / COMMITTED / ASSIGNMENT lines and reads "hold" (stop
// committing) and "leave" (disconnect, which sends LeaveGroup) on stdin. It gives up
// after 120s.

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const readline = require('readline')
const { Kafka, logLevel } = require('kafkajs')
const codecs = require('./codecs')

const LIFETIME_MS = 120000

function emit(line) {
  process.stdout.write(line + '\n')
}

async function main() {
  const [bootstrap, topic, group, clientId] = process.argv.slice(2)
  if (!clientId) {
    console.error('usage: node group.js BOOTSTRAP TOPIC GROUP CLIENT_ID')
    process.exit(2)
  }
  setTimeout(() => {
    console.error(`FAIL kafkajs group member: not told to leave within ${LIFETIME_MS / 1000}s`)
    process.exit(1)
  }, LIFETIME_MS).unref()

  await codecs.register() // the test's producer compresses (franz-go's default, snappy)
  const kafka = new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    connectionTimeout: 10000,
    requestTimeout: 10000,
  })
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    rebalanceTimeout: 20000,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  })
  let held = false
  let leaving = null
  consumer.on(consumer.events.GROUP_JOIN, e => {
    const ps = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
    emit(`ASSIGNMENT ${ps.join(',')}`)
  })
  consumer.on(consumer.events.CRASH, e => emit(`NOTE crash: ${e.payload.error.message}`))

  const leave = () => {
    leaving = leaving || (async () => {
      await consumer.disconnect()
      emit('CLOSED')
      process.exit(0)
    })().catch(e => {
      console.error(`FAIL kafkajs group member: leave: ${e.message}`)
      process.exit(1)
    })
    return leaving
  }
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', line => {
    switch (line.trim()) {
      case 'hold':
        held = true
        emit('HOLDING')
        break
      case 'leave':
        leave()
        break
      default:
        emit(`NOTE unknown command ${line}`)
    }
  })
  rl.on('close', leave) // the test is gone

  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, isStale }) => {
      const msgs = batch.messages
      if (msgs.length === 0) return
      for (const m of msgs) emit(`RECORD ${batch.partition} ${m.offset} ${m.value.toString()}`)
      if (held || isStale() || leaving) return
      const next = String(Number(msgs[msgs.length - 1].offset) + 1)
      try {
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }])
        emit(`COMMITTED ${batch.partition}:${next}`)
      } catch (e) {
        emit(`NOTE commit: ${e.message}`)
      }
    },
  })
}

main().catch(e => {
  console.error(`FAIL kafkajs group member: ${e.message}`)
  if (e.stack) console.error(e.stack)
  process.exit(1)
})
