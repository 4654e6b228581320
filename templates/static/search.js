/* Site search without a server: queries the static export of the Whoosh index
   (search/static/), or the preview server's /search/api when it says it has one.
   The analyser and the BM25F scorer reproduce Whoosh's, so the ranking is the same. */
(function (root) {
  "use strict";

  /* ---------- analyser: RegexTokenizer | LowercaseFilter | StopFilter | StemFilter ---------- */

  var STOP = new Set(("a an and are as at be by can for from have if in is it may not of on or " +
    "tbd that the this to us we when will with yet you your").split(" "));
  var W = "\\p{L}\\p{Nd}\\p{Nl}\\p{No}_*";  /* Whoosh: [\\w\\*]+(\\.?[\\w\\*]+)* */
  var WORD = new RegExp("[" + W + "]+(?:\\.?[" + W + "]+)*", "gu");
  var ASTRAL = /[\uD800-\uDFFF]/;

  function cpLength(s) {
    return ASTRAL.test(s) ? Array.from(s).length : s.length;
  }

  function dropLast(s) {
    return ASTRAL.test(s) ? Array.from(s).slice(0, -1).join("") : s.slice(0, -1);
  }

  var STEP2 = { ational: "ate", tional: "tion", enci: "ence", anci: "ance", izer: "ize",
    bli: "ble", alli: "al", entli: "ent", eli: "e", ousli: "ous", ization: "ize", ation: "ate",
    ator: "ate", alism: "al", iveness: "ive", fulness: "ful", ousness: "ous", aliti: "al",
    iviti: "ive", biliti: "ble", logi: "log" };
  var STEP3 = { icate: "ic", ative: "", alize: "al", iciti: "ic", ical: "ic", ful: "", ness: "" };
  var C = "[^aeiouy]+", V = "[aeiou]+";
  var MGR0 = new RegExp("^(" + C + ")?" + V + C, "u");
  var MEQ1 = new RegExp("^(" + C + ")?" + V + C + "(" + V + ")?$", "u");
  var MGR1 = new RegExp("^(" + C + ")?" + V + C + V + C, "u");
  var S_V = new RegExp("^(" + C + ")?[aeiouy]", "u");
  var C_V = new RegExp("^" + C + "[aeiouy][^aeiouwxy]$", "u");
  var ED_ING = /^(.*)(ed|ing)$/u;
  var AT_BL_IZ = /^(at|bl|iz)$/u;
  var DOUBLE = /^([^aeiouylsz])\1$/u;
  var RE2 = /^(.+?)(ational|tional|enci|anci|izer|bli|alli|entli|eli|ousli|ization|ation|ator|alism|iveness|fulness|ousness|aliti|iviti|biliti|logi)$/u;
  var RE3 = /^(.+?)(icate|ative|alize|iciti|ical|ful|ness)$/u;
  var RE4 = /^(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)$/u;
  var RE4B = /^(.+?)(s|t)(ion)$/u;
  var RE5 = /^(.+?)e$/u;

  /* Porter stemmer, step for step as Whoosh's whoosh.lang.porter.stem (quirks included). */
  function stem(w) {
    if (cpLength(w) < 3) return w;
    var firstY = w[0] === "y", m, s;
    if (firstY) w = "Y" + w.slice(1);
    if (w.endsWith("s")) {
      if (w.endsWith("sses") || w.endsWith("ies")) w = w.slice(0, -2);
      else if (w[w.length - 2] !== "s") w = w.slice(0, -1);
    }
    if (w.endsWith("eed")) {
      if (MGR0.test(w.slice(0, -3))) w = w.slice(0, -1);
    } else if ((m = ED_ING.exec(w))) {
      s = m[1];
      if (S_V.test(s)) {
        w = s;
        if (AT_BL_IZ.test(w)) w += "e";
        else if (DOUBLE.test(w)) w = dropLast(w);
        else if (C_V.test(w)) w += "e";
      }
    }
    if (w.endsWith("y")) {
      s = w.slice(0, -1);
      if (S_V.test(s)) w = s + "i";
    }
    if ((m = RE2.exec(w)) && MGR0.test(m[1])) w = m[1] + STEP2[m[2]];
    if ((m = RE3.exec(w)) && MGR0.test(m[1])) w = m[1] + STEP3[m[2]];
    if ((m = RE4.exec(w))) {
      if (MGR1.test(m[1])) w = m[1];
    } else if ((m = RE4B.exec(w))) {
      if (MGR1.test(m[1] + m[2])) w = m[1] + m[2];
    }
    if ((m = RE5.exec(w))) {
      s = m[1];
      if (MGR1.test(s) || (MEQ1.test(s) && !C_V.test(s))) w = s;
    }
    if (w.endsWith("ll") && MGR1.test(w)) w = w.slice(0, -1);
    if (firstY) w = "y" + w.slice(1);
    return w;
  }

  /* Tokens of a text as Whoosh's StemmingAnalyzer makes them, with character offsets. */
  function tokens(text) {
    var out = [], m;
    WORD.lastIndex = 0;
    while ((m = WORD.exec(text))) {
      var t = m[0].toLowerCase();
      if (cpLength(t) >= 2 && !STOP.has(t)) out.push({ term: stem(t), start: m.index, end: m.index + m[0].length });
    }
    return out;
  }

  function analyse(text) {
    return tokens(text).map(function (t) { return t.term; });
  }

  /* ---------- query: words (AND), "phrases", the unfinished last word as a prefix ---------- */

  function parseQuery(q, prefix) {
    var clauses = [], rest = q.replace(/"([^"]*)"?/g, function (_, inner) {
      var terms = analyse(inner);
      if (terms.length === 1) clauses.push({ type: "terms", terms: terms, titleBoost: false, raw: inner });
      else if (terms.length > 1) clauses.push({ type: "phrase", terms: terms, titleBoost: true, raw: inner });
      return " ";
    });
    var words = rest.split(/\s+/).filter(Boolean);
    var open = prefix && !/[\s"]$/.test(q) && words.length && q.trim().endsWith(words[words.length - 1]);
    words.forEach(function (word, i) {
      var terms = analyse(word.replace(/^[+-]+/, ""));
      var last = open && i === words.length - 1;
      if (last && /^[\p{L}\p{N}]{2,}$/u.test(word)) {
        clauses.push({ type: "prefix", terms: terms, stem: word.toLowerCase(), raw: word });
      } else if (terms.length) {
        clauses.push({ type: "terms", terms: terms, titleBoost: true, raw: word });
      }
    });
    return clauses;
  }

  /* ---------- the static index ---------- */

  function fnv1a(text) {
    var bytes = new TextEncoder().encode(text), h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
    return h >>> 0;
  }

  function decodeNumbers(code, alphabet) {
    var out = [], value = 0, shift = 0;
    for (var i = 0; i < code.length; i++) {
      var d = alphabet.indexOf(code[i]);
      if (d >= 32) { value += (d - 32) * Math.pow(2, shift); shift += 5; }
      else { out.push(value + d * Math.pow(2, shift)); value = 0; shift = 0; }
    }
    return out;
  }

  function decodeBase64(text) {
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function Index(fetchJson) {
    this.fetchJson = fetchJson;
    this.cache = new Map();
  }

  Index.prototype.get = function (path) {
    if (!this.cache.has(path)) this.cache.set(path, this.fetchJson(path));
    return this.cache.get(path);
  };

  Index.prototype.meta = function () { return this.get("meta.json"); };

  /* Postings of a term: {field: {df, docs, tfs, term}}; positions decoded on demand. */
  Index.prototype.term = async function (term) {
    var meta = await this.meta();
    var name = meta.terms[fnv1a(term) % meta.buckets];
    if (!name) return null;
    var shard = await this.get(name), entry = shard.terms[term];
    if (!entry) return null;
    var key = "post:" + term;
    if (this.cache.has(key)) return this.cache.get(key);
    var result = { pos: shard.pos, fields: {} };
    Object.keys(entry).forEach(function (field) {
      var nums = decodeNumbers(entry[field][1], meta.alphabet), docs = [], tfs = [], doc = -1;
      for (var i = 0; i < nums.length; i++) {
        var v = nums[i];
        doc += Math.floor(v / 2);
        docs.push(doc);
        tfs.push(v % 2 ? nums[++i] : 1);
      }
      var at = new Map();
      docs.forEach(function (d, i) { at.set(d, i); });
      result.fields[field] = { df: entry[field][0], docs: docs, tfs: tfs, at: at };
    });
    this.cache.set(key, result);
    return result;
  };

  Index.prototype.positions = async function (term, field) {
    var meta = await this.meta(), post = await this.term(term);
    var shard = await this.get(post.pos), f = post.fields[field];
    if (!f.positions) {
      var nums = decodeNumbers(shard[term][field], meta.alphabet), at = 0;
      f.positions = f.tfs.map(function (tf) {
        var list = [], last = 0;
        for (var k = 0; k < tf; k++) { last += nums[at++]; list.push(last); }
        return list;
      });
    }
    return f.positions;
  };

  Index.prototype.block = async function (n) {
    var meta = await this.meta(), key = "block:" + n;
    if (!this.cache.has(key)) {
      this.cache.set(key, this.get(meta.blocks[n]).then(function (b) {
        var lengths = {};
        Object.keys(b.lengths).forEach(function (f) { lengths[f] = decodeBase64(b.lengths[f]); });
        return { lengths: lengths, attrs: b.attrs, docs: b.docs };
      }));
    }
    return this.cache.get(key);
  };

  Index.prototype.vocabulary = async function (start) {
    var meta = await this.meta(), two = Array.from(start).slice(0, 2).join("");
    var name = meta.vocab[fnv1a(two) % meta.vocab_buckets];
    if (!name) return [];
    var shard = await this.get(name);
    return shard[two] || [];
  };

  Index.prototype.document = async function (doc) {
    var meta = await this.meta(), n = Math.floor(doc / meta.block_docs);
    var block = await this.block(n), within = doc - n * meta.block_docs;
    var chunk = await this.get(block.docs[Math.floor(within / meta.doc_chunk)]);
    return chunk[within % meta.doc_chunk];
  };

  /* ---------- scoring: BM25F as whoosh.scoring.BM25F, combined as Whoosh's matchers ---------- */

  function treeSum(values) {
    if (values.length === 1) return values[0];
    var half = values.length >> 1;
    return treeSum(values.slice(0, half)) + treeSum(values.slice(half));
  }

  function intersect(lists) {
    var sorted = lists.slice().sort(function (a, b) { return a.length - b.length; });
    var sets = sorted.slice(1).map(function (l) { return new Set(l); });
    return sorted[0].filter(function (d) { return sets.every(function (s) { return s.has(d); }); })
      .sort(function (a, b) { return a - b; });
  }

  function isPhraseAt(lists) {
    var starts = lists[0];
    return starts.some(function (p) {
      for (var k = 1; k < lists.length; k++) if (lists[k].indexOf(p + k) < 0) return false;
      return true;
    });
  }

  /* For one clause and field: matching docs and per-doc term stats [(idf, tf)...]. */
  async function clauseField(index, meta, clause, field, posts) {
    var parts = clause.terms.map(function (t) { return posts[t] && posts[t].fields[field]; });
    if (parts.some(function (p) { return !p; })) return null;
    var docs = intersect(parts.map(function (p) { return p.docs; }));
    if (clause.type === "phrase" && docs.length) {
      var positions = await Promise.all(clause.terms.map(function (t) { return index.positions(t, field); }));
      docs = docs.filter(function (d) {
        return isPhraseAt(parts.map(function (p, k) { return positions[k][p.at.get(d)]; }));
      });
    }
    var boost = clause.titleBoost === false ? 1 : meta.boost[field];
    return { field: field, docs: docs, has: new Set(docs), parts: parts, boost: boost, terms: clause.terms };
  }

  function bm25(meta, field, df, tf, fl) {
    var B = meta.B, K1 = meta.K1, idf = Math.log(meta.doc_count / (df + 1)) + 1;
    var avgfl = meta.field_length[field] / (meta.doc_count || 1) || 1;
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)));
  }

  function Options(o) {
    o = o || {};
    return { source: o.source || "", story: o.story || "", from: o.from || "", to: o.to || "",
      prefix: !!o.prefix, typos: o.typos !== false };
  }

  async function expandPrefix(index, clause) {
    var lower = clause.stem, list = await index.vocabulary(lower);
    var found = list.filter(function (e) { return e[0].startsWith(lower); }).slice(0, 6).map(function (e) { return e[0]; });
    clause.terms.forEach(function (t) { if (found.indexOf(t) < 0) found.unshift(t); });
    return found;
  }

  /* Evaluate parsed clauses: returns [{doc, score}] sorted as Whoosh sorts (score, docnum). */
  async function evaluate(index, clauses, opts) {
    var meta = await index.meta(), posts = {}, alternatives = [];
    for (var c of clauses) if (c.type === "prefix") c.alternatives = await expandPrefix(index, c);
    var needed = new Set();
    clauses.forEach(function (c) { (c.alternatives || c.terms).forEach(function (t) { needed.add(t); }); });
    await Promise.all(Array.from(needed).map(async function (t) { posts[t] = await index.term(t); }));
    var perClause = [];
    for (var clause of clauses) {
      var options = clause.type === "prefix"
        ? clause.alternatives.map(function (t) { return { type: "terms", terms: [t], titleBoost: true }; })
        : [clause];
      var fields = [];
      for (var opt of options) {
        for (var field of ["title", "body"]) {
          var cf = await clauseField(index, meta, opt, field, posts);
          if (cf && cf.docs.length) { cf.option = opt; fields.push(cf); }
        }
      }
      perClause.push({ clause: clause, fields: fields });
    }
    if (!perClause.length || perClause.some(function (p) { return !p.fields.length; })) return [];
    var docs = intersect(perClause.map(function (p) {
      return Array.from(new Set([].concat.apply([], p.fields.map(function (f) { return f.docs; }))));
    }));
    docs = await applyFilters(index, meta, docs, opts);
    var blocks = new Map();
    await Promise.all(Array.from(new Set(docs.map(function (d) { return Math.floor(d / meta.block_docs); })))
      .map(async function (n) { blocks.set(n, await index.block(n)); }));
    alternatives = docs.map(function (doc) {
      var block = blocks.get(Math.floor(doc / meta.block_docs)), at = doc % meta.block_docs;
      var scores = perClause.map(function (p) { return clauseScore(meta, p, doc, block, at); });
      return { doc: doc, score: treeSum(scores) };
    });
    alternatives.sort(function (a, b) { return b.score - a.score || a.doc - b.doc; });
    return alternatives;
  }

  function fieldScore(meta, cf, doc, block, at) {
    var fl = meta.length_table[block.lengths[cf.field][at]];
    var values = cf.parts.map(function (p) {
      return bm25(meta, cf.field, p.df, p.tfs[p.at.get(doc)], fl);
    });
    var s = treeSum(values);
    return cf.boost !== 1 ? s * cf.boost : s;
  }

  function clauseScore(meta, p, doc, block, at) {
    if (p.clause.type !== "prefix") {
      var parts = p.fields.filter(function (cf) { return cf.has.has(doc); })
        .map(function (cf) { return fieldScore(meta, cf, doc, block, at); });
      return parts.length ? treeSum(parts) : 0;
    }
    var best = 0;
    p.clause.alternatives.forEach(function (t) {
      var s = p.fields.filter(function (cf) { return cf.option.terms[0] === t && cf.has.has(doc); })
        .reduce(function (acc, cf) { return acc + fieldScore(meta, cf, doc, block, at); }, 0);
      if (s > best) best = s;
    });
    return best;
  }

  async function applyFilters(index, meta, docs, opts) {
    if (!opts.source && !opts.story && !opts.from && !opts.to) return docs;
    var from = opts.from ? +opts.from.replace(/-/g, "") : 0;
    var to = opts.to ? +opts.to.replace(/-/g, "") : 0;
    var out = [];
    for (var doc of docs) {
      var n = Math.floor(doc / meta.block_docs), at = doc % meta.block_docs;
      var attrs = await index.get((await index.block(n)).attrs);
      var date = attrs.date[at];
      if (opts.source && attrs.source[at] !== opts.source) continue;
      if (opts.story && attrs.story[at] !== opts.story) continue;
      if ((from || to) && (!date || (from && date < from) || (to && date > to))) continue;
      out.push(doc);
    }
    return out;
  }

  /* ---------- typo tolerance: one edit, words of 5+ letters, when nothing matched ---------- */

  function oneEdit(a, b) {
    if (a === b) return false;
    var la = a.length, lb = b.length, i = 0;
    if (Math.abs(la - lb) > 1) return false;
    while (i < la && i < lb && a[i] === b[i]) i++;
    if (la === lb) {
      if (a.slice(i + 1) === b.slice(i + 1)) return true;
      return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
    }
    return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
  }

  async function correct(index, clauses) {
    var changed = false, out = [];
    for (var c of clauses) {
      var word = (c.raw || "").toLowerCase();
      if (c.type !== "terms" || c.terms.length !== 1 || Array.from(word).length < 5 || (await index.term(c.terms[0]))) {
        out.push(c);
        continue;
      }
      var t = c.terms[0], best = null;
      var starts = new Set([t.slice(0, 2), t[1] + t[0], t[0] + t[2], t.slice(1, 3)]);
      for (var s of starts) {
        (await index.vocabulary(s)).forEach(function (e) {
          if ((oneEdit(t, e[0]) || oneEdit(word, e[0])) && (!best || e[1] > best[1])) best = e;
        });
      }
      if (best) { changed = true; out.push({ type: "terms", terms: [best[0]], titleBoost: true, raw: best[0] }); }
      else out.push(c);
    }
    return changed ? out : null;
  }

  /* Search the static index: {total, hits: [{doc, score}], clauses, corrected}. */
  async function searchStatic(index, query, options) {
    var opts = Options(options), clauses = parseQuery(query, opts.prefix), corrected = null;
    if (!clauses.length) return { total: 0, hits: [], clauses: clauses, corrected: null };
    var hits = await evaluate(index, clauses, opts);
    if (!hits.length && opts.typos) {
      var fixed = await correct(index, clauses);
      if (fixed) {
        hits = await evaluate(index, fixed, opts);
        if (hits.length) { corrected = fixed.map(function (c) { return c.type === "phrase" ? '"' + c.raw + '"' : c.raw; }).join(" "); clauses = fixed; }
      }
    }
    return { total: hits.length, hits: hits, clauses: clauses, corrected: corrected };
  }

  /* Mark the query's terms in a text: [{text, mark}] pieces. */
  function highlightPieces(text, terms) {
    var wanted = new Set(terms), pieces = [], at = 0;
    tokens(text).forEach(function (t) {
      var hit = wanted.has(t.term) || terms.some(function (w) { return w.length > 2 && t.term.startsWith(w); });
      if (!hit) return;
      if (t.start > at) pieces.push({ text: text.slice(at, t.start), mark: false });
      pieces.push({ text: text.slice(t.start, t.end), mark: true });
      at = t.end;
    });
    if (at < text.length) pieces.push({ text: text.slice(at), mark: false });
    return pieces;
  }

  var api = { stem: stem, analyse: analyse, tokens: tokens, parseQuery: parseQuery, fnv1a: fnv1a,
    decodeNumbers: decodeNumbers, Index: Index, searchStatic: searchStatic, oneEdit: oneEdit,
    highlightPieces: highlightPieces };

  /* ---------- the search page ---------- */

  var PAGE = 20;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function appendPieces(node, pieces) {
    pieces.forEach(function (p) { node.appendChild(p.mark ? el("mark", "", p.text) : document.createTextNode(p.text)); });
  }

  /* Only text and <mark> survive from the API's HTML snippets. */
  function safePieces(html) {
    var doc = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html"), out = [];
    doc.body.firstChild.childNodes.forEach(function (n) {
      out.push({ text: n.textContent, mark: n.nodeName === "MARK" });
    });
    return out;
  }

  function excerptAround(text, terms) {
    var toks = tokens(text), wanted = new Set(terms), first = -1;
    for (var i = 0; i < toks.length; i++) if (wanted.has(toks[i].term)) { first = toks[i].start; break; }
    var start = first > 80 ? text.lastIndexOf(" ", first - 60) + 1 : 0;
    var cut = text.slice(start, start + 260);
    return (start > 0 ? "… " : "") + cut + (start + 260 < text.length ? " …" : "");
  }

  function baseUrl(script) {
    var b = document.body && document.body.getAttribute("data-base");
    if (b) return b.endsWith("/") ? b : b + "/";
    var src = script && script.src ? new URL(script.src, location.href).pathname : "/static/search.js";
    return src.replace(/static\/search\.js$/, "");
  }

  function startPage(script) {
    var form = document.getElementById("search-form");
    if (!form) return;
    var base = baseUrl(script), results = document.getElementById("search-results");
    var status = document.getElementById("search-status"), input = form.elements.q;
    var useApi = false, seq = 0, timer = null;
    var index = new Index(function (p) {
      return fetch(base + "search/static/" + p).then(function (r) {
        if (!r.ok) throw new Error("search index file missing: " + p);
        if (p === "meta.json" && r.headers.get("X-Search-Api")) useApi = true;
        return r.json();
      });
    });

    function params() {
      var o = {};
      ["q", "source", "story", "from", "to"].forEach(function (k) { if (form.elements[k]) o[k] = form.elements[k].value.trim(); });
      return o;
    }

    function show(groups, total, note) {
      results.textContent = "";
      status.textContent = note;
      groups.forEach(function (g) {
        var li = el("li", "search-group"), head = el("h2", "search-group-title");
        if (g.storyUrl && g.outlets > 1) {
          var a = el("a", "", g.storyTitle); a.href = g.storyUrl; head.appendChild(a);
          head.appendChild(el("span", "search-outlets", " " + g.outlets + " outlets"));
          li.appendChild(head);
        }
        var ol = el("ol", "search-hits");
        g.hits.forEach(function (h) {
          var item = el("li", "search-hit"), link = el("a", "search-hit-link", h.title);
          link.href = h.url;
          item.appendChild(link);
          item.appendChild(el("p", "search-hit-meta", [h.kind === "story" ? "Story · " + h.outlets + " outlets" : h.source_name, h.published || ""].filter(Boolean).join(" · ")));
          var snip = el("p", "search-hit-snippet");
          appendPieces(snip, h.pieces);
          item.appendChild(snip);
          ol.appendChild(item);
        });
        li.appendChild(ol);
        results.appendChild(li);
      });
    }

    function group(hits) {
      var groups = [], byKey = new Map();
      hits.forEach(function (h) {
        var key = h.story || h.kind + ":" + h.id;
        if (!byKey.has(key)) {
          byKey.set(key, { storyTitle: h.story_title, storyUrl: h.story_url, outlets: h.outlets, hits: [] });
          groups.push(byKey.get(key));
        }
        byKey.get(key).hits.push(h);
      });
      return groups;
    }

    async function runStatic(p, prefix) {
      var res = await searchStatic(index, p.q, { source: p.source, story: p.story, from: p.from, to: p.to, prefix: prefix });
      var terms = [].concat.apply([], res.clauses.map(function (c) { return c.alternatives || c.terms; }));
      var docs = await Promise.all(res.hits.slice(0, PAGE).map(function (h) { return index.document(h.doc); }));
      var hits = docs.map(function (d) {
        var pieces = highlightPieces(excerptAround(d.excerpt, terms), terms);
        return Object.assign({}, d, { pieces: pieces });
      });
      return { hits: hits, total: res.total, corrected: res.corrected };
    }

    async function runApi(p) {
      var qs = new URLSearchParams({ q: p.q, size: String(PAGE) });
      ["source", "story", "from", "to"].forEach(function (k) { if (p[k]) qs.set(k, p[k]); });
      var r = await fetch(base + "search/api?" + qs.toString());
      var body = await r.json();
      if (!r.ok) throw new Error(body.error || "search failed");
      return { total: body.total, corrected: null, hits: body.hits.map(function (h) {
        return Object.assign({}, h, { pieces: safePieces(h.highlight) });
      }) };
    }

    async function run(prefix) {
      var p = params(), mine = ++seq;
      if (!p.q) { results.textContent = ""; status.textContent = ""; return; }
      status.textContent = "Searching…";
      try {
        await index.meta().catch(function () { useApi = true; });
        var out = useApi && !prefix ? await runApi(p) : await runStatic(p, prefix);
        // The API has no typo tolerance: when it finds nothing, let the static export correct.
        if (useApi && !prefix && !out.total) out = await runStatic(p, prefix);
        if (mine !== seq) return;
        var note = out.total ? out.total + (out.total === 1 ? " result" : " results") : "No results for “" + p.q + "”.";
        if (out.corrected) note = "No results for “" + p.q + "”; showing results for “" + out.corrected + "”. " + note;
        show(group(out.hits), out.total, note);
      } catch (e) {
        if (mine === seq) { results.textContent = ""; status.textContent = String(e.message || e); }
      }
    }

    function links() { return Array.prototype.slice.call(results.querySelectorAll(".search-hit-link")); }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearTimeout(timer);
      var qs = new URLSearchParams();
      var p = params();
      Object.keys(p).forEach(function (k) { if (p[k]) qs.set(k, p[k]); });
      history.replaceState(null, "", "?" + qs.toString());
      run(false);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { run(true); }, 150);
    });
    form.addEventListener("change", function (e) { if (e.target !== input) run(false); });
    form.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && e.target === input) { var l = links(); if (l.length) { e.preventDefault(); l[0].focus(); } }
    });
    results.addEventListener("keydown", function (e) {
      var l = links(), i = l.indexOf(document.activeElement);
      if (i < 0) return;
      if (e.key === "ArrowDown" && i + 1 < l.length) { e.preventDefault(); l[i + 1].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); (i ? l[i - 1] : input).focus(); }
      else if (e.key === "Escape") { e.preventDefault(); input.focus(); }
    });
    var initial = new URLSearchParams(location.search);
    ["q", "source", "story", "from", "to"].forEach(function (k) {
      if (initial.get(k) && form.elements[k]) form.elements[k].value = initial.get(k);
    });
    if (input.value) run(false);
  }

  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else if (root.document) {
    root.SiteSearch = api;
    var script = document.currentScript;
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { startPage(script); });
    else startPage(script);
  }
})(typeof self !== "undefined" ? self : this);
