'use strict'
// Registers kafkajs codecs for snappy, lz4 and zstd; kafkajs has gzip built in.
//
// snappy: kafkajs-snappy (pure JavaScript, snappyjs).
// lz4: kafkajs-lz4, the codec kafkajs documents; its `lz4` dependency compiles native code on
// install (node-gyp, needs make and g++). The pure-JavaScript lz4js was tried and rejected: it
// writes frames with dependent blocks, which the Java client refuses ("Dependent block stream
// is unsupported"), so it is no codec a Kafka user could run.
// zstd: a small adapter over zstd-codec (zstd compiled to WebAssembly). The documented
// @kafkajs/zstd was not used: its native dependency (cppzst 2.0.6) no longer builds against
// Node 20 headers.

const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const LZ4Codec = require('kafkajs-lz4')
const { ZstdCodec } = require('zstd-codec')

// zstd-codec loads its WebAssembly asynchronously; register() waits for it.
function loadZstd() {
  return new Promise(resolve => ZstdCodec.run(z => resolve(new z.Streaming())))
}

function zstdCodec(streaming) {
  return () => ({
    async compress(encoder) {
      return Buffer.from(streaming.compress(encoder.buffer, 3))
    },
    async decompress(buffer) {
      // Streaming decompression: Kafka's zstd frames need not carry their content size.
      const out = streaming.decompress(buffer)
      if (!out) throw new Error('zstd: cannot decompress batch')
      return Buffer.from(out)
    },
  })
}

const TYPES = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

async function register() {
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
  CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec(await loadZstd())
}

module.exports = { TYPES, register }
