// The live chart page of tickring-server (served at /; docs/stream.md is the protocol).
//
// The series list comes from GET /v1/series, refreshed every few seconds. For the chosen
// series one WebSocket to /v1/stream carries two subscriptions: candles at the chosen
// interval (a snapshot of the newest bars, then `bar` messages) and the newest points of its
// bid/ask (or price) fields, for the last price and the spread. The connection comes back by
// itself with backoff and subscribes again (a fresh candle snapshot each time).
//
// Bars are kept here, ascending by time, and drawn at most once per frame: the open bar with
// series.update(); anything older (a late tick correcting a closed bar, a bar that arrives
// out of order) by putting it in place and setting the data again, so lightweight-charts never
// sees an update older than its last bar ("Cannot update oldest data").
//
// window.__tickring holds what is drawn and the connection status, for tests and debugging.
import { createChart, CandlestickSeries, HistogramSeries } from 'lightweight-charts';

const INTERVALS = ['1s', '5s', '1m', '5m', '1h'];
const DEFAULT_INTERVAL = '1m';
const SNAPSHOT_BARS = 300;
const MAX_BARS = 5000;               // kept in memory and drawn; older bars are dropped
const SERIES_REFRESH_MS = 5000;      // new series appear in the picker within this
const BACKOFF_MIN_MS = 250;          // first reconnect delay; doubles up to the max
const BACKOFF_MAX_MS = 5000;
const PING_EVERY_MS = 10000;         // an application ping, so a dead connection is noticed
const SILENCE_LIMIT_MS = 25000;      // nothing received for this long: reconnect
const LAGGED_SHOW_MS = 5000;         // how long the lagged notice stays up
const RESNAPSHOT_AFTER_RESET_MS = 5000;
const MAX_OPTIONS_FILTERED = 2000;   // options listed at once; a filter narrows the rest

const COLORS = {
  bg: '#131722', text: '#d1d4dc', grid: '#1f2433', border: '#2a2e39',
  up: '#26a69a', down: '#ef5350', upHist: 'rgba(38,166,154,0.45)', downHist: 'rgba(239,83,80,0.45)',
};

const $ = (id) => document.getElementById(id);
const el = {
  chart: $('chart'), series: $('series'), filter: $('filter'), intervals: $('intervals'),
  status: $('status'), last: $('last'), spread: $('spread'),
  legendSeries: $('legend-series'), legendHist: $('legend-hist'),
};

const state = {
  status: 'connecting',   // connecting | live | lagged | reconnecting
  series: null,           // "measurement/symbol"
  interval: DEFAULT_INTERVAL,
  symbols: [],            // every series of GET /v1/series, sorted
  bars: 0,                // bars drawn
  drawnBars: 0,           // as lightweight-charts reports it
  lastBarTime: null,      // seconds
  lastBar: null,
  histogram: 'ticks',     // ticks | volume
  last: null,
  spread: null,
  snapshots: 0,           // candle snapshots applied since the series or interval was chosen
  barMessages: 0,
  reconnects: 0,
  lagged: 0,
  resets: 0,
  errors: [],             // the latest `error` messages and page-side failures
  seriesRefreshMs: 0,     // how long the last picker rebuild took
};
window.__tickring = state;

// ---- chart ----

const chart = createChart(el.chart, {
  autoSize: true,
  layout: { background: { type: 'solid', color: COLORS.bg }, textColor: COLORS.text, attributionLogo: true },
  grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
  rightPriceScale: { borderColor: COLORS.border },
  timeScale: { borderColor: COLORS.border, timeVisible: true, secondsVisible: true },
});
const candleSeries = chart.addSeries(CandlestickSeries, {
  upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
  wickUpColor: COLORS.up, wickDownColor: COLORS.down,
});
candleSeries.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
const histSeries = chart.addSeries(HistogramSeries, {
  priceScaleId: 'hist', priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false,
});
chart.priceScale('hist').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

let bars = [];           // ascending by time, unique times
let useVolume = false;   // histogram of volume when the series has any, else tick counts
let precision = 2;
let changedFrom = -1;    // lowest index changed since the last draw; -1: nothing
let drawnCount = 0;      // bars.length at the last draw
let fullRedraw = false;
let drawPending = false;

function toBar(b) {
  return {
    time: Number(b.time), open: +b.open, high: +b.high, low: +b.low, close: +b.close,
    volume: +(b.volume ?? 0), ticks: +(b.ticks ?? 0),
  };
}
const candleOf = (b) => ({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close });
const histOf = (b) => ({
  time: b.time, value: useVolume ? b.volume : b.ticks,
  color: b.close >= b.open ? COLORS.upHist : COLORS.downHist,
});

