/**
 * The Event Delivery dashboard: one self-contained HTML page (inline CSS, JS and SVG chart,
 * nothing fetched from the internet). It reads the admin API under /api/; when the relay has
 * an admin token it asks for it once and sends it as `Authorization: Bearer`.
 * The script avoids template literals so the page can live in this TypeScript string.
 */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>csb-relay · Event Delivery</title>
<style>
  :root { --fg:#1d2433; --muted:#6b7385; --line:#e3e6ee; --bg:#f6f7fb; --card:#fff;
          --delivered:#1a9c5b; --retrying:#d98b0b; --dead:#d64545; --skipped:#7a7f8f; --ingested:#3b6fd8; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; align-items:center; gap:16px; padding:12px 24px; background:var(--card); border-bottom:1px solid var(--line); position:sticky; top:0; z-index:2; }
  header h1 { font-size:17px; margin:0; font-weight:600; }
  header .spacer { flex:1; }
  main { padding:16px 24px 48px; max-width:1280px; margin:0 auto; }
  section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px; margin-bottom:16px; }
  section h2 { font-size:15px; margin:0 0 12px; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(128px,1fr)); gap:12px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
  .card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .card .value { font-size:26px; font-weight:600; margin-top:2px; }
  .card .sub { color:var(--muted); font-size:12px; }
  .card.delivered .value { color:var(--delivered); } .card.retrying .value { color:var(--retrying); }
  .card.dead .value { color:var(--dead); } .card.skipped .value { color:var(--skipped); } .card.ingested .value { color:var(--ingested); }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { color:var(--muted); font-weight:500; font-size:12px; }
  tr.clickable { cursor:pointer; } tr.clickable:hover { background:#f1f4fb; }
  code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12px; }
  pre { background:#f3f4f8; border:1px solid var(--line); border-radius:6px; padding:10px; overflow:auto; max-height:360px; margin:4px 0 0; white-space:pre-wrap; word-break:break-word; }
  button, select, input, textarea { font:inherit; }
  button { border:1px solid #c9cfdd; background:#fff; border-radius:6px; padding:4px 10px; cursor:pointer; }
  button.primary { background:#3b6fd8; color:#fff; border-color:#3b6fd8; }
  button.danger { color:var(--dead); border-color:#e8b4b4; }
  button:disabled { opacity:.5; cursor:default; }
  .seg button { border-radius:0; margin-left:-1px; } .seg button:first-child { border-radius:6px 0 0 6px; } .seg button:last-child { border-radius:0 6px 6px 0; }
  .seg button.on { background:#e8eefb; border-color:#3b6fd8; color:#1f4fb8; }
  .status-pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:500; }
  .s-delivered { background:#e3f5ec; color:var(--delivered); } .s-retrying, .s-pending { background:#fdf1dc; color:#a66a05; }
  .s-dead { background:#fbe5e5; color:var(--dead); } .s-skipped { background:#eceef2; color:var(--skipped); }
  .muted { color:var(--muted); } .fix { color:#1f4fb8; }
  .grid2 { display:grid; grid-template-columns:1fr 1fr; gap:16px; } @media (max-width:900px) { .grid2 { grid-template-columns:1fr; } }
  .samples { display:grid; grid-template-columns:repeat(3, minmax(0,1fr)); gap:12px; } @media (max-width:1000px) { .samples { grid-template-columns:1fr; } }
  .legend span { margin-right:14px; font-size:12px; } .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
  svg text { font-size:11px; fill:var(--muted); }
  .row { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin-bottom:8px; }
  textarea { width:100%; min-height:180px; font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12px; border:1px solid #c9cfdd; border-radius:6px; padding:8px; }
  input[type=text], input[type=password] { border:1px solid #c9cfdd; border-radius:6px; padding:4px 8px; }
  #token-dialog { position:fixed; inset:0; background:rgba(20,25,40,.45); display:none; align-items:center; justify-content:center; z-index:10; }
  #token-dialog .box { background:#fff; padding:20px; border-radius:8px; width:380px; }
  #notice { min-height:20px; }
  .ok { color:var(--delivered); } .bad { color:var(--dead); }
  #detail { display:none; }
</style>
</head>
<body>
<header>
  <h1>csb-relay · Event Delivery</h1>
  <span class="seg" id="periods">
    <button data-period="1h">1 h</button><button data-period="24h" class="on">24 h</button><button data-period="7d">7 d</button>
  </span>
  <span class="muted" id="updated"></span>
  <span class="spacer"></span>
  <span id="csb-state" data-testid="csb-state" class="muted">CSB: checking…</span>
  <button id="forget-token" style="display:none">Forget token</button>
</header>
<main>
  <div id="notice" class="bad" data-testid="notice"></div>

  <section>
    <h2>Overview <span class="muted" id="period-label"></span></h2>
    <div class="cards">
      <div class="card delivered"><div class="label">Delivered</div><div class="value" data-testid="count-delivered">–</div><div class="sub" data-testid="rate-delivered"></div></div>
      <div class="card retrying"><div class="label">Retrying</div><div class="value" data-testid="count-retrying">–</div><div class="sub" data-testid="rate-retrying"></div></div>
      <div class="card dead"><div class="label">Dead-lettered</div><div class="value" data-testid="count-dead">–</div><div class="sub" data-testid="rate-dead"></div></div>
      <div class="card skipped"><div class="label">Skipped</div><div class="value" data-testid="count-skipped">–</div><div class="sub" data-testid="rate-skipped"></div></div>
      <div class="card ingested"><div class="label">Received</div><div class="value" data-testid="count-ingested">–</div><div class="sub" data-testid="rate-ingested"></div></div>
      <div class="card"><div class="label">Backlog</div><div class="value" data-testid="backlog">–</div><div class="sub" data-testid="oldest"></div></div>
      <div class="card"><div class="label">p95 end-to-end</div><div class="value" data-testid="p95">–</div><div class="sub" data-testid="p50"></div></div>
      <div class="card"><div class="label">Success rate</div><div class="value" data-testid="success-rate">–</div><div class="sub">delivered ÷ finished</div></div>
    </div>
    <div style="margin-top:14px">
      <div class="legend" id="legend"></div>
      <svg id="chart" data-testid="chart" viewBox="0 0 900 220" width="100%" height="220" role="img" aria-label="events over time"></svg>
    </div>
  </section>

  <section>
    <h2>Errors by reason</h2>
    <table data-testid="reasons"><thead><tr><th>Reason</th><th>State</th><th>Events</th><th>Last seen</th><th>Suggested fix</th><th></th></tr></thead><tbody id="reasons-body"></tbody></table>
    <div class="muted" id="reasons-empty">No errors. Every event reached CustomerSuccessBox or was skipped on purpose.</div>
  </section>

  <section>
    <h2>Events</h2>
    <div class="row">
      <span class="seg" id="status-filter">
        <button data-status="" class="on">All</button><button data-status="delivered">Delivered</button><button data-status="retrying">Retrying</button><button data-status="dead">Dead letters</button><button data-status="skipped">Skipped</button><button data-status="pending">Pending</button>
      </span>
      <input type="text" id="reason-filter" placeholder="reason contains…" data-testid="reason-filter">
      <button id="apply-filter">Filter</button>
      <span class="spacer" style="flex:1"></span>
      <span id="dlq-actions" style="display:none">
        <button class="danger" id="replay-filtered" data-testid="replay-filtered">Replay these (by reason)</button>
        <button class="danger" id="replay-all" data-testid="replay-all">Replay all dead letters</button>
      </span>
    </div>
    <table data-testid="events"><thead><tr><th>Received</th><th>Type</th><th>Event / user</th><th>Status</th><th>Action</th><th>HTTP</th><th>Tries</th><th>Error</th><th></th></tr></thead><tbody id="events-body"></tbody></table>
    <div class="muted" id="events-empty" style="display:none">No events match.</div>
    <div class="row" style="margin-top:8px"><button id="more-events" style="display:none">Older…</button></div>
  </section>

  <section id="detail" data-testid="detail">
    <div class="row"><h2 style="margin:0">Event <code id="detail-id"></code></h2><span id="detail-status"></span><span class="spacer" style="flex:1"></span><button id="detail-replay" class="danger" style="display:none" data-testid="detail-replay">Replay</button><button id="detail-close">Close</button></div>
    <div class="muted" id="detail-meta"></div>
    <div class="fix" id="detail-fix"></div>
    <div class="samples">
      <div><b>As received</b><pre data-testid="sample-received" id="sample-received"></pre></div>
      <div><b>Request sent to CSB</b> <span class="muted">(key redacted)</span><pre data-testid="sample-request" id="sample-request"></pre></div>
      <div><b>CSB's response</b><pre data-testid="sample-response" id="sample-response"></pre></div>
    </div>
  </section>

  <div class="grid2">
    <section>
      <h2>Event tester</h2>
      <div class="muted">Paste a Segment event: see which action matches and the exact CSB request. Nothing is sent unless you choose “Test and send”.</div>
      <textarea id="tester-input" data-testid="tester-input" spellcheck="false"></textarea>
      <div class="row" style="margin-top:8px"><button class="primary" id="tester-run" data-testid="tester-run">Test</button><button id="tester-send" data-testid="tester-send">Test and send</button></div>
      <pre id="tester-output" data-testid="tester-output">(result appears here)</pre>
    </section>
    <section>
      <h2>Configuration in force <span class="muted">(secrets redacted)</span></h2>
      <div class="row"><span id="csb-check" data-testid="csb-check" class="muted">CSB connection: not checked yet</span><button id="csb-recheck">Check CSB</button></div>
      <pre id="config" data-testid="config"></pre>
    </section>
  </div>
</main>

<div id="token-dialog" data-testid="token-dialog"><div class="box">
  <h2 style="margin-top:0;font-size:16px">Admin token</h2>
  <p class="muted">This relay requires its admin token (CSB_RELAY_ADMIN_TOKEN). It is kept in this browser tab only.</p>
  <form id="token-form"><input type="password" id="token-input" data-testid="token-input" style="width:100%" autocomplete="off">
  <div class="row" style="margin-top:12px"><button class="primary" type="submit" data-testid="token-submit">Open dashboard</button><span id="token-error" class="bad"></span></div></form>
</div></div>

<script>
(function () {
  'use strict';
  var COLORS = { delivered: '#1a9c5b', retrying: '#d98b0b', dead: '#d64545', skipped: '#7a7f8f', ingested: '#3b6fd8' };
  var NAMES = { ingested: 'Received', delivered: 'Delivered', retrying: 'Retries', dead: 'Dead-lettered', skipped: 'Skipped' };
  var SAMPLE_EVENT = { type: 'track', userId: 'user-42', event: 'Report Exported', properties: { account_id: 'acme', product_id: 'analytics', module_id: 'reports' }, timestamp: new Date().toISOString() };
  var state = { period: '24h', status: '', reason: '', beforeId: null, detailId: null, token: sessionStorage.getItem('csbRelayAdminToken') || '' };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { if (k === 'text') e.textContent = attrs[k]; else if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function fmt(n) { return n == null ? '–' : Number(n).toLocaleString('en-US'); }
  function ms(v) { if (v == null) return '–'; if (v < 1000) return v + ' ms'; if (v < 60000) return (v / 1000).toFixed(1) + ' s'; if (v < 3600000) return (v / 60000).toFixed(1) + ' min'; return (v / 3600000).toFixed(1) + ' h'; }
  function ago(seconds) { if (seconds == null) return ''; return ms(seconds * 1000); }
  function when(iso) { if (!iso) return ''; var d = new Date(iso); return d.toLocaleString(); }
  function pretty(v) { if (v == null) return '(none)'; if (typeof v === 'string') { try { return JSON.stringify(JSON.parse(v), null, 2); } catch (e) { return v; } } return JSON.stringify(v, null, 2); }
  function pill(status) { return el('span', { class: 'status-pill s-' + status, text: status === 'dead' ? 'dead letter' : status }); }
  function notice(text) { $('notice').textContent = text || ''; }

  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (state.token) headers.authorization = 'Bearer ' + state.token;
    return fetch('/api' + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(function (res) {
      return res.text().then(function (text) {
        var data = null; try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
        if (res.status === 401) { askToken(state.token ? 'That token was refused.' : ''); throw new Error('admin token required'); }
        if (!res.ok) throw new Error((data && data.error) || ('HTTP ' + res.status));
        return data;
      });
    });
  }

  function askToken(message) { $('csb-state').textContent = 'admin token needed'; $('token-dialog').style.display = 'flex'; $('token-error').textContent = message || ''; $('token-input').focus(); }
  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    state.token = $('token-input').value.trim();
    sessionStorage.setItem('csbRelayAdminToken', state.token);
    $('token-dialog').style.display = 'none';
    $('forget-token').style.display = '';
    refreshAll().then(checkCsb).catch(showError);
  });
  $('forget-token').addEventListener('click', function () { sessionStorage.removeItem('csbRelayAdminToken'); state.token = ''; location.reload(); });
  if (state.token) $('forget-token').style.display = '';

  // ---- overview and chart
  function loadOverview() {
    return api('GET', '/overview?period=' + encodeURIComponent(state.period)).then(function (o) {
      ['delivered', 'retrying', 'dead', 'skipped', 'ingested'].forEach(function (k) {
        document.querySelector('[data-testid="count-' + k + '"]').textContent = fmt(o.totals[k]);
        document.querySelector('[data-testid="rate-' + k + '"]').textContent = o.perMinute[k] + ' / min';
      });
      $('period-label').textContent = 'last ' + o.period;
      document.querySelector('[data-testid="backlog"]').textContent = fmt(o.backlog.total);
      document.querySelector('[data-testid="oldest"]').textContent = o.backlog.oldestWaitingSeconds == null ? 'nothing waiting' : 'oldest waiting ' + ago(o.backlog.oldestWaitingSeconds) + ' · ' + fmt(o.backlog.retrying) + ' retrying';
      document.querySelector('[data-testid="p95"]').textContent = ms(o.latency.p95Ms);
      document.querySelector('[data-testid="p50"]').textContent = 'p50 ' + ms(o.latency.p50Ms);
      document.querySelector('[data-testid="success-rate"]').textContent = o.successRate == null ? '–' : (o.successRate * 100).toFixed(1) + ' %';
      drawChart(o.series, o.bucketSeconds);
      drawReasons(o.reasons);
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    });
  }

  function drawChart(series, bucketSeconds) {
    var svg = $('chart'), W = Math.max(300, Math.round(svg.getBoundingClientRect().width) || 900), H = 220, L = 44, R = 10, T = 10, B = 26;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var keys = ['ingested', 'delivered', 'retrying', 'dead', 'skipped'];
    var max = 0; series.forEach(function (p) { keys.forEach(function (k) { if (p[k] > max) max = p[k]; }); });
    var top = max <= 4 ? 4 : niceCeil(max);
    var n = series.length, step = (W - L - R) / Math.max(1, n - 1);
    function x(i) { return L + i * step; } function y(v) { return T + (H - T - B) * (1 - v / top); }
    var ns = 'http://www.w3.org/2000/svg';
    function s(tag, attrs, text) { var e = document.createElementNS(ns, tag); Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); if (text != null) e.textContent = text; svg.appendChild(e); return e; }
    for (var g = 0; g <= 4; g++) { var v = top * g / 4, yy = y(v); s('line', { x1: L, x2: W - R, y1: yy, y2: yy, stroke: '#e3e6ee' }); s('text', { x: L - 6, y: yy + 4, 'text-anchor': 'end' }, fmt(Math.round(v))); }
    [0, Math.floor((n - 1) / 2), n - 1].forEach(function (i, j) { if (!series[i]) return; var d = new Date(series[i].at); s('text', { x: x(i), y: H - 8, 'text-anchor': j === 0 ? 'start' : j === 2 ? 'end' : 'middle' }, bucketSeconds >= 86400 ? d.toLocaleDateString() : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })); });
    keys.forEach(function (k) {
      var pts = series.map(function (p, i) { return x(i).toFixed(1) + ',' + y(p[k]).toFixed(1); }).join(' ');
      s('polyline', { points: pts, fill: 'none', stroke: COLORS[k], 'stroke-width': k === 'ingested' ? 1.5 : 2, 'stroke-dasharray': k === 'ingested' ? '4 3' : '', 'data-series': k });
    });
    series.forEach(function (p, i) {
      var r = s('rect', { x: x(i) - step / 2, y: T, width: Math.max(step, 2), height: H - T - B, fill: 'transparent' });
      var t = document.createElementNS(ns, 'title');
      t.textContent = new Date(p.at).toLocaleString() + '\n' + keys.map(function (k) { return NAMES[k] + ': ' + p[k]; }).join('\n');
      r.appendChild(t);
    });
    var legend = $('legend'); legend.textContent = '';
    keys.forEach(function (k) { legend.appendChild(el('span', {}, [el('i', { style: 'background:' + COLORS[k] }), NAMES[k]])); });
    legend.appendChild(el('span', { class: 'muted', text: 'per ' + ms(bucketSeconds * 1000) }));
  }
  function niceCeil(v) { var p = Math.pow(10, Math.floor(Math.log10(v))); var m = v / p; return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p; }

  function drawReasons(reasons) {
    var body = $('reasons-body'); body.textContent = '';
    $('reasons-empty').style.display = reasons.length ? 'none' : '';
    reasons.forEach(function (r) {
      var show = el('button', { text: 'Show events' });
      show.addEventListener('click', function () { setStatus(r.status); $('reason-filter').value = r.reason; state.reason = r.reason; loadEvents(true); });
      var actions = el('td', {}, [show]);
      if (r.status === 'dead') {
        var rep = el('button', { class: 'danger', text: 'Replay', 'data-testid': 'replay-reason' });
        rep.addEventListener('click', function () { replay({ reason: r.reason }, 'Replay ' + r.count + ' dead letters with reason "' + r.reason + '"?'); });
        actions.appendChild(document.createTextNode(' ')); actions.appendChild(rep);
      }
      body.appendChild(el('tr', {}, [el('td', {}, [el('code', { text: r.reason })]), el('td', {}, [pill(r.status)]), el('td', { text: fmt(r.count) }), el('td', { text: when(r.lastAt) }), el('td', { class: 'fix', text: r.fix }), actions]));
    });
  }

  // ---- events and dead letters
  function setStatus(status) {
    state.status = status;
    Array.prototype.forEach.call(document.querySelectorAll('#status-filter button'), function (b) { b.classList.toggle('on', b.getAttribute('data-status') === status); });
    $('dlq-actions').style.display = status === 'dead' ? '' : 'none';
  }
  function loadEvents(reset) {
    if (reset) { state.beforeId = null; state.paged = false; }
    var q = '?limit=50';
    if (state.status) q += '&status=' + encodeURIComponent(state.status);
    if (state.reason) q += '&reason=' + encodeURIComponent(state.reason);
    if (state.beforeId) q += '&beforeId=' + encodeURIComponent(state.beforeId);
    return api('GET', '/events' + q).then(function (data) {
      var body = $('events-body'); if (!state.beforeId) body.textContent = '';
      data.events.forEach(function (e) {
        var open = el('button', { text: 'Samples', 'data-testid': 'open-event' });
        var cells = [el('td', { text: when(e.receivedAt) }), el('td', { text: e.type }), el('td', {}, [e.name ? el('div', { text: e.name }) : null, el('div', { class: 'muted', text: e.userId == null ? '' : String(e.userId) })]),
          el('td', {}, [pill(e.status)]), el('td', { text: e.action || '' }), el('td', { text: e.lastStatus == null ? '' : String(e.lastStatus) }), el('td', { text: String(e.attempts) }),
          el('td', {}, [e.lastError ? el('code', { text: e.lastError }) : null, e.fix ? el('div', { class: 'fix', text: e.fix }) : null])];
        var actions = el('td', {}, [open]);
        if (e.status === 'dead') {
          var rep = el('button', { class: 'danger', text: 'Replay', 'data-testid': 'replay-one' });
          rep.addEventListener('click', function (ev) { ev.stopPropagation(); replay({ ids: [e.id] }); });
          actions.appendChild(document.createTextNode(' ')); actions.appendChild(rep);
        }
        cells.push(actions);
        var tr = el('tr', { class: 'clickable', 'data-event-id': e.id, 'data-status': e.status }, cells);
        tr.addEventListener('click', function () { openEvent(e.id); });
        body.appendChild(tr);
      });
      $('events-empty').style.display = body.children.length ? 'none' : '';
      state.beforeId = data.nextBeforeId;
      $('more-events').style.display = data.nextBeforeId ? '' : 'none';
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('#status-filter button'), function (b) {
    b.addEventListener('click', function () { setStatus(b.getAttribute('data-status')); loadEvents(true).catch(showError); });
  });
  $('apply-filter').addEventListener('click', function () { state.reason = $('reason-filter').value.trim(); loadEvents(true).catch(showError); });
  $('more-events').addEventListener('click', function () { state.paged = true; loadEvents(false).catch(showError); });
  $('replay-all').addEventListener('click', function () { replay({ all: true }, 'Replay every dead letter?'); });
  $('replay-filtered').addEventListener('click', function () {
    var reason = $('reason-filter').value.trim();
    if (!reason) { notice('Type part of a reason in the filter box first.'); return; }
    replay({ reason: reason }, 'Replay dead letters whose reason contains "' + reason + '"?');
  });

  function replay(filter, question) {
    if (question && !window.confirm(question)) return;
    api('POST', '/replay', filter).then(function (r) {
      notice(''); $('updated').textContent = 'replayed ' + r.replayed + ' event(s)';
      setTimeout(refreshAll, 300);
    }).catch(showError);
  }

  function openEvent(id, quiet) {
    state.detailId = id;
    return api('GET', '/events/' + encodeURIComponent(id)).then(function (e) {
      $('detail').style.display = 'block';
      $('detail-id').textContent = e.id;
      var st = $('detail-status'); st.textContent = ''; st.appendChild(pill(e.status)); st.setAttribute('data-status', e.status);
      $('detail-meta').textContent = e.type + (e.name ? ' "' + e.name + '"' : '') + ' · messageId ' + e.messageId + ' · source ' + e.source + ' · received ' + when(e.receivedAt) + (e.finishedAt ? ' · finished ' + when(e.finishedAt) : '') + ' · attempts ' + e.attempts + (e.action ? ' · action ' + e.action : '') + (e.lastError ? ' · ' + e.lastError : '');
      $('detail-fix').textContent = e.fix ? 'Suggested fix: ' + e.fix : '';
      $('sample-received').textContent = pretty(e.samples.received);
      $('sample-request').textContent = e.samples.request == null ? '(nothing sent yet)' : pretty(e.samples.request);
      $('sample-response').textContent = e.samples.response == null ? '(no response yet)' : pretty(e.samples.response);
      var rep = $('detail-replay'); rep.style.display = e.status === 'dead' ? '' : 'none';
      rep.onclick = function () { replay({ ids: [e.id] }); };
      if (!quiet) $('detail').scrollIntoView({ behavior: 'auto', block: 'start' });
    }).catch(showError);
  }
  $('detail-close').addEventListener('click', function () { state.detailId = null; $('detail').style.display = 'none'; });

  // ---- tester
  $('tester-input').value = JSON.stringify(SAMPLE_EVENT, null, 2);
  function runTester(send) {
    var event;
    try { event = JSON.parse($('tester-input').value); } catch (e) { $('tester-output').textContent = 'Not valid JSON: ' + e.message; return; }
    $('tester-output').textContent = send ? 'Sending…' : 'Testing…';
    api('POST', '/test-event', { event: event, send: !!send }).then(function (r) {
      $('tester-output').textContent = testerSummary(r.result) + '\n\n' + pretty(r.result);
      if (send) setTimeout(refreshAll, 300);
    }).catch(function (e) { $('tester-output').textContent = 'Error: ' + e.message; });
  }
  /** One line per matching action, before the full answer. */
  function testerSummary(r) {
    if (!r || typeof r !== 'object') return '';
    if (r.deliver === false) return 'Nothing would be sent: ' + (r.skipReason || 'no action matches');
    var lines = (r.matches || []).map(function (m) {
      var req = m.request ? (m.request.method + ' ' + m.request.url) : '(no request)';
      var res = m.response ? ' → ' + m.response.status : '';
      return (r.sent ? 'Sent: ' : 'Would send: ') + req + res + ' (' + m.partnerAction + ' via "' + m.subscription + '")' + (m.error ? ' — ' + m.error : '');
    });
    if (r.filledAccount) lines.push('account_id filled from the identity map: ' + r.filledAccount);
    if (r.csbConfigured === false) lines.push('CSB is not configured: nothing can be sent yet.');
    return lines.join('\n');
  }
  $('tester-run').addEventListener('click', function () { runTester(false); });
  $('tester-send').addEventListener('click', function () { runTester(true); });

  // ---- configuration and CSB check
  function loadConfig() { return api('GET', '/config').then(function (c) { $('config').textContent = pretty(c.config); }); }
  function checkCsb() {
    $('csb-check').textContent = 'CSB connection: checking…';
    return api('GET', '/csb-check').then(function (c) {
      var text = !c.configured ? 'CSB not configured' : c.ok ? 'CSB answers: key accepted' : 'CSB problem: ' + c.message;
      $('csb-check').textContent = 'CSB connection: ' + (c.message || text);
      $('csb-check').className = c.ok ? 'ok' : 'bad';
      $('csb-state').textContent = text; $('csb-state').className = c.ok ? 'ok' : 'bad';
    });
  }
  $('csb-recheck').addEventListener('click', function () { checkCsb().catch(showError); });

  Array.prototype.forEach.call(document.querySelectorAll('#periods button'), function (b) {
    b.addEventListener('click', function () {
      state.period = b.getAttribute('data-period');
      Array.prototype.forEach.call(document.querySelectorAll('#periods button'), function (o) { o.classList.toggle('on', o === b); });
      refreshAll();
    });
  });

  function showError(e) { if (e && e.message !== 'admin token required') notice(e.message); }
  function refreshAll() {
    notice('');
    var jobs = [loadOverview(), loadEvents(true), loadConfig()];
    if (state.detailId) jobs.push(openEvent(state.detailId, true));
    return Promise.all(jobs).catch(showError);
  }
  refreshAll().then(function () { return checkCsb(); }).catch(showError);
  // Live refresh; the events table is left alone while the user pages through older events.
  setInterval(function () {
    if ($('token-dialog').style.display === 'flex') return;
    var jobs = [loadOverview()];
    if (!state.paged) jobs.push(loadEvents(true));
    if (state.detailId) jobs.push(openEvent(state.detailId, true));
    Promise.all(jobs).catch(showError);
  }, 5000);
})();
</script>
</body>
</html>
`
