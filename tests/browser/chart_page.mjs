// The chart page at / in a real browser: Debian's chromium driven by playwright-core, against
// the real tickring-server binary with its demo feed, on loopback with ephemeral ports.
//
// Checks: the page and its assets are served with the right types and caching; the picker
// lists the demo series (and stays quick with 1,000 more); candles are drawn and move; the
// interval switch reloads the bars; the page reconnects by itself after the server is
// killed and started again on the same port; the production build of lightweight-charts
// draws too; and, against a scripted stream, late and out-of-order bars, `lagged` and `reset`
// never break the chart. The live phases use lightweight-charts' development build (swapped
// in by the browser), which throws on data out of time order where the production build
// stays silent.
//
// Fails (never skips) when node, playwright-core or chromium is missing. Every wait is
// bounded; the server is stopped by its own PID.
//
// Environment: TICKRING_SERVER (the binary), TICKRING_CHROMIUM (default /usr/bin/chromium),
// TICKRING_ARTIFACTS (screenshots; default build/release/tests/browser/artifacts), TICKRING_UPDATE_SCREENSHOT=1
// (also write docs/chart.png), TICKRING_BROWSER_PHASES (a comma list of files, live,
// production, scripted; default all).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const SERVER = process.env.TICKRING_SERVER || path.join(repo, 'build/release/server/tickring-server');
const CHROMIUM = process.env.TICKRING_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.TICKRING_ARTIFACTS || path.join(repo, 'build/release/tests/browser/artifacts');
const UPDATE_SCREENSHOT = process.env.TICKRING_UPDATE_SCREENSHOT === '1';
const LWC_DIST = path.join(repo, 'server/web/node_modules/lightweight-charts/dist');
const LWC_DEV = path.join(LWC_DIST, 'lightweight-charts.standalone.development.mjs');
const LWC_PROD = path.join(LWC_DIST, 'lightweight-charts.standalone.production.mjs');
const DEMO_SERIES = ['quotes/EURUSD', 'quotes/GBPUSD', 'quotes/USDJPY', 'quotes/AUDUSD',
  'quotes/BTCUSD', 'quotes/ETHUSD', 'quotes/AAPL', 'quotes/MSFT'];
const EXTRA_SERIES = 1000;
const PHASES = (process.env.TICKRING_BROWSER_PHASES || 'files,live,production,scripted').split(',');
const WAIT_MS = 15000;                       // any single expectation
const TOTAL_MS = UPDATE_SCREENSHOT ? 420000 : 240000;  // the whole test (ctest allows more)

let failed = false;
let step = 'start';
const servers = new Set();
const log = (...a) => console.log(`[browser ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const t0 = Date.now();

function fail(message) {
  const e = new Error(message);
  e.expected = true;
  throw e;
}
function check(cond, message) {
  if (!cond) fail(message);
}

// ---- the server ----

function startServer(httpAddr) {
  return new Promise((resolve, reject) => {
    const args = ['--http', httpAddr, '--ingest', '127.0.0.1:0', '--log-level', 'warn',
      '--demo', '--demo-rate', '2000'];
    const proc = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.add(proc);
    let buf = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('server did not start in 10 s')); }, 10000);
    proc.on('error', (e) => { clearTimeout(timer); servers.delete(proc); reject(e); });
    proc.on('exit', (code) => {
      servers.delete(proc);
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${buf.trim()}`));
    });
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /http=\S+:(\d+) ingest=\S+:(\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        proc.on('exit', () => servers.delete(proc));
        proc.stdout.resume();
        resolve({ proc, port: Number(m[1]) });
      }
    });
  });
}

async function stopServer(proc, signal = 'SIGTERM') {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
}

// The same port again: a listener that just closed may hold it for a moment.
async function restartOn(port) {
  const until = Date.now() + 10000;
  for (;;) {
    try {
      return await startServer(`127.0.0.1:${port}`);
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(200);
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function http(port, pathname, init) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 10000);
  try {
    const r = await fetch(`http://127.0.0.1:${port}${pathname}`, { ...init, signal: ctl.signal });
    return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
  } finally {
    clearTimeout(t);
  }
}

// ---- the page ----

const state = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__tickring ?? null)));