function precisionFor(price) {
  const p = Math.abs(price);
  return p < 10 ? 5 : p < 1000 ? 3 : 2;
}

function setBars(list) {
  // A snapshot is ascending by contract; sorting and merging duplicates costs little and
  // keeps a misbehaving server from breaking the chart.
  const sorted = list.map(toBar).filter((b) => Number.isFinite(b.time)).sort((a, b) => a.time - b.time);
  bars = [];
  for (const b of sorted) {
    if (bars.length && bars[bars.length - 1].time === b.time) bars[bars.length - 1] = b;
    else bars.push(b);
  }
  if (bars.length > MAX_BARS) bars = bars.slice(bars.length - MAX_BARS);
  useVolume = bars.some((b) => b.volume > 0);
  if (bars.length) {
    const p = precisionFor(bars[bars.length - 1].close);
    if (p !== precision) {
      precision = p;
      candleSeries.applyOptions({ priceFormat: { type: 'price', precision: p, minMove: 10 ** -p } });
    }
  }
  fullRedraw = true;
  scheduleDraw();
}

function lowerBound(time) {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid].time < time) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function markChanged(i) {
  if (changedFrom < 0 || i < changedFrom) changedFrom = i;
  scheduleDraw();
}

// One bar from a `bar` message: the open bar, a new bar, or a correction of an older one.
function applyBar(raw) {
  const b = toBar(raw);
  if (!Number.isFinite(b.time)) return;
  if (!useVolume && b.volume > 0) { useVolume = true; fullRedraw = true; }
  const n = bars.length;
  if (n === 0 || b.time > bars[n - 1].time) {
    if (b.ticks === 0) return;
    bars.push(b);
    markChanged(n);
    if (bars.length > MAX_BARS + MAX_BARS / 10) {
      bars = bars.slice(bars.length - MAX_BARS);
      fullRedraw = true;
    }
    return;
  }
  if (b.time < bars[0].time) return;  // older than anything shown
  const i = lowerBound(b.time);
  if (bars[i].time === b.time) {
    if (b.ticks === 0) {               // every tick of the bar was deleted
      bars.splice(i, 1);
      fullRedraw = true;
      scheduleDraw();
      return;
    }
    bars[i] = b;
  } else {
    if (b.ticks === 0) return;
    bars.splice(i, 0, b);              // a bar that was missing (a late tick in a gap)
    fullRedraw = true;
  }
  markChanged(i);
}

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  // requestAnimationFrame does not run in a hidden tab; the timeout keeps the state current.
  const timer = setTimeout(draw, 250);
  requestAnimationFrame(() => { clearTimeout(timer); draw(); });
}

function draw() {
  if (!drawPending) return;
  drawPending = false;
  try {
    if (fullRedraw || (changedFrom >= 0 && changedFrom < drawnCount - 1)) {
      candleSeries.setData(bars.map(candleOf));
      histSeries.setData(bars.map(histOf));
    } else if (changedFrom >= 0) {
      // Only the last drawn bar and newer ones changed: plain updates, in time order.
      for (let i = Math.max(changedFrom, 0); i < bars.length; ++i) {
        candleSeries.update(candleOf(bars[i]));
        histSeries.update(histOf(bars[i]));
      }
    }
  } catch (e) {
    // Never leave the chart half-updated: draw everything again from the kept bars.
    noteError('draw', String(e && e.message || e));
    candleSeries.setData(bars.map(candleOf));
    histSeries.setData(bars.map(histOf));
  }
  fullRedraw = false;
  changedFrom = -1;
  drawnCount = bars.length;
  const lastBar = bars.length ? bars[bars.length - 1] : null;
  state.bars = bars.length;
  state.drawnBars = candleSeries.data().length;
  state.lastBar = lastBar;
  state.lastBarTime = lastBar ? lastBar.time : null;
  state.histogram = useVolume ? 'volume' : 'ticks';
  el.legendHist.textContent = `· histogram: ${state.histogram}`;
  drawQuote();
}

// ---- last price and spread ----

let quote = null;  // {bid, ask, price}
let quoteSeq = -1;

function drawQuote() {
  let last = null;
  let spread = null;
  if (quote) {
    if (Number.isFinite(quote.price)) last = quote.price;
    if (Number.isFinite(quote.bid) && Number.isFinite(quote.ask)) {
      spread = quote.ask - quote.bid;
      if (last === null) last = (quote.bid + quote.ask) / 2;
    }
  }
  if (last === null && bars.length) last = bars[bars.length - 1].close;
  state.last = last;
  state.spread = spread;
  el.last.textContent = last === null ? '–' : last.toFixed(precision);
  el.spread.textContent = spread === null ? '–' : spread.toFixed(precision);
}

