// GET /docs: a self-contained API reference (no CDN, no assets) that renders the operations of
// /openapi.json and lets a developer send a request with their own key.
import { escapeHtml } from '../html';

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0 16px 0 0}
header input{width:360px;padding:5px 8px;font:inherit;border-radius:4px;border:0}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
h2{font-size:16px;margin:24px 0 8px}
details{background:#fff;border:1px solid #d8dce3;border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:center}
.m{font:bold 12px monospace;padding:2px 8px;border-radius:4px;color:#fff;min-width:48px;text-align:center}
.get{background:#2f7d32}.post{background:#1565c0}.put,.patch{background:#ad6800}.delete{background:#b3261e}
.p{font-family:monospace;font-weight:600}
.body{padding:4px 16px 16px;border-top:1px solid #e6e9ee}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #eef0f3;vertical-align:top}
td input{width:100%;box-sizing:border-box;font:12px monospace;padding:3px}
textarea{width:100%;box-sizing:border-box;font:12px monospace;min-height:140px}
pre{background:#f1f3f6;padding:8px;overflow:auto;max-height:420px;font-size:12px;margin:4px 0}
button{font:inherit;padding:5px 14px;border-radius:4px;border:1px solid #1565c0;background:#1565c0;color:#fff;cursor:pointer}
.req{color:#b3261e}.muted{color:#667085}.status{font-weight:bold}
`;

// Plain browser JavaScript; everything from the document is inserted as text, never as HTML.
const script = `
(function () {
  var keyInput = document.getElementById('key');
  keyInput.value = sessionStorage.getItem('paycenter-key') || '';
  keyInput.addEventListener('input', function () { sessionStorage.setItem('paycenter-key', keyInput.value); });
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k]; else if (k === 'cls') node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function resolve(doc, schema) {
    if (schema && schema.$ref) return doc.components.schemas[schema.$ref.split('/').pop()];
    return schema || {};
  }
  function example(schema, name) {
    schema = schema || {};
    if (schema.default !== undefined) return schema.default;
    if (schema.examples && schema.examples.length) return schema.examples[0];
    if (schema.enum) return schema.enum[0];
    if (schema.anyOf) return example(schema.anyOf[0], name);
    switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
      case 'object':
        var out = {};
        var required = schema.required || [];
        Object.keys(schema.properties || {}).forEach(function (k) {
          if (required.indexOf(k) >= 0) out[k] = example(schema.properties[k], k);
        });
        return out;
      case 'array': return [];
      case 'integer': case 'number':
        var lo = schema.minimum !== undefined ? schema.minimum : schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1;
        return Math.max(lo, Math.min(schema.maximum !== undefined ? schema.maximum : 100, 100));
      case 'boolean': return false;
      case 'string':
        if (schema.format === 'uri') return 'https://merchant.example/notify';
        if (schema.format === 'date-time') return new Date().toISOString();
        if (/OrderNo|RefundNo/.test(name || '')) return 'order-' + Date.now();
        if (name === 'channel') return 'sandbox';
        return name === 'subject' ? 'Two coffees' : 'text';
    }
    return null;
  }
  function render(doc) {
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    document.getElementById('intro').textContent = doc.info.description || '';
    var main = document.getElementById('ops');
    var byTag = {};
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags && op.tags[0]) || 'Other';
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    Object.keys(byTag).forEach(function (tag) {
      main.appendChild(el('h2', { text: tag }));
      byTag[tag].forEach(function (entry) { main.appendChild(operation(doc, entry)); });
    });
  }
  function operation(doc, entry) {
    var op = entry.op;
    var inputs = {};
    var rows = (op.parameters || []).map(function (p) {
      var input = el('input', { placeholder: p.schema && p.schema.enum ? p.schema.enum.join(' | ') : (p.schema && p.schema.type) || '' });
      inputs[p.in + ':' + p.name] = input;
      return el('tr', {}, [
        el('td', {}, [el('code', { text: p.name }), p.required ? el('span', { cls: 'req', text: ' *' }) : null]),
        el('td', { cls: 'muted', text: p.in }),
        el('td', { text: (p.description || '') + (p.schema ? ' ' + JSON.stringify(p.schema) : '') }),
        el('td', {}, [input]),
      ]);
    });
    // Webhooks take the channel's own format: only JSON bodies get an editor.
    var jsonBody = op.requestBody && op.requestBody.content['application/json'];
    var bodySchema = jsonBody && jsonBody.schema;
    var textarea = bodySchema ? el('textarea', {}) : null;
    if (textarea) textarea.value = JSON.stringify(example(bodySchema), null, 2);
    var out = el('pre', { text: '' });
    var status = el('span', { cls: 'status' });
    var send = el('button', { type: 'button', text: 'Send' });
    send.addEventListener('click', function () {
      var path = entry.path.replace(/{([^}]+)}/g, function (_, name) {
        return encodeURIComponent(inputs['path:' + name].value.trim());
      });
      var query = new URLSearchParams();
      Object.keys(inputs).forEach(function (k) {
        if (k.indexOf('query:') === 0 && inputs[k].value.trim() !== '') query.append(k.slice(6), inputs[k].value.trim());
      });
      var qs = query.toString();
      var headers = {};
      if (keyInput.value.trim()) headers.authorization = 'Bearer ' + keyInput.value.trim();
      Object.keys(inputs).forEach(function (k) {
        if (k.indexOf('header:') === 0 && inputs[k].value.trim() !== '') headers[k.slice(7)] = inputs[k].value.trim();
      });
      var init = { method: entry.method.toUpperCase(), headers: headers };
      if (textarea) { headers['content-type'] = 'application/json'; init.body = textarea.value; }
      status.textContent = '...';
      fetch(path + (qs ? '?' + qs : ''), init).then(function (res) {
        status.textContent = res.status + ' ' + res.statusText;
        return res.text().then(function (text) {
          try { out.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { out.textContent = text; }
        });
      }, function (err) { status.textContent = 'failed'; out.textContent = String(err); });
    });
    var responses = Object.keys(op.responses).map(function (code) {
      var r = op.responses[code];
      var content = r.content && (r.content['application/json'] || r.content['application/problem+json']);
      var schema = content ? resolve(doc, content.schema) : null;
      return el('details', {}, [
        el('summary', { text: code + ' ' + r.description }),
        schema ? el('pre', { text: JSON.stringify(schema, null, 2) }) : null,
      ]);
    });
    return el('details', { id: op.operationId }, [
      el('summary', {}, [
        el('span', { cls: 'm ' + entry.method, text: entry.method.toUpperCase() }),
        el('span', { cls: 'p', text: entry.path }),
        el('span', { text: op.summary }),
        op.security && op.security.length === 0 ? el('span', { cls: 'muted', text: '(no key)' }) : null,
      ]),
      el('div', { cls: 'body' }, [
        op.description ? el('p', { text: op.description }) : null,
        rows.length ? el('table', {}, [el('tr', {}, ['name', 'in', 'schema', 'value'].map(function (h) { return el('th', { text: h }); }))].concat(rows)) : null,
        bodySchema ? el('h3', { text: 'Request body (application/json)' }) : null,
        bodySchema ? el('details', {}, [el('summary', { text: 'schema' }), el('pre', { text: JSON.stringify(bodySchema, null, 2) })]) : null,
        textarea,
        el('p', {}, [send, el('span', { text: '  ' }), status]),
        out,
        el('h3', { text: 'Responses' }),
      ].concat(responses)),
    ]);
  }
  fetch(document.body.getAttribute('data-spec')).then(function (r) { return r.json(); }).then(render, function (err) {
    document.getElementById('ops').textContent = 'Could not load the OpenAPI document: ' + err;
  });
})();
`;

export function docsPage(options: { title: string; specUrl: string }): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(options.title)} reference</title><style>${style}</style></head>` +
    `<body data-spec="${escapeHtml(options.specUrl)}">` +
    `<header><h1 id="title">${escapeHtml(options.title)}</h1>` +
    `<label>API key <input id="key" type="password" autocomplete="off" placeholder="pk_..."></label>` +
    `<a style="color:#9cc3ff" href="${escapeHtml(options.specUrl)}">openapi.json</a></header>` +
    `<main><p id="intro" class="muted"></p><div id="ops">Loading…</div></main>` +
    `<script>${script}</script></body></html>`
  );
}
