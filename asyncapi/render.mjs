// Renders the AsyncAPI document as a static HTML site with the official AsyncAPI React
// component (its standalone browser bundle, which parses the Avro payloads itself).
//   node asyncapi/render.mjs asyncapi/asyncapi.yaml asyncapi/html   (CLIO_ASYNCAPI_TOOLS: the npm tools)
// Output: index.html (the document embedded), asyncapi-ui.js, asyncapi-ui.css, asyncapi.yaml.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [source, out] = process.argv.slice(2);
if (!source || !out) {
  console.error('usage: node asyncapi/render.mjs <asyncapi.yaml> <output dir>');
  process.exit(2);
}
const require = createRequire(join(process.env.CLIO_ASYNCAPI_TOOLS, 'package.json'));
const component = join(require.resolve('@asyncapi/react-component/package.json'), '..');
const version = JSON.parse(readFileSync(join(component, 'package.json'), 'utf8')).version;
const document = readFileSync(source, 'utf8');
const title = (document.match(/^\s+title:\s*(.+)$/m) || [null, 'AsyncAPI'])[1].replace(/^['"]|['"]$/g, '');

mkdirSync(out, { recursive: true });
copyFileSync(join(component, 'browser/standalone/index.js'), join(out, 'asyncapi-ui.js'));
copyFileSync(join(component, 'styles/default.min.css'), join(out, 'asyncapi-ui.css'));
copyFileSync(source, join(out, 'asyncapi.yaml'));
// The document goes in as a JS string literal; "<" escaped so no "</script" can end the element.
const literal = JSON.stringify(document).replace(/</g, '\\u003c');
const escapeHtml = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
writeFileSync(join(out, 'index.html'), `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <link rel="stylesheet" href="asyncapi-ui.css">
</head>
<body>
  <noscript>This page renders the AsyncAPI document with JavaScript; the document itself is
    <a href="asyncapi.yaml">asyncapi.yaml</a>.</noscript>
  <div id="asyncapi"></div>
  <script src="asyncapi-ui.js"></script>
  <script>
    AsyncApiStandalone.render({
      schema: ${literal},
      config: { show: { sidebar: true }, sidebar: { showOperations: 'byDefault' } },
    }, document.getElementById('asyncapi'));
  </script>
</body>
</html>
`);
console.log(`${out}: rendered ${source} with @asyncapi/react-component ${version}`);