function takeQuote(p) {
  const num = (v) => (typeof v === 'number' ? v : undefined);
  quote = { bid: num(p.bid), ask: num(p.ask), price: num(p.price) };
  scheduleDraw();
}

// ---- the stream ----

let ws = null;
let attempt = 0;             // reconnects since the last good snapshot
let reconnectTimer = null;
let lastHeard = 0;
let nextId = 1;
let candleSub = null;        // {id, series, interval, seq}
let quoteSub = null;         // {id, series}
let laggedUntil = 0;
let resetTimer = null;
let gotSnapshot = false;     // a candle snapshot arrived on this connection

function streamUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function setStatus(s) {
  state.status = s;
  el.status.textContent = s;
  el.status.className = `status ${s}`;
}

function refreshStatus() {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;  // connect/close set it
  if (!gotSnapshot) setStatus(state.reconnects ? 'reconnecting' : 'connecting');
  else setStatus(Date.now() < laggedUntil ? 'lagged' : 'live');
}

function noteError(code, message) {
  state.errors.push({ code, message, at: Date.now() });
  if (state.errors.length > 20) state.errors.shift();
}

function quoteFields(series) {
  const fields = seriesFields.get(series);
  if (!fields) return undefined;
  if (fields.includes('bid') && fields.includes('ask')) return ['bid', 'ask'];
  if (fields.includes('price')) return ['price'];
  return undefined;
}

function subscribeCandles() {
  if (candleSub) send({ op: 'unsubscribe', id: candleSub.id });
  candleSub = null;
  gotSnapshot = false;
  if (!state.series || !ws || ws.readyState !== WebSocket.OPEN) return;
  candleSub = { id: nextId++, series: state.series, interval: state.interval, seq: -1 };
  send({ op: 'subscribe', id: candleSub.id, series: state.series, candles: state.interval, snapshot: SNAPSHOT_BARS });
  refreshStatus();
}

function subscribeQuote() {
  if (quoteSub) send({ op: 'unsubscribe', id: quoteSub.id });
  quoteSub = null;
  quote = null;
  quoteSeq = -1;
  if (!state.series || !ws || ws.readyState !== WebSocket.OPEN) return;
  quoteSub = { id: nextId++, series: state.series };
  const msg = { op: 'subscribe', id: quoteSub.id, series: state.series, snapshot: 1 };
  const fields = quoteFields(state.series);
  if (fields) msg.fields = fields;
  send(msg);
}

function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  setStatus(state.reconnects ? 'reconnecting' : 'connecting');
  const sock = new WebSocket(streamUrl());
  ws = sock;
  candleSub = null;
  quoteSub = null;
  gotSnapshot = false;
  sock.onopen = () => {
    lastHeard = Date.now();
    subscribeCandles();
    subscribeQuote();
  };
  sock.onmessage = (ev) => {
    if (ws !== sock) return;
    lastHeard = Date.now();
    let msg;
    try { msg = JSON.parse(ev.data); } catch { noteError('page', 'unparsable message'); return; }
    onMessage(msg);
  };
  sock.onclose = () => { if (ws === sock) dropConnection(); };
  sock.onerror = () => {};  // a close follows
}

function dropConnection() {
  if (ws) {
    const old = ws;
    ws = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    try { old.close(); } catch { /* already closed */ }
  }
  candleSub = null;
  quoteSub = null;
  gotSnapshot = false;
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.75 + Math.random() / 2);
  attempt += 1;
  state.reconnects += 1;
  setStatus('reconnecting');
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connect, delay);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'pong':
    case 'subscribed':
    case 'unsubscribed':
      return;
    case 'error':
      noteError(msg.code, msg.message);
      if (candleSub && msg.id === candleSub.id) el.legendHist.textContent = `· ${msg.code}: ${msg.message}`;
      return;
  }
  if (candleSub && msg.id === candleSub.id) onCandleMessage(msg);
  else if (quoteSub && msg.id === quoteSub.id) onQuoteMessage(msg);
  // anything else belongs to a subscription given up: ignore it
}