async function waitState(page, what, predicate, arg, timeout = WAIT_MS) {
  step = what;
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 100 });
  } catch (e) {
    fail(`${what}: not within ${timeout} ms; page state: ${JSON.stringify(await state(page).catch(() => null))}`);
  }
}

function watchErrors(page, name) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${name}: uncaught ${e.message}`));
  page.on('console', (m) => {
    // Connection failures are expected while the server is away; the page handles them.
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) {
      errors.push(`${name}: console error ${m.text()}`);
    }
  });
  return errors;
}

async function useDevelopmentBuild(page) {
  await page.route('**/ui/lightweight-charts.mjs*', (route) =>
    route.fulfill({ path: LWC_DEV, contentType: 'text/javascript; charset=utf-8' }));
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file });
  log('screenshot', file);
}

// ---- phases ----

async function checkServedFiles(port) {
  step = 'served files';
  const index = await http(port, '/');
  check(index.status === 200, `GET / answered ${index.status}`);
  check(index.headers.get('content-type') === 'text/html; charset=utf-8', `GET / type ${index.headers.get('content-type')}`);
  check(index.headers.get('cache-control') === 'no-cache', `GET / cache-control ${index.headers.get('cache-control')}`);
  const html = index.body.toString();
  check(!html.includes('@ASSET_VERSION@'), 'index.html still holds @ASSET_VERSION@');
  const m = /\/ui\/lightweight-charts\.mjs\?v=([0-9a-f]+)/.exec(html);
  check(m, 'index.html does not name /ui/lightweight-charts.mjs?v=');
  const lib = await http(port, `/ui/lightweight-charts.mjs?v=${m[1]}`);
  check(lib.status === 200, `GET lightweight-charts.mjs answered ${lib.status}`);
  check(lib.headers.get('content-type') === 'text/javascript; charset=utf-8', `library type ${lib.headers.get('content-type')}`);
  check(/immutable/.test(lib.headers.get('cache-control') ?? ''), `versioned asset cache-control ${lib.headers.get('cache-control')}`);
  check(lib.body.equals(readFileSync(LWC_PROD)), 'the served library differs from the pinned production build');
  const plain = await http(port, '/ui/chart.js');
  check(plain.status === 200 && plain.headers.get('cache-control') === 'no-cache', 'unversioned /ui/chart.js must be no-cache');
  const css = await http(port, '/ui/chart.css');
  check(css.headers.get('content-type') === 'text/css; charset=utf-8', `chart.css type ${css.headers.get('content-type')}`);
  const missing = await http(port, '/ui/no-such-file.js');
  check(missing.status === 404, `GET /ui/no-such-file.js answered ${missing.status}`);
  const post = await http(port, '/', { method: 'POST', body: 'x' });
  check(post.status === 405, `POST / answered ${post.status}`);
  const notice = await http(port, '/ui/NOTICE.txt');
  check(notice.status === 200 && /TradingView/.test(notice.body.toString()), 'NOTICE.txt is not served');
  log('served files: types, caching, bytes, 404 and 405 as expected');
}

async function checkLivePage(browser, server) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page, 'live page');
  await useDevelopmentBuild(page);
  step = 'open /';
  await page.goto(`http://127.0.0.1:${server.port}/`, { timeout: WAIT_MS });

  await waitState(page, 'the picker lists the demo series',
    (want) => want.every((s) => window.__tickring?.symbols.includes(s)), DEMO_SERIES);
  const options = await page.$$eval('#series option', (os) => os.map((o) => o.value));
  check(DEMO_SERIES.every((s) => options.includes(s)), `picker options: ${options}`);
  await waitState(page, 'candles drawn, status live',
    () => window.__tickring.status === 'live' && window.__tickring.bars > 0 &&
      window.__tickring.drawnBars === window.__tickring.bars);
  check(await page.locator('#chart canvas').count() > 0, 'no canvas in #chart');
  let s = await state(page);
  check(s.series === 'quotes/EURUSD' && s.interval === '1m', `default choice ${s.series} ${s.interval}`);
  check(await page.locator('#chart a[href*="tradingview"]').count() > 0, 'no attribution logo link');
  log(`live: ${s.bars} bars of ${s.series} at ${s.interval}, last ${s.last}, spread ${s.spread}`);
  check(Number.isFinite(s.last) && Number.isFinite(s.spread) && s.spread >= 0, `last/spread ${s.last}/${s.spread}`);
  await shot(page, 'chart-1m.png');

  await waitState(page, 'the last bar changes',
    (before) => JSON.stringify(window.__tickring.lastBar) !== before, JSON.stringify(s.lastBar), 8000);

  step = 'switch to 5s';
  await page.click('#intervals button[data-interval="5s"]');
  await waitState(page, 'the 5s bars are loaded',
    () => window.__tickring.interval === '5s' && window.__tickring.snapshots >= 1 &&
      window.__tickring.bars > 0 && window.__tickring.lastBarTime % 5 === 0);
  check(await page.getAttribute('#intervals button[data-interval="5s"]', 'aria-pressed') === 'true', '5s not pressed');
  step = 'switch to 1s';
  await page.click('#intervals button[data-interval="1s"]');
  await waitState(page, 'the 1s bars are loaded',
    () => window.__tickring.interval === '1s' && window.__tickring.snapshots >= 1 && window.__tickring.bars > 0);
  s = await state(page);
  await waitState(page, 'a new 1s bar opens',
    (t) => window.__tickring.lastBarTime > t && window.__tickring.drawnBars === window.__tickring.bars,
    s.lastBarTime, 5000);
  s = await state(page);
  log(`interval switch: ${s.bars} bars at 1s, last bar ${s.lastBarTime}`);
  await shot(page, 'chart-1s.png');

  // 1,000 more series: the picker lists them and stays quick.
  step = 'write 1,000 series';
  const now = Math.floor(Date.now() / 1000);
  const lines = [];
  for (let i = 0; i < EXTRA_SERIES; ++i) {
    lines.push(`load,sym=S${String(i).padStart(4, '0')} price=${100 + i / 100},size=${i + 1}i ${now}`);
  }
  const w = await http(server.port, '/write?precision=s', { method: 'POST', body: lines.join('\n') });
  check(w.status === 204, `POST /write answered ${w.status}`);
  await waitState(page, 'the picker lists 1,008 series',
    (n) => window.__tickring.symbols.length >= n && document.querySelectorAll('#series option').length >= n,
    DEMO_SERIES.length + EXTRA_SERIES, 12000);
  s = await state(page);
  check(s.seriesRefreshMs < 250, `rebuilding the picker took ${s.seriesRefreshMs} ms`);
  const t1 = Date.now();
  await page.fill('#filter', 'S0999');
  const filtered = await page.$$eval('#series option', (os) => os.map((o) => o.value));
  check(filtered.includes('load/S0999') && filtered.length <= 2, `filter kept ${filtered.length} options`);
  await page.selectOption('#series', 'load/S0999');
  await waitState(page, 'load/S0999 is drawn',
    () => window.__tickring.series === 'load/S0999' && window.__tickring.bars === 1 &&
      window.__tickring.histogram === 'volume' && window.__tickring.last !== null);
  log(`1,000 series: picker rebuilt in ${s.seriesRefreshMs.toFixed(1)} ms, filter + switch + snapshot in ${Date.now() - t1} ms`);
  await page.fill('#filter', '');
  await page.selectOption('#series', 'quotes/EURUSD');
  await waitState(page, 'back on quotes/EURUSD',
    () => window.__tickring.series === 'quotes/EURUSD' && window.__tickring.bars > 0 && window.__tickring.status === 'live');

  // Kill the server (no close frame: the kernel drops the connection), start it again on the
  // same port: the page comes back by itself.
  step = 'restart the server';
  const reconnectsBefore = (await state(page)).reconnects;
  await stopServer(server.proc, 'SIGKILL');
  await waitState(page, 'the page notices the server is gone',
    () => window.__tickring.status === 'reconnecting');
  await sleep(1500);  // a few failed attempts: the backoff grows
  const again = await restartOn(server.port);
  log(`server restarted on port ${again.port}`);
  await waitState(page, 'live again after the restart',
    () => window.__tickring.status === 'live' && window.__tickring.bars > 0, undefined, 20000);
  s = await state(page);
  check(s.reconnects > reconnectsBefore, 'no reconnect counted');
  await waitState(page, 'bars move after the restart',
    (before) => JSON.stringify(window.__tickring.lastBar) !== before, JSON.stringify(s.lastBar), 5000);
  log(`reconnected after ${s.reconnects - reconnectsBefore} attempts; ${s.bars} bars`);
  await shot(page, 'chart-after-restart.png');
  const drawErrors = (await state(page)).errors.filter((e) => e.code === 'draw' || e.code === 'page');
  check(drawErrors.length === 0, `draw errors: ${JSON.stringify(drawErrors)}`);
  check(errors.length === 0, errors.join('\n'));
  await page.close();
  return again;
}

