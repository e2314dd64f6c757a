// Validates an AsyncAPI document with the official parser and its Avro schema parser.
// Prints every diagnostic; exits 1 on any error or warning.
//   node asyncapi/validate.mjs asyncapi/asyncapi.yaml   (NODE_PATH: the tools' node_modules)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const tools = process.env.CLIO_ASYNCAPI_TOOLS;
const require = createRequire(join(tools, 'package.json'));
const { Parser } = require('@asyncapi/parser');
const { AvroSchemaParser } = require('@asyncapi/avro-schema-parser');

const file = process.argv[2];
const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const { document, diagnostics } = await parser.parse(readFileSync(file, 'utf8'), { source: file });
const names = ['error', 'warning', 'info', 'hint'];
let bad = 0;
for (const d of diagnostics) {
  if (d.severity <= 1) bad += 1;
  console.log(`${names[d.severity]} ${d.code} at ${d.path.join('.')}: ${d.message}`);
}
if (!document) {
  console.log('the document did not parse');
  process.exit(1);
}
const channels = document.channels().length;
const messages = document.components().messages().length;
console.log(`${file}: ${channels} channels, ${messages} messages, ${bad} errors or warnings`);
process.exit(bad === 0 ? 0 : 1);
