// Liaison operations dashboard. Reads /api/* (JSON) and /api/events
// (server-sent events); every value is written with textContent, never as
// HTML. The broker serves metadata only; this page shows what it gets.
//
// With ?snapshot=1 the page reads every view once (recent decisions from
// /api/recent), opens no event stream and sets no timer, so a headless
// browser's --virtual-time-budget ends and it can take a screenshot.
'use strict';

const MAX_EVENTS = 100;
const REFRESH_MS = 3000;
const OUTCOMES = ['ALLOW', 'REDACT', 'DELAY', 'HOLD', 'REJECT'];
const SNAPSHOT = new URLSearchParams(window.location.search).get('snapshot') === '1';

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c));
  return tr;
}

function strip(value, prefix) {
  return typeof value === 'string' && value.startsWith(prefix) ? value.slice(prefix.length) : value;
}

function outcomeCell(outcome) {
  const o = strip(outcome, 'OUTCOME_');
  const td = el('td', null, 'outcome');
  td.appendChild(el('span', o, 'o-' + o));
  return td;
}

function trimZeros(fixed) {
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

// A span as the command line prints it (connectors/cli/admin_render.cc):
// whole seconds from a minute on ("2h3m46s"), milliseconds from a second on
// ("3.25s"), microseconds below ("1.5ms", "870us"). `duration` is a protobuf
// JSON Duration ("1.250s") or a number of seconds.
function span(duration) {
  if (duration === undefined || duration === null || duration === '') return '';
  let s = typeof duration === 'number' ? duration : parseFloat(duration);
  if (isNaN(s)) return '';
  const sign = s < 0 ? '-' : '';
  s = Math.abs(s);
  if (s >= 60) {
    const whole = Math.floor(s + 1e-9);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const sec = whole % 60;
    return sign + (h ? h + 'h' : '') + (m ? m + 'm' : '') + (sec ? sec + 's' : '');
  }
  if (s >= 1) return sign + trimZeros((Math.floor(s * 1000 + 1e-6) / 1000).toFixed(3)) + 's';
  const us = Math.floor(s * 1e6 + 1e-6);
  if (us === 0) return '0';
  return sign + (us >= 1000 ? trimZeros((us / 1000).toFixed(3)) + 'ms' : us + 'us');
}

// "1 record", "3 entries".
function count(n, one, many) {
  const v = Number(n);
  if (n === undefined || n === null || isNaN(v) || v < 0) return 'unknown';
  return v + ' ' + (v === 1 ? one : many);
}

function time(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return isNaN(d) ? '' : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function replaceBody(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}

function renderHealth(h) {
  $('node').textContent = 'node ' + h.node_id;
  const kafka = $('kafka');
  kafka.textContent = h.kafka_reachable ? 'Kafka reachable' : 'Kafka unreachable';
  kafka.className = 'badge ' + (h.kafka_reachable ? 'ok' : 'bad');
  // [label, value, tooltip]: the same figures, units and wording as
  // `liaison admin health`.
  const items = [
    ['node', h.node_id, 'Node id (--node-id)'],
    ['uptime', span(h.uptime), 'Time since this node started'],
    ['Kafka', (h.embedded_kafka ? 'embedded mock (in memory) — ' : '') +
        (h.kafka_reachable ? 'reachable' : 'unreachable ' + (h.kafka_error || '')),
     'Whether the last probe of the Kafka cluster succeeded'],
    ['policy version', h.policy_version, 'Version of the policy configuration in force'],
    ['registry version', h.registry_version, 'Version of the endpoint registry in force'],
    ['policy stage', h.policy_stage ? 'ingress partitions ' + (h.owned_ingress_partitions || []).join(',')
                                    : 'not run on this node',
     'liaison.ingress partitions this node decides'],
    ['holds pending', count(h.holds_pending, 'hold', 'holds'),
     'Deliveries waiting for a consent or a time'],
    ['audit entries written', count(h.audit_entries_written, 'entry', 'entries') + ' (this node)',
     'Audit entries this node wrote since start: one per (message, recipient) decision or event'],
    ['audit topic', count(h.audit_topic_records, 'record', 'records'),
     'Records in the audit topic, all nodes, as retained; a record holds the entries of one message or event'],
    ['sends', h.accepted + ' accepted, ' + h.duplicates + ' duplicates, ' + h.refused + ' refused',
     'Sends answered by this node\'s front door since start'],
    ['Kafka records lost', h.kafka_records_lost,
     'Records librdkafka reported lost (should stay 0)'],
  ];
  for (const lag of h.lags || []) {
    if (!lag.topic.endsWith('.ingress')) continue;
    items.push(['lag ' + lag.topic, count(lag.records, 'record', 'records'),
                'Records of the topic the policy stage has not yet committed']);
  }
  const dl = $('health');
  dl.replaceChildren();
  for (const [k, v, tip] of items) {
    const dt = el('dt', k);
    dt.title = tip;
    dl.appendChild(dt);
    dl.appendChild(el('dd', v));
  }
}

function renderFlows(stats) {
  const w = (stats.windows || [])[0];
  if (!w) return;
  const flows = w.flows || [];
  const senders = [...new Set(flows.map(f => f.sender))].sort();
  const recipients = [...new Set(flows.map(f => f.recipient))].sort();
  const cells = new Map();
  for (const f of flows) {
    const key = f.sender + '\n' + f.recipient;
    if (!cells.has(key)) cells.set(key, new Map());
    const o = strip(f.outcome, 'OUTCOME_');
    const m = cells.get(key);
    m.set(o, (m.get(o) || 0) + Number(f.count));
  }
  const table = $('matrix');
  table.replaceChildren();
  const head = document.createElement('tr');
  const corner = el('th', 'sender ↓ / recipient →');
  corner.title = 'Decisions per (sender, recipient) in the window, one coloured count per outcome';
  head.appendChild(corner);
  for (const r of recipients) {
    const th = el('th', r);
    th.title = 'Recipient endpoint ' + r;
    head.appendChild(th);
  }
  table.appendChild(head);
  for (const s of senders) {
    const tr = document.createElement('tr');
    const th = el('th', s, 'row');
    th.title = 'Sending endpoint ' + s;
    tr.appendChild(th);
    for (const r of recipients) {
      const td = document.createElement('td');
      const m = cells.get(s + '\n' + r);
      if (m) {
        for (const o of OUTCOMES) {
          if (m.get(o)) {
            const span = el('span', m.get(o), 'o-' + o);
            span.title = o;
            td.appendChild(span);
          }
        }
        td.dataset.flow = s + '→' + r;
      }
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  if (senders.length === 0) {
    table.appendChild(row([el('td', 'no decisions in this window', 'muted')]));
  }

  const covered = parseFloat(w.covered) || 1;
  const totals = new Map();
  for (const f of flows) {
    const o = strip(f.outcome, 'OUTCOME_');
    totals.set(o, (totals.get(o) || 0) + Number(f.count));
  }
  const parts = OUTCOMES.filter(o => totals.get(o)).map(o => o.toLowerCase() + ' ' + totals.get(o));
  $('rates').textContent = (Number(w.decisions) * 60 / covered).toFixed(1) +
      ' decisions/min over ' + span(Math.round(covered)) +
      (parts.length ? ' — ' + parts.join(', ') : '');

  replaceBody($('rules'),
              (w.rules || []).map(r => row([r.rule_id, outcomeCell(r.outcome), r.count])));
}

function renderEndpoints(data) {
  replaceBody($('endpoints'), (data.endpoints || []).map(e => row([
    e.endpoint_id, e.country, e.subscribers, e.backlog,
    e.pending_in_kafka < 0 ? '?' : e.pending_in_kafka, e.delivered, e.acknowledged,
    time(e.last_seen) || 'never'])));
}

function renderHolds(data) {
  const holds = data.holds || [];
  replaceBody($('holds'), holds.length === 0 ? [row([el('td', 'none', 'muted')])] :
      holds.map(h => row([h.hold_id, h.message_id, h.sender + ' → ' + h.recipient,
                          outcomeCell(h.outcome), (h.awaiting || []).join('; '),
                          time(h.created_at), time(h.due)])));
}

function renderLinkage(data) {
  $('linkage-summary').textContent = count(data.entries, 'entry', 'entries') +
      ' on this node; epochs in force: ' + (data.epochs_in_force || []).join(', ') +
      '; records skipped: ' + data.records_skipped;
  replaceBody($('linkage'), (data.counts || []).map(c => row([
    c.endpoint_id + (c.in_registry ? '' : ' (not in registry)'), c.epoch, c.entries])));
}

function eventRow(e) {
  const tr = row([e.seq, time(e.decided_at), e.message_id, strip(e.kind, 'KIND_'),
                  e.sender + ' → ' + e.recipient, e.bytes, outcomeCell(e.outcome),
                  (e.rule_ids || []).join(', '), span(e.latency), e.event]);
  tr.dataset.messageId = e.message_id;
  return tr;
}

// Decisions per 10 s over the last 5 minutes, from the events received.
const BUCKET_MS = 10000;
const BUCKETS = 30;
const seen = [];  // observation times (ms) of events received

function renderRateChart() {
  const now = Date.now();
  while (seen.length && seen[0] < now - BUCKETS * BUCKET_MS) seen.shift();
  const counts = new Array(BUCKETS).fill(0);
  for (const t of seen) {
    const i = BUCKETS - 1 - Math.floor((now - t) / BUCKET_MS);
    if (i >= 0 && i < BUCKETS) counts[i]++;
  }
  const max = Math.max(1, ...counts);
  const svg = $('rate-chart');
  svg.replaceChildren();
  const ns = 'http://www.w3.org/2000/svg';
  counts.forEach((c, i) => {
    const r = document.createElementNS(ns, 'rect');
    const h = 38 * c / max;
    r.setAttribute('x', String(i * 10 + 1));
    r.setAttribute('width', '8');
    r.setAttribute('y', String(40 - h));
    r.setAttribute('height', String(h));
    const title = document.createElementNS(ns, 'title');
    title.textContent = c + ' decisions';
    r.appendChild(title);
    svg.appendChild(r);
  });
}

function addEvent(e) {
  seen.push(Math.min(Date.parse(e.decided_at) || Date.now(), Date.now()));
  const body = $('events').tBodies[0];
  const tr = eventRow(e);
  tr.className = 'new';
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > MAX_EVENTS) body.deleteRow(body.rows.length - 1);
}

async function refresh() {
  const windowSeconds = $('window').value;
  const jobs = [
    getJson('/api/health').then(renderHealth),
    getJson('/api/flows?windows=' + windowSeconds).then(renderFlows),
    getJson('/api/endpoints').then(renderEndpoints),
    getJson('/api/holds').then(renderHolds),
    getJson('/api/linkage').then(renderLinkage),
  ];
  for (const r of await Promise.allSettled(jobs)) {
    if (r.status === 'rejected') console.warn(String(r.reason));
  }
}

let refreshSoon = null;
function scheduleRefresh() {
  if (refreshSoon === null) refreshSoon = setTimeout(() => { refreshSoon = null; refresh(); }, 300);
}

function connect() {
  const status = $('stream');
  const source = new EventSource('/api/events?replay=' + MAX_EVENTS);
  const show = (text, cls) => { status.textContent = 'live stream: ' + text; status.className = cls; };
  source.onopen = () => show('connected', 'badge ok');
  source.onerror = () => show('reconnecting', 'badge bad');
  source.addEventListener('flow', (msg) => {
    addEvent(JSON.parse(msg.data));
    scheduleRefresh();
  });
}

// ?snapshot=1: every view read once, no stream, no timer. The page marks
// itself done with data-snapshot="ready" on <html>.
async function snapshot() {
  const status = $('stream');
  status.textContent = 'snapshot ' + new Date().toISOString().replace(/\.\d+Z$/, 'Z') +
      ' (static, not live)';
  status.className = 'badge';
  $('snapshot-link').remove();
  await refresh();
  try {
    const recent = await getJson('/api/recent?max=' + MAX_EVENTS);
    for (const e of recent.events || []) addEvent(e);
    for (const tr of $('events').tBodies[0].rows) tr.className = '';
  } catch (err) {
    console.warn(String(err));
  }
  renderRateChart();
  document.documentElement.dataset.snapshot = 'ready';
}

document.addEventListener('DOMContentLoaded', () => {
  $('window').addEventListener('change', refresh);
  if (SNAPSHOT) {
    snapshot();
    return;
  }
  refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(renderRateChart, 1000);
  connect();
});
