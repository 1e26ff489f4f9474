// Liaison operations dashboard. Reads /api/* (JSON) and /api/events
// (server-sent events); every value is written with textContent, never as
// HTML. The broker serves metadata only; this page shows what it gets.
'use strict';

const MAX_EVENTS = 100;
const REFRESH_MS = 3000;
const OUTCOMES = ['ALLOW', 'REDACT', 'DELAY', 'HOLD', 'REJECT'];

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

function seconds(duration) {
  // protobuf JSON Duration: "1.250s"
  if (!duration) return '';
  const s = parseFloat(duration);
  if (isNaN(s)) return '';
  return s < 1 ? (s * 1000).toFixed(0) + ' ms' : s.toFixed(2) + ' s';
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
  const items = [
    ['node', h.node_id],
    ['uptime', seconds(h.uptime)],
    ['Kafka', (h.embedded_kafka ? 'embedded mock (in memory) — ' : '') +
        (h.kafka_reachable ? 'reachable' : 'unreachable ' + (h.kafka_error || ''))],
    ['policy version', h.policy_version],
    ['registry version', h.registry_version],
    ['policy stage', h.policy_stage ? 'partitions ' + (h.owned_ingress_partitions || []).join(', ')
                                    : 'not run on this node'],
    ['holds pending', h.holds_pending],
    ['audit entries (this node) / records (topic)', h.audit_entries_written + ' / ' + h.audit_topic_records],
    ['accepted / duplicates / refused', h.accepted + ' / ' + h.duplicates + ' / ' + h.refused],
    ['Kafka records lost', h.kafka_records_lost],
  ];
  for (const lag of h.lags || []) {
    if (!lag.topic.endsWith('.ingress')) continue;
    items.push(['lag ' + lag.topic, lag.records < 0 ? 'unknown' : lag.records]);
  }
  const dl = $('health');
  dl.replaceChildren();
  for (const [k, v] of items) {
    dl.appendChild(el('dt', k));
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
  head.appendChild(el('th', 'sender ↓ / recipient →'));
  for (const r of recipients) head.appendChild(el('th', r));
  table.appendChild(head);
  for (const s of senders) {
    const tr = document.createElement('tr');
    tr.appendChild(el('th', s, 'row'));
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
      ' decisions/min over ' +
      Math.round(covered) + ' s' + (parts.length ? ' — ' + parts.join(', ') : '');

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

function eventRow(e) {
  const tr = row([e.seq, time(e.decided_at), e.message_id, strip(e.kind, 'KIND_'),
                  e.sender + ' → ' + e.recipient, e.bytes, outcomeCell(e.outcome),
                  (e.rule_ids || []).join(', '), seconds(e.latency), e.event]);
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

document.addEventListener('DOMContentLoaded', () => {
  $('window').addEventListener('change', refresh);
  refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(renderRateChart, 1000);
  connect();
});
