'use strict'
// Producer and consumer of the view scenario of the compat tests
// (compat-tests/smartmodule_test.go; the line protocol is described in
// smartmodule_proc_test.go).
//
//   node view.js BOOTSTRAP produce|consume TOPIC
//
// produce: one kafkajs producer (acks=-1, not idempotent); the values of a SEND line go in
// one producer.send() to their partition, so they form one batch. consume: kafkajs has no
// assign mode, so it joins a fresh consumer group (fromBeginning) and prints RECORD lines;
// it stops on "stop" or the end of stdin, and gives up after 120s.

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const crypto = require('crypto')
const readline = require('readline')
const { Kafka, logLevel } = require('kafkajs')
const codecs = require('./codecs')

const LIFETIME_MS = 120000

function emit(line) {
  process.stdout.write(line + '\n')
}

async function produce(kafka, topic) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    const rl = readline.createInterface({ input: process.stdin })
    for await (const line of rl) {
      if (!line.trim()) continue
      const f = line.trim().split(' ')
      if (f.length < 4 || f[0] !== 'SEND') throw new Error(`bad line: ${line}`)
      const partition = Number(f[1])
      const values = f.slice(3)
      const res = await producer.send({
        topic,
        acks: -1,
        compression: codecs.TYPES[f[2]],
        messages: values.map(v => ({ partition, key: v.slice(0, v.indexOf('|')), value: v })),
      })
      const base = Number(res[0].baseOffset)
      values.forEach((v, i) => emit(`ACK ${res[0].partition} ${base + i} ${v}`))
    }
  } finally {
    await producer.disconnect()
  }
  emit('DONE')
}

async function consume(kafka, topic) {
  const consumer = kafka.consumer({
    groupId: `skiff-compat-view-${crypto.randomBytes(6).toString('hex')}`,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
  })
  let crashed
  const crash = new Promise((_, reject) => (crashed = reject))
  consumer.on(consumer.events.CRASH, e => crashed(new Error(`consumer crashed: ${e.payload.error.stack || e.payload.error.message}`)))
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const key = message.key === null ? '' : message.key.toString()
      const value = message.value === null ? '' : message.value.toString()
      emit(`RECORD ${partition} ${message.offset} ${key} ${value}`)
    },
  })
  const stopped = new Promise(resolve => {
    const rl = readline.createInterface({ input: process.stdin })
    rl.on('line', l => l.trim() === 'stop' && resolve())
    rl.on('close', resolve)
  })
  let timer
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not told to stop within ${LIFETIME_MS / 1000}s`)), LIFETIME_MS)
  })
  try {
    await Promise.race([stopped, crash, expired])
  } finally {
    clearTimeout(timer)
    await consumer.disconnect()
  }
  emit('CLOSED')
}

async function main() {
  const [bootstrap, mode, topic] = process.argv.slice(2)
  if (!topic || !['produce', 'consume'].includes(mode)) {
    console.error('usage: node view.js BOOTSTRAP produce|consume TOPIC')
    process.exit(2)
  }
  await codecs.register()
  const kafka = new Kafka({
    clientId: 'skiff-compat-view',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5 },
  })
  try {
    if (mode === 'produce') await produce(kafka, topic)
    else await consume(kafka, topic)
  } catch (e) {
    console.error(`FAIL kafkajs view ${mode}: ${e.stack || e.message}`)
    process.exit(1)
  }
  process.exit(0)
}

main()
