// NexOTP sandbox console. Listens to the sandbox's event stream (/__sandbox/events, server-sent
// events: no polling) and drives it through the same control endpoints the tests use. Every
// value from the sandbox is written as text (textContent), never as HTML: request bodies come
// from any client.
'use strict';
(() => {
  const BASE = new URL('../', location.href); // /__sandbox/
  const MAX_REQUESTS = 500;
  const BUCKETS = ['GENERAL', 'ORDER', 'POLL'];
  const $ = (id) => document.getElementById(id);

  // ---- small DOM helpers ------------------------------------------------------------------
  function h(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }
  const setText = (e, text) => { if (e.textContent !== text) e.textContent = text; };
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  function clock(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso || '');
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  function duration(ms) {
    if (ms <= 0) return 'now';
    const s = ms / 1000;
    if (s < 10) return `${s.toFixed(1)} s`;
    if (s < 60) return `${Math.floor(s)} s`;
    const t = Math.floor(s);
    const hms = t >= 3600 ? `${Math.floor(t / 3600)}:${pad(Math.floor(t / 60) % 60)}` : `${Math.floor(t / 60)}`;
    return `${hms}:${pad(t % 60)}`;
  }
  function badge(text, tone) {
    const b = h('span', { class: 'badge', text });
    b.dataset.tone = tone;
    return b;
  }
  function setBadge(cell, text, tone) {
    const b = cell.firstElementChild;
    if (b && b.textContent === text && b.dataset.tone === tone) return;
    cell.replaceChildren(badge(text, tone));
  }
  const ORDER_TONE = { pending: 'warn', received: 'ok', completed: 'ok', cancelled: 'muted', expired: 'bad' };
  const DELIVERY_TONE = { pending: 'warn', delivered: 'ok', failed: 'bad' };
  function httpTone(status) {
    if (status == null) return 'bad';
    if (status < 300) return 'ok';
    if (status < 500) return 'warn';
    return 'bad';
  }
  const pct = (share) => `${+(share * 100).toFixed(4)} %`;
  function pretty(text) {
    if (!text) return '(empty)';
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
  }

  // Keeps a tbody's rows in the order of `items`, reusing rows by key, so that a focused
  // input or button in a row survives every update.
  function syncRows(tbody, items, key, create, update) {
    const old = new Map();
    for (const tr of tbody.rows) old.set(tr.dataset.key, tr);
    let prev = null;
    for (const item of items) {
      const k = String(key(item));
      let tr = old.get(k);
      if (tr) old.delete(k);
      else { tr = create(item); tr.dataset.key = k; }
      update(tr, item);
      const want = prev ? prev.nextElementSibling : tbody.firstElementChild;
      if (tr !== want) tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const tr of old.values()) tr.remove();
  }
  function showEmpty(id, empty) { $(id).hidden = !empty; }

  // ---- status line --------------------------------------------------------------------------
  function say(text, error) {
    const s = $('action-status');
    s.dataset.kind = error ? 'error' : 'ok';
    s.textContent = text;
  }

  async function control(method, path, body) {
    const init = { method, cache: 'no-store' };
    if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const res = await fetch(new URL(path, BASE), init);
    let data = null;
    try { data = await res.json(); } catch { /* no JSON body */ }
    if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
    return data;
  }
  async function act(what, run, done) {
    try {
      say(done(await run()));
    } catch (e) {
      say(`${what}: ${e.message}`, true);
    }
  }

  // ---- live state ------------------------------------------------------------------------------
  let offset = 0; // server clock minus this page's clock
  let hello = null;
  const requests = new Map(); // seq -> request item
  const deliveries = new Map(); // id -> delivery
  let firstRequests = true;

  function renderHello(info) {
    hello = info;
    setText($('api-url'), new URL(info.api_prefix, location.origin).href);
    setText($('seed'), String(info.seed));
    setText($('code-delay'), duration(info.code_delay_ms));
    setText($('order-ttl'), duration(info.order_ttl_ms));
  }

  function renderState(frame) {
    offset = frame.now_ms - Date.now();
    const w = frame.world;
    setText($('balance'), w.balance);
    setText($('balance-top'), `${w.balance} USD`);
    renderOrders(w);
    renderLedger(w);
    renderWebhooks(w);
    renderFaults(frame.faults, frame.rate_limits);
    renderCounters(frame.stats, w);
  }

  function ordersCount(w) {
    return w.orders_total > w.orders.length ? `(newest ${w.orders.length} of ${w.orders_total})` : `(${w.orders_total})`;
  }

  function orderRow(o) {
    const id = String(o.id);
    const input = h('input', {
      id: `code-${id}`, name: 'code', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'random', 'aria-label': `Code for order ${id}`, pattern: '[0-9A-Za-z]{1,32}',
    });
    const deliver = h('form', { class: 'deliver', 'data-order': id }, input,
      h('button', { type: 'submit', 'data-action': 'deliver', 'aria-label': `Deliver code to order ${id}`, text: 'Deliver code' }));
    const cell = (cls) => h('td', { class: cls });
    return h('tr', null,
      h('th', { scope: 'row', class: 'mono', text: id }),
      cell(''), cell(''), cell('mono'), cell('num'), cell('status'), cell('mono'),
      cell('num code-in'), cell('num expires-in'),
      h('td', null, h('div', { class: 'actions' }, deliver,
        h('button', { type: 'button', 'data-action': 'expire', 'data-order': id, 'aria-label': `Expire order ${id}`, text: 'Expire' }),
        h('button', { type: 'button', 'data-action': 'cancel', 'data-order': id, 'aria-label': `Cancel order ${id}`, text: 'Cancel' }))));
  }
  function updateOrder(tr, o) {
    tr.order = o;
    const c = tr.cells;
    setText(c[1], o.service);
    setText(c[2], o.country);
    setText(c[3], o.phone);
    setText(c[4], o.price);
    setBadge(c[5], o.status, ORDER_TONE[o.status] || 'muted');
    setText(c[6], (o.codes || []).join(', ') || '—');
    const open = o.status === 'pending' || o.status === 'received';
    tr.querySelector('[data-action="deliver"]').disabled = !open;
    tr.querySelector('[data-action="expire"]').disabled = !open;
    tr.querySelector('[data-action="cancel"]').disabled = !(o.status === 'pending' && !(o.codes || []).length);
    updateTimers(tr);
  }
  function updateTimers(tr) {
    const o = tr.order;
    const now = Date.now() + offset;
    const pending = o.status === 'pending';
    setText(tr.cells[7], pending && o.code_due_ms != null ? duration(o.code_due_ms - now) : '—');
    setText(tr.cells[8], pending ? duration(o.expires_ms - now) : '—');
  }
  function renderOrders(w) {
    syncRows($('orders-body'), w.orders, (o) => o.id, orderRow, updateOrder);
    setText($('orders-count'), ordersCount(w));
    showEmpty('orders-empty', w.orders.length === 0);
  }

  function renderLedger(w) {
    syncRows($('ledger-body'), w.transactions, (t) => t.id,
      () => h('tr', null, h('td', { class: 'mono' }), h('td'), h('td'), h('td', { class: 'num' }),
        h('td', { class: 'num' }), h('td', { class: 'mono' }), h('td', { class: 'wrap' })),
      (tr, t) => {
        const c = tr.cells;
        setText(c[0], String(t.id));
        setText(c[1], clock(t.created_at).slice(0, 8));
        c[1].title = t.created_at;
        setText(c[2], t.type);
        setText(c[3], t.amount);
        setText(c[4], t.balance_after);
        setText(c[5], t.order_id == null ? '—' : String(t.order_id));
        setText(c[6], t.description);
      });
    setText($('ledger-count'), `(${w.transactions_total})`);
  }

  function renderWebhooks(w) {
    syncRows($('webhooks-body'), w.webhooks, (x) => x.id,
      () => h('tr', null, h('td', { class: 'mono' }), h('td', { class: 'wrap mono' }), h('td', { class: 'wrap' }), h('td')),
      (tr, x) => {
        const c = tr.cells;
        setText(c[0], String(x.id));
        setText(c[1], x.endpoint_url);
        setText(c[2], (x.events || []).join(', '));
        setBadge(c[3], x.active ? 'active' : 'inactive', x.active ? 'ok' : 'muted');
      });
    showEmpty('webhooks-empty', w.webhooks.length === 0);
    deliveries.clear();
    for (const d of w.deliveries) deliveries.set(String(d.id), d);
    const urls = new Map(w.webhooks.map((x) => [x.id, x.endpoint_url]));
    syncRows($('deliveries-body'), w.deliveries, (d) => d.id,
      (d) => h('tr', null, h('td', { class: 'mono' }), h('td'), h('td', { class: 'mono' }), h('td', { class: 'mono' }),
        h('td'), h('td', { class: 'num' }), h('td', { class: 'wrap' }),
        h('td', null, h('div', { class: 'actions' },
          h('button', { type: 'button', 'data-action': 'delivery', 'data-delivery': String(d.id), 'aria-haspopup': 'dialog', 'aria-label': `Details of delivery ${d.id}`, text: 'Details' }),
          h('button', { type: 'button', 'data-action': 'replay', 'data-delivery': String(d.id), 'aria-label': `Replay delivery ${d.id}`, text: 'Replay' })))),
      (tr, d) => {
        const c = tr.cells;
        setText(c[0], d.replay_of ? `${d.id} (replay of ${d.replay_of})` : String(d.id));
        setText(c[1], d.event_type);
        setText(c[2], String(d.order_id));
        setText(c[3], String(d.webhook_id));
        c[3].title = urls.get(d.webhook_id) || 'deleted';
        setBadge(c[4], d.state, DELIVERY_TONE[d.state] || 'muted');
        setText(c[5], `${d.attempts} of 4`);
        setText(c[6], d.last_status != null ? `HTTP ${d.last_status}` : (d.last_error || '—'));
        tr.querySelector('[data-action="replay"]').disabled = !urls.has(d.webhook_id);
      });
    setText($('deliveries-count'), `(${w.deliveries_total})`);
    showEmpty('deliveries-empty', w.deliveries.length === 0);
  }

  function faultText(f) {
    return f.fault === 'status'
      ? `HTTP ${f.status}${f.envelope === false ? ' (HTML page)' : ''}${f.after_apply ? ' after applying' : ''}`
      : f.fault.replace(/_/g, ' ') + (f.ms != null ? ` ${f.ms} ms` : '');
  }
  function scriptLine(s) {
    return `${faultText(s)} for the next ${s.times === 1 ? 'request' : `${s.times} requests`} matching ${s.match || 'any request'}`;
  }
  function renderFaults(f, limits) {
    const lines = [];
    if (f.error_rate > 0) lines.push(`Error rate ${pct(f.error_rate)}`);
    if (f.drop_rate > 0) lines.push(`Drop rate ${pct(f.drop_rate)}`);
    if (f.malformed_rate > 0) lines.push(`Malformed rate ${pct(f.malformed_rate)}`);
    if (f.latency_ms > 0) lines.push(`Latency ${f.latency_ms} ms`);
    for (const s of f.script || []) lines.push(`Scripted: ${scriptLine(s)}`);
    for (const r of f.random || []) lines.push(`Random: ${pct(r.rate)} of ${r.match || 'every request'}: ${faultText(r)}`);
    if (!lines.length) lines.push('No faults: every request is answered normally.');
    let anyLimit = false;
    for (const b of BUCKETS) {
      const l = limits[b];
      if (!l) continue;
      anyLimit = true;
      lines.push(`Rate limit ${b}: ${limitText(l)}`);
    }
    if (!anyLimit) lines.push('No rate limits.');
    const ul = $('faults-now');
    const same = ul.children.length === lines.length && lines.every((t, i) => ul.children[i].textContent === t);
    if (!same) ul.replaceChildren(...lines.map((t) => h('li', { text: t })));
    fillForm($('rates-form'), () => {
      $('error-rate').value = +(f.error_rate * 100).toFixed(4);
      $('drop-rate').value = +(f.drop_rate * 100).toFixed(4);
      $('malformed-rate').value = +(f.malformed_rate * 100).toFixed(4);
      $('latency').value = f.latency_ms;
    });
    for (const b of BUCKETS) setText($(`limit-now-${b}`), limits[b] ? limitText(limits[b]) : 'none');
    fillForm($('limits-form'), () => {
      for (const b of BUCKETS) {
        $(`limit-${b}`).value = limits[b] ? limits[b].per_second : '';
        $(`burst-${b}`).value = limits[b] && limits[b].burst != null ? limits[b].burst : '';
      }
    });
  }
  function limitText(l) {
    return `${l.per_second}/s, burst ${l.burst != null ? l.burst : Math.max(1, Math.ceil(l.per_second))}${l.retry_after != null ? `, Retry-After ${l.retry_after}` : ''}`;
  }
  // Shows the sandbox's values in a form, unless a person is editing it.
  function fillForm(form, fill) {
    if (form.dataset.dirty === 'yes' || form.contains(document.activeElement)) return;
    fill();
  }

  function renderCounters(s, w) {
    setText($('stat-requests'), String(s.requests));
    const rows = [
      ['API requests', String(s.requests)],
      ['By bucket', BUCKETS.map((b) => `${b} ${s.requests_by_bucket[b] || 0}`).join(', ')],
      ['By status', Object.entries(s.responses_by_status).map(([k, v]) => `${k}: ${v}`).join(', ') || '—'],
      ['Dropped connections', String(s.dropped)],
      ['Refused by the rate limiter', String(s.rate_limited)],
      ['Injected faults', Object.entries(s.faults).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`).join(', ') || 'none'],
      ['Orders created', String(s.orders_created)],
      ['Authenticated requests (account usage)', String(w.requests_total)],
    ];
    const dl = $('counters-list');
    if (dl.children.length !== rows.length * 2) {
      dl.replaceChildren(...rows.flatMap(([k]) => [h('dt', { text: k }), h('dd')]));
    }
    rows.forEach(([, v], i) => setText(dl.children[i * 2 + 1], v));
  }

  function route(path) {
    const prefix = hello ? hello.api_prefix.replace(/\/$/, '') : '/wp-json/nexotp/v1';
    return path.toLowerCase().startsWith(prefix.toLowerCase()) ? path.slice(prefix.length) || '/' : path;
  }
  function requestRow(r) {
    const label = `${route(r.path)}${r.query ? `?${r.query}` : ''}`;
    const tr = h('tr', null,
      h('td', { class: 'mono', text: clock(r.at) }),
      h('td', { class: 'mono', text: r.method }),
      h('td', { class: 'wrap' }, h('button', {
        type: 'button', class: 'link mono', 'data-action': 'request', 'data-seq': String(r.seq),
        'aria-haspopup': 'dialog', title: 'Show headers and bodies', text: label,
      })),
      h('td', null, badge(r.status == null ? 'dropped' : String(r.status), httpTone(r.status))),
      h('td', { text: r.bucket || '—' }),
      h('td', { class: 'num', text: `${r.latency_ms} ms` }),
      h('td', { class: 'mono', text: r.request_id || '—' }),
      h('td', { text: r.fault ? r.fault.replace(/_/g, ' ') : '—' }));
    tr.dataset.key = String(r.seq);
    return tr;
  }
  function renderRequests(frame) {
    const body = $('requests-body');
    if (frame.reset) { requests.clear(); body.replaceChildren(); }
    const rows = document.createDocumentFragment();
    for (let i = frame.items.length - 1; i >= 0; i--) {
      const r = frame.items[i];
      requests.set(String(r.seq), r);
      const tr = requestRow(r);
      if (!firstRequests && !frame.reset) fresh(tr);
      rows.append(tr);
    }
    body.prepend(rows);
    while (body.rows.length > MAX_REQUESTS) {
      const last = body.rows[body.rows.length - 1];
      requests.delete(last.dataset.key);
      last.remove();
    }
    firstRequests = false;
    setText($('requests-count'), `(${body.rows.length})`);
    showEmpty('requests-empty', body.rows.length === 0);
  }
  function fresh(tr) {
    tr.classList.add('fresh');
    setTimeout(() => tr.classList.remove('fresh'), 1200);
  }

  // ---- details dialog ----------------------------------------------------------------------------
  let opener = null;
  function definitions(pairs) {
    const dl = h('dl');
    for (const [k, v] of pairs) dl.append(h('dt', { text: k }), h('dd', { text: v }));
    return dl;
  }
  function openDialog(title, parts) {
    opener = document.activeElement;
    setText($('detail-h'), title);
    $('detail-body').replaceChildren(...parts);
    $('detail').showModal();
    $('detail-close').focus();
  }
  function showRequest(r) {
    const headers = (obj) => Object.keys(obj).length ? definitions(Object.entries(obj)) : h('p', { class: 'hint', text: '(none)' });
    const cut = (part) => (part.truncated ? ' (cut at 64 KB)' : '');
    openDialog(`${r.method} ${r.path}`, [
      definitions([
        ['Time', r.at], ['Query', r.query || '—'],
        ['Status', r.status == null ? 'dropped: no answer' : String(r.status)],
        ['Bucket', r.bucket || '—'], ['Latency', `${r.latency_ms} ms`],
        ['Request ID', r.request_id || '—'], ['Injected fault', r.fault || 'none'],
      ]),
      h('h3', { text: 'Request headers' }), headers(r.request.headers),
      h('h3', { text: `Request body${cut(r.request)}` }), h('pre', { text: pretty(r.request.body) }),
      h('h3', { text: 'Response headers' }), headers(r.response.headers),
      h('h3', { text: `Response body${cut(r.response)}` }), h('pre', { text: r.status == null ? '(no answer)' : pretty(r.response.body) }),
    ]);
  }
  function showDelivery(d) {
    openDialog(`Delivery ${d.id}: ${d.event_type}`, [
      definitions([
        ['Event', d.event_id], ['Order', String(d.order_id)], ['Webhook', String(d.webhook_id)],
        ['State', d.state], ['Attempts', `${d.attempts} of 4`],
        ["Receiver's last status", d.last_status != null ? String(d.last_status) : '—'],
        ['Last error', d.last_error || '—'], ['Replay of', d.replay_of ? String(d.replay_of) : '—'],
      ]),
      h('h3', { text: 'Signature header (last attempt)' }),
      h('pre', { text: d.signature ? `X-NexOTP-Signature: ${d.signature}` : '(not sent yet)' }),
      h('h3', { text: 'Payload' }), h('pre', { text: pretty(d.payload) }),
    ]);
  }
  $('detail-close').addEventListener('click', () => $('detail').close());
  $('detail').addEventListener('close', () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });

  // ---- actions ---------------------------------------------------------------------------------
  $('orders-body').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.target;
    const id = form.dataset.order;
    const input = form.elements.code;
    const code = input.value.trim();
    act(`Delivering a code to order ${id}`, () => control('POST', `orders/${id}/code`, code ? { code } : {}),
      (o) => { input.value = ''; return `Order ${id} received code ${o.code}.`; });
  });
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    if (!b) return;
    const id = b.dataset.order;
    switch (b.dataset.action) {
      case 'expire':
        act(`Expiring order ${id}`, () => control('POST', `orders/${id}/expire`), () => `Order ${id} expired.`);
        break;
      case 'cancel':
        act(`Cancelling order ${id}`, () => control('POST', `orders/${id}/cancel`), (o) => `Order ${id} cancelled; ${o.refund} refunded.`);
        break;
      case 'request': {
        const r = requests.get(b.dataset.seq);
        if (r) showRequest(r);
        break;
      }
      case 'delivery': {
        const d = deliveries.get(b.dataset.delivery);
        if (d) showDelivery(d);
        break;
      }
      case 'replay': {
        const did = b.dataset.delivery;
        act(`Replaying delivery ${did}`, () => control('POST', `deliveries/${did}/replay`), (d) => `Delivery ${did} replayed as delivery ${d.id}.`);
        break;
      }
      default:
    }
  });
  $('reset').addEventListener('click', () => {
    act('Resetting', () => control('POST', 'reset'), () => 'The sandbox is back at its seeded start.');
  });
  $('clear-requests').addEventListener('click', () => {
    act('Clearing the request log', () => control('DELETE', 'requests'), () => 'Request log cleared.');
  });
  $('balance-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('balance-input').value.trim();
    act('Setting the balance', () => control('POST', 'balance', { balance: value }), (r) => {
      $('balance-input').value = '';
      return `Balance set to ${r.balance} USD.`;
    });
  });
  for (const id of ['rates-form', 'limits-form']) {
    for (const type of ['input', 'change']) {
      $(id).addEventListener(type, (e) => { e.currentTarget.dataset.dirty = 'yes'; });
    }
  }
  $('rates-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const share = (id) => Number($(id).value) / 100;
    const body = {
      error_rate: share('error-rate'), drop_rate: share('drop-rate'),
      malformed_rate: share('malformed-rate'), latency_ms: Math.round(Number($('latency').value)),
    };
    act('Setting faults', () => control('PATCH', 'faults', body), (f) => {
      $('rates-form').dataset.dirty = '';
      return `Faults set: error ${pct(f.error_rate)}, drop ${pct(f.drop_rate)}, malformed ${pct(f.malformed_rate)}, latency ${f.latency_ms} ms.`;
    });
  });
  $('clear-faults').addEventListener('click', () => {
    act('Clearing faults', () => control('DELETE', 'faults'), () => {
      $('rates-form').dataset.dirty = '';
      return 'All faults cleared.';
    });
  });
  const kind = $('script-kind');
  const showKindFields = () => {
    $('script-status-field').hidden = !kind.value.startsWith('status');
    $('script-ms-field').hidden = !(kind.value === 'delay' || kind.value === 'slow_after_apply');
  };
  kind.addEventListener('change', showKindFields);
  showKindFields();
  $('script-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const method = $('script-method').value;
    const path = $('script-path').value.trim();
    const fault = { match: method === '*' ? path : `${method} ${path}`, times: Number($('script-times').value) || 1 };
    const k = kind.value;
    if (k.startsWith('status')) {
      Object.assign(fault, { fault: 'status', status: Number($('script-status').value) });
      if (k === 'status_html') fault.envelope = false;
    } else if (k === 'delay' || k === 'slow_after_apply') {
      Object.assign(fault, { fault: k, ms: Number($('script-ms').value) });
    } else {
      fault.fault = k;
    }
    act('Adding a scripted fault', () => control('POST', 'faults/script', fault), () => `Scripted fault added: ${scriptLine(fault)}.`);
  });
  const limitsBody = $('limits-body');
  for (const b of BUCKETS) {
    limitsBody.append(h('tr', null,
      h('th', { scope: 'row', text: b }),
      h('td', { id: `limit-now-${b}`, text: 'none' }),
      h('td', null, h('input', { id: `limit-${b}`, type: 'number', min: '0', step: 'any', 'aria-label': `Requests per second for ${b}` })),
      h('td', null, h('input', { id: `burst-${b}`, type: 'number', min: '1', step: '1', 'aria-label': `Burst for ${b}` }))));
  }
  $('limits-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const set = async () => {
      const done = [];
      for (const b of BUCKETS) {
        const rate = $(`limit-${b}`).value.trim();
        const burst = $(`burst-${b}`).value.trim();
        const body = { bucket: b, per_second: rate === '' || Number(rate) === 0 ? null : Number(rate) };
        if (body.per_second != null && burst !== '') body.burst = Number(burst);
        await control('POST', 'rate', body);
        done.push(body.per_second == null ? `${b} none` : `${b} ${body.per_second}/s`);
      }
      return done;
    };
    act('Setting rate limits', set, (done) => {
      $('limits-form').dataset.dirty = '';
      return `Rate limits set: ${done.join(', ')}.`;
    });
  });

  // ---- the stream ------------------------------------------------------------------------------
  function connection(state, text) {
    $('conn').dataset.state = state;
    setText($('conn-text'), text);
  }
  function listen() {
    const events = new EventSource(new URL('events', BASE));
    events.addEventListener('open', () => connection('live', 'Live'));
    events.addEventListener('error', () => {
      connection('down', events.readyState === EventSource.CLOSED ? 'Disconnected' : 'Disconnected, reconnecting…');
    });
    events.addEventListener('hello', (e) => renderHello(JSON.parse(e.data)));
    events.addEventListener('state', (e) => renderState(JSON.parse(e.data)));
    events.addEventListener('requests', (e) => renderRequests(JSON.parse(e.data)));
    setInterval(() => {
      for (const tr of $('orders-body').rows) if (tr.order) updateTimers(tr);
    }, 500);
  }
  // The page's frame paints first; the stream (and the rows it brings) right after.
  requestAnimationFrame(() => setTimeout(listen, 0));
})();