// The page as served, with the production build of the library.
async function checkProductionPage(browser, server) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page, 'production page');
  step = 'open / (production build)';
  await page.goto(`http://127.0.0.1:${server.port}/#quotes/EURUSD@1s`, { timeout: WAIT_MS });
  await waitState(page, 'production build draws candles',
    () => window.__tickring?.status === 'live' && window.__tickring.bars > 0);
  if (UPDATE_SCREENSHOT) {
    // Enough bars to look like a chart: the demo started seconds ago.
    await waitState(page, '90 one-second bars for docs/chart.png',
      () => window.__tickring.bars >= 90, undefined, 150000);
    await sleep(500);
    const file = path.join(repo, 'docs/chart.png');
    await page.screenshot({ path: file });
    log('wrote', file);
  }
  await shot(page, 'chart-production.png');
  check(errors.length === 0, errors.join('\n'));
  await page.close();
}

// A scripted stream: what the demo feed never does on its own.
async function checkScriptedStream(browser, server) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page, 'scripted stream');
  await useDevelopmentBuild(page);
  const T = 1700000000;  // bars at T..T+9 but T+5 missing
  const bar = (t, c, ticks = 3) => ({ time: t, open: c - 0.001, high: c + 0.002, low: c - 0.002, close: c, volume: 0, ticks });
  const snapshotBars = [];
  for (let t = T; t < T + 10; ++t) if (t !== T + 5) snapshotBars.push(bar(t, 1.1 + (t - T) / 1000));
  let sock = null;
  let candleId = null;
  await page.routeWebSocket('**/v1/stream', (ws) => {
    sock = ws;
    ws.onMessage((text) => {
      const m = JSON.parse(text);
      if (m.op === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
      if (m.op !== 'subscribe') return;
      ws.send(JSON.stringify({ type: 'subscribed', id: m.id, series: m.series, seq: 20 }));
      if (m.candles) {
        candleId = m.id;
        ws.send(JSON.stringify({ type: 'snapshot', id: m.id, series: m.series, seq: 20, interval: m.candles, bars: snapshotBars }));
      } else {
        ws.send(JSON.stringify({ type: 'snapshot', id: m.id, series: m.series, seq: 20,
          points: [{ time: (T + 9) * 1e9, bid: 1.1, ask: 1.1002, bid_size: 1, ask_size: 1 }] }));
      }
    });
  });
  step = 'open / (scripted stream)';
  await page.goto(`http://127.0.0.1:${server.port}/#quotes/EURUSD@1s`, { timeout: WAIT_MS });
  await waitState(page, 'scripted snapshot drawn', () => window.__tickring?.status === 'live' && window.__tickring.drawnBars === 9);
  const send = (m) => sock.send(JSON.stringify({ id: candleId, series: 'quotes/EURUSD', ...m }));
  send({ type: 'bar', seq: 19, bar: bar(T + 9, 9.9), final: false });        // already in the snapshot
  send({ type: 'bar', seq: 21, bar: bar(T + 9, 1.2), final: false });        // the open bar
  send({ type: 'bar', seq: 22, bar: bar(T + 10, 1.21), final: false });      // a new bar
  send({ type: 'bar', seq: 23, bar: bar(T + 7, 1.3), final: true });         // a late tick, closed bar
  send({ type: 'bar', seq: 24, bar: bar(T + 5, 1.05), final: true });        // a late tick in the gap
  send({ type: 'bar', seq: 25, bar: bar(T - 50, 1.0), final: true });        // older than anything shown
  send({ type: 'bar', seq: 26, bar: bar(T + 12, 1.22), final: false });      // a bar skipped ahead
  send({ type: 'bar', seq: 27, bar: bar(T + 11, 1.215), final: true });      // and the one before it, late
  await waitState(page, 'late and out-of-order bars put in place',
    () => window.__tickring.barMessages === 7 && window.__tickring.drawnBars === 13 && window.__tickring.lastBarTime === 1700000012);
  let s = await state(page);
  const drawn = await page.evaluate(() => window.__tickring.bars);
  check(drawn === 13, `bars ${drawn}`);
  check(Math.abs(s.spread - 0.0002) < 1e-9, `spread ${s.spread}`);

  send({ type: 'lagged', seq: 40, dropped: 17 });
  await waitState(page, 'lagged is shown', () => window.__tickring.status === 'lagged');
  send({ type: 'snapshot', seq: 40, interval: '1s', bars: snapshotBars.slice(0, 4) });
  await waitState(page, 'the snapshot after lagged replaces the bars', () => window.__tickring.drawnBars === 4);
  send({ type: 'reset', seq: 50, reason: 'test' });
  send({ type: 'snapshot', seq: 50, interval: '1s', bars: snapshotBars.slice(0, 6) });
  await waitState(page, 'the snapshot after reset replaces the bars',
    () => window.__tickring.drawnBars === 6 && window.__tickring.resets === 1);
  s = await state(page);
  check(s.errors.filter((e) => e.code === 'draw').length === 0, `draw errors: ${JSON.stringify(s.errors)}`);
  await shot(page, 'chart-scripted.png');
  check(errors.length === 0, errors.join('\n'));
  log('scripted stream: late, duplicate, out-of-order bars, lagged and reset handled');
  await page.close();
}

