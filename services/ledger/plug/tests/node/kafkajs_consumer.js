// A Node.js integrator reading Clio's events with stock packages: kafkajs (no compression
// plug-in) and @kafkajs/confluent-schema-registry, which fetches each record's schema by the id
// in its Confluent framing. Prints one JSON line per record: key, partition, offset, value.
//
//   node kafkajs_consumer.js BROKERS REGISTRY_URL TOPIC COUNT
//
// NODE_PATH must name the node_modules holding both packages (infra/node-client.sh).
const { Kafka, logLevel } = require('kafkajs');
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');
const avro = require('avsc');

// Avro longs as BigInt: ids and timestamps in microseconds pass 2^53, past which avsc's
// default (a JavaScript number) refuses to read ("potential precision loss").
const longType = avro.types.LongType.__with({
  fromBuffer: (buffer) => buffer.readBigInt64LE(),
  toBuffer: (n) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(n));
    return buffer;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a === b ? 0 : a < b ? -1 : 1),
});

const [brokers, registryUrl, topic, countText] = process.argv.slice(2);
const wanted = Number(countText);

async function main() {
  const kafka = new Kafka({ clientId: 'clio-kafkajs-test', brokers: brokers.split(','), logLevel: logLevel.ERROR });
  const registry = new SchemaRegistry({ host: registryUrl }, { [SchemaType.AVRO]: { registry: { long: longType } } });
  const consumer = kafka.consumer({ groupId: `kafkajs-${topic}-${process.pid}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${wanted} records within 60 s`)), 60000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        // Longs print as text: a JSON number would lose their digits.
        const value = await registry.decode(message.value);
        const line = JSON.stringify({ key: message.key && message.key.toString(), partition, offset: message.offset, value },
          (_, v) => (typeof v === 'bigint' ? v.toString() : v));
        process.stdout.write(line + '\n');
        seen += 1;
        if (seen >= wanted) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  try {
    await done;
  } finally {
    await consumer.disconnect();
  }
}

main().catch((error) => {
  process.stderr.write(`kafkajs consumer failed: ${error.stack || error}\n`);
  process.exit(1);
});