function onCandleMessage(msg) {
  switch (msg.type) {
    case 'snapshot':
      clearTimeout(resetTimer);
      candleSub.seq = msg.seq ?? -1;
      setBars(Array.isArray(msg.bars) ? msg.bars : []);
      state.snapshots += 1;
      gotSnapshot = true;
      attempt = 0;
      refreshStatus();
      return;
    case 'bar':
      if (!msg.bar) return;
      if (typeof msg.seq === 'number') {
        if (msg.seq <= candleSub.seq) return;  // already in the snapshot
        candleSub.seq = msg.seq;
      }
      state.barMessages += 1;
      applyBar(msg.bar);
      return;
    case 'lagged':
      // Our pending bars were dropped; a fresh snapshot follows and replaces the bars.
      state.lagged += 1;
      laggedUntil = Date.now() + LAGGED_SHOW_MS;
      refreshStatus();
      setTimeout(refreshStatus, LAGGED_SHOW_MS + 50);
      return;
    case 'reset':
      // A fresh snapshot follows; if it does not, ask for one.
      state.resets += 1;
      clearTimeout(resetTimer);
      resetTimer = setTimeout(subscribeCandles, RESNAPSHOT_AFTER_RESET_MS);
      return;
  }
}

function onQuoteMessage(msg) {
  if (typeof msg.seq === 'number') {
    if (msg.seq < quoteSeq) return;
    quoteSeq = msg.seq;
  }
  if (msg.type === 'snapshot' && Array.isArray(msg.points) && msg.points.length) {
    takeQuote(msg.points[msg.points.length - 1]);
  } else if (msg.type === 'point') {
    takeQuote(msg);
  }
}

setInterval(() => {
  if (!ws) return;
  if (ws.readyState === WebSocket.OPEN) {
    if (Date.now() - lastHeard > SILENCE_LIMIT_MS) dropConnection();
    else send({ op: 'ping' });
  }
}, PING_EVERY_MS);

// ---- series picker and interval switch ----

const seriesFields = new Map();  // series -> field names
let listSignature = '';

function pickDefault() {
  const list = state.symbols;
  return list.find((s) => s.endsWith('/EURUSD')) ?? list[0] ?? null;
}

function fillPicker() {
  const t0 = performance.now();
  const needle = el.filter.value.trim().toLowerCase();
  let shown = needle ? state.symbols.filter((s) => s.toLowerCase().includes(needle)) : state.symbols;
  if (shown.length > MAX_OPTIONS_FILTERED) shown = shown.slice(0, MAX_OPTIONS_FILTERED);
  const frag = document.createDocumentFragment();
  if (state.series && !shown.includes(state.series)) frag.append(new Option(state.series, state.series));
  for (const s of shown) frag.append(new Option(s, s));
  el.series.replaceChildren(frag);
  if (state.series) el.series.value = state.series;
  state.seriesRefreshMs = performance.now() - t0;
}

async function refreshSeries() {
  try {
    const r = await fetch('/v1/series', { cache: 'no-store' });
    if (r.ok) {
      const body = await r.json();
      const list = [];
      seriesFields.clear();
      for (const s of body.series ?? []) {
        const name = `${s.measurement}/${s.symbol}`;
        list.push(name);
        seriesFields.set(name, s.fields ?? []);
      }
      list.sort();
      const sig = list.join('\n');
      if (sig !== listSignature) {
        listSignature = sig;
        state.symbols = list;
        fillPicker();
      }
      if (!state.series) {
        const first = pickDefault();
        if (first) choose(first, state.interval);
      }
    }
  } catch (e) {
    // The server is away; the stream's reconnect shows it. Try again later.
  }
  setTimeout(refreshSeries, SERIES_REFRESH_MS);
}

function showChoice() {
  for (const b of el.intervals.querySelectorAll('button')) {
    b.setAttribute('aria-pressed', String(b.dataset.interval === state.interval));
  }
  el.legendSeries.textContent = state.series ? `${state.series} · ${state.interval}` : '';
  if (state.series) el.series.value = state.series;
  document.title = state.series ? `${state.series} ${state.interval} — tickring` : 'tickring — live chart';
  history.replaceState(null, '', state.series ? `#${state.series}@${state.interval}` : '#');
}

function choose(series, interval) {
  const seriesChanged = series !== state.series;
  const intervalChanged = interval !== state.interval;
  if (!seriesChanged && !intervalChanged) return;
  state.series = series;
  state.interval = interval;
  bars = [];
  state.snapshots = 0;
  fullRedraw = true;
  scheduleDraw();
  showChoice();
  if (seriesChanged && !Array.from(el.series.options).some((o) => o.value === series)) fillPicker();
  subscribeCandles();
  if (seriesChanged) subscribeQuote();
}

el.series.addEventListener('change', () => choose(el.series.value, state.interval));
el.filter.addEventListener('input', fillPicker);
el.intervals.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-interval]');
  if (b) choose(state.series, b.dataset.interval);
});

function fromHash() {
  const m = /^#(.+\/.+?)(?:@(\w+))?$/.exec(decodeURIComponent(location.hash));
  if (!m) return;
  state.series = m[1];
  if (m[2] && INTERVALS.includes(m[2])) state.interval = m[2];
}

fromHash();
showChoice();
connect();
refreshSeries();
