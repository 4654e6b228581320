// Runs search.js under node for the tests: reads one JSON request on stdin, prints JSON.
// {"op": "analyse", "words": [...]}                      -> {"terms": [[...], ...]}
// {"op": "search", "dir": path, "queries": [...], "k": 10} -> {"results": [[[id, score], ...], ...]}
"use strict";
const fs = require("fs");
const path = require("path");
const search = require(path.join(__dirname, "..", "..", "templates", "static", "search.js"));

async function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  if (request.op === "analyse") {
    process.stdout.write(JSON.stringify({ terms: request.words.map((w) => search.analyse(w)) }));
    return;
  }
  if (request.op === "lower") {
    process.stdout.write(JSON.stringify({ lower: request.words.map((w) => w.toLowerCase()) }));
    return;
  }
  if (request.op === "word") {
    const re = /[\p{L}\p{Nd}\p{Nl}\p{No}_]/u;
    const out = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (re.test(String.fromCodePoint(cp))) out.push(cp);
    }
    process.stdout.write(JSON.stringify({ word: out }));
    return;
  }
  const index = new search.Index((p) =>
    Promise.resolve(JSON.parse(fs.readFileSync(path.join(request.dir, p), "utf8"))));
  const meta = await index.meta();
  const results = [];
  for (const q of request.queries) {
    const res = await search.searchStatic(index, q, { typos: false, ...(request.options || {}) });
    const top = res.hits.slice(0, request.k || 10);
    const named = [];
    for (const h of top) {
      const doc = await index.document(h.doc);
      named.push([doc.kind + ":" + doc.id, h.score]);
    }
    results.push({ total: res.total, top: named, corrected: res.corrected });
  }
  process.stdout.write(JSON.stringify({ results: results, docs: meta.docs }));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