// ---- main ----

async function main() {
  step = 'prerequisites';
  check(existsSync(SERVER), `no server binary at ${SERVER} (build tickring-server)`);
  check(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: run scripts/install-deps.sh (Debian package chromium)`);
  check(existsSync(LWC_DEV), 'server/web/node_modules is missing: run scripts/install-deps.sh');
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    fail(`playwright-core is missing (${e.message}): run scripts/install-deps.sh (npm ci in tests/browser)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });

  step = 'start the server';
  let server = await startServer('127.0.0.1:0');
  log(`server pid ${server.proc.pid} on port ${server.port}`);
  step = 'launch chromium';
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30000 });
  try {
    if (PHASES.includes('files')) await checkServedFiles(server.port);
    if (PHASES.includes('live')) server = await checkLivePage(browser, server);
    if (PHASES.includes('production')) await checkProductionPage(browser, server);
    if (PHASES.includes('scripted')) await checkScriptedStream(browser, server);
  } finally {
    await browser.close().catch(() => {});
    await stopServer(server.proc);
  }
}

const deadline = setTimeout(() => {
  console.error(`FAIL: the browser test ran past ${TOTAL_MS / 1000} s (at: ${step})`);
  for (const p of servers) p.kill('SIGKILL');
  process.exit(1);
}, TOTAL_MS);

main().then(() => {
  clearTimeout(deadline);
  log('all browser checks passed');
  console.log('1 passed, 0 failed');
}, async (e) => {
  failed = true;
  clearTimeout(deadline);
  console.error(`FAIL at "${step}": ${e.expected ? e.message : e.stack}`);
  for (const p of servers) await stopServer(p).catch(() => {});
  process.exit(1);
}).finally(() => {
  if (!failed) process.exit(0);
});
