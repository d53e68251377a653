// ipcbench report --format html: the page's script (built into the binary, inline in the page).
// It sorts the tables, filters their rows, and draws the plots and the history from the JSON
// block #ipcbench-data. No network, no library.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('ipcbench-data').textContent);
  const $ = (s, el) => (el || document).querySelector(s);
  const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
  const SVG = 'http://www.w3.org/2000/svg';

  // --- numbers as the text tables write them ---------------------------------------------------
  function fmtNs(v) {
    if (v < 1e3) return v.toFixed(0) + ' ns';
    if (v < 1e4) return (v / 1e3).toFixed(2) + ' us';
    if (v < 1e6) return (v / 1e3).toFixed(1) + ' us';
    if (v < 1e9) return (v / 1e6).toFixed(2) + ' ms';
    return (v / 1e9).toFixed(2) + ' s';
  }
  function fmtRate(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(2) + ' M';
    if (v >= 1e3) return (v / 1e3).toFixed(1) + ' k';
    return v >= 10 ? v.toFixed(0) : v.toPrecision(2);
  }
  function fmtBytesRate(v) {
    if (v >= 1e9) return (v / 1e9).toFixed(2) + ' GB/s';
    if (v >= 1e6) return (v / 1e6).toFixed(1) + ' MB/s';
    return (v / 1e3).toFixed(0) + ' kB/s';
  }
  function fmtSize(b) {
    if (b >= 1048576 && b % 1048576 === 0) return b / 1048576 + ' MiB';
    if (b >= 1024 && b % 1024 === 0) return b / 1024 + ' KiB';
    return b + ' B';
  }
  function fmtValue(unit, v) {
    if (unit === 'ns') return fmtNs(v);
    if (unit === 'B/s') return fmtBytesRate(v);
    if (unit === '1/s') return fmtRate(v) + '/s';
    return String(+v.toPrecision(3));
  }

  // --- sorting: a header's click sorts its table by that column ---------------------------------
  function cellKey(td) {
    if (!td) return null;
    if (td.dataset.v !== undefined) return parseFloat(td.dataset.v);
    const n = parseFloat(td.textContent);
    return isNaN(n) ? null : n;
  }
  function sortTable(table, col) {
    const th = table.tHead.rows[0].cells[col];
    const ascending = th.getAttribute('aria-sort') !== 'ascending';
    for (const h of table.tHead.rows[0].cells) h.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    const text = th.classList.contains('text');
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const sign = ascending ? 1 : -1;
    rows.sort((a, b) => {
      const fa = a.classList.contains('failed'), fb = b.classList.contains('failed');
      if (fa !== fb) return fa ? 1 : -1;  // failed cells stay last
      const ca = a.cells[col], cb = b.cells[col];
      if (!text) {
        const x = cellKey(ca), y = cellKey(cb);
        if (x === null || y === null) {
          if (x !== y) return x === null ? 1 : -1;  // a missing figure goes last
        } else if (x !== y) {
          return sign * (x - y);
        }
      }
      const s = (ca ? ca.textContent : '').localeCompare(cb ? cb.textContent : '');
      return text ? sign * s : s;
    });
    for (const r of rows) body.appendChild(r);
  }
  function sortable(table) {
    Array.from(table.tHead.rows[0].cells).forEach((th, i) => {
      th.tabIndex = 0;
      th.addEventListener('click', () => sortTable(table, i));
      th.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sortTable(table, i);
        }
      });
    });
  }

  // --- filters ------------------------------------------------------------------------------------
  const filter = { scenario: '', transport: '', wait: '', run: '' };
  function columnOf(table, name) {
    return Array.from(table.tHead.rows[0].cells).findIndex((th) => th.textContent === name);
  }
  function addOptions(select, values) {
    if (!select) return;
    for (const v of values) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = v;
      select.appendChild(o);
    }
  }
  function transportMatches(label) {
    return !filter.transport || label.toLowerCase().includes(filter.transport.toLowerCase());
  }
  function pointMatches(scenario, label, wait, file) {
    return (!filter.scenario || filter.scenario === scenario) && transportMatches(label) &&
        (!filter.wait || filter.wait === wait) && (!filter.run || filter.run === data.files[file]);
  }
  function applyFilters() {
    let shown = 0, total = 0;
    for (const block of $$('#tables .scenario')) {
      const scenarioShown = !filter.scenario || block.dataset.scenario === filter.scenario;
      block.hidden = !scenarioShown;
      for (const size of $$('.size', block)) {
        const table = $('table', size);
        const t = columnOf(table, 'transport'), w = columnOf(table, 'wait'),
              r = columnOf(table, 'run');
        let visible = 0;
        for (const row of table.tBodies[0].rows) {
          const ok = scenarioShown && (t < 0 || transportMatches(row.cells[t].textContent)) &&
              (!filter.wait || w < 0 || row.cells[w].textContent === filter.wait) &&
              (!filter.run || r < 0 || row.cells[r].textContent === filter.run);
          row.hidden = !ok;
          total++;
          if (ok) visible++;
        }
        size.hidden = visible === 0;
        shown += visible;
      }
    }
    $('#f-count').textContent = shown + ' of ' + total + ' rows';
    drawPlots();
    drawHistory();
  }
  function setupFilters() {
    addOptions($('#f-scenario'), $$('#tables .scenario').map((b) => b.dataset.scenario));
    const waits = new Set();
    for (const table of $$('#tables table.cells')) {
      const w = columnOf(table, 'wait');
      if (w >= 0) for (const row of table.tBodies[0].rows) waits.add(row.cells[w].textContent);
    }
    addOptions($('#f-wait'), Array.from(waits).filter((w) => w).sort());
    addOptions($('#f-run'), data.files);
    const bind = (id, key, event) => {
      const el = $(id);
      if (el) el.addEventListener(event, () => { filter[key] = el.value; applyFilters(); });
    };
    bind('#f-scenario', 'scenario', 'change');
    bind('#f-transport', 'transport', 'input');
    bind('#f-wait', 'wait', 'change');
    bind('#f-run', 'run', 'change');
  }

  // --- charts -------------------------------------------------------------------------------------
  const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#0a7d8c', '#e16f24',
    '#6e7781', '#d63384', '#116329', '#953800', '#4d2d8f'];
  const DASHES = ['', '6 3', '2 2', '8 3 2 3'];
  // A line's colour and dash, the same for one name in every panel of a kind (plots, history).
  function styles() {
    const of = new Map();
    return (name) => {
      if (!of.has(name)) {
        const i = of.size;
        of.set(name, { color: PALETTE[i % PALETTE.length],
          dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] });
      }
      return of.get(name);
    };
  }
  const plotStyle = styles(), machineStyle = styles();
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  // Ticks for a log axis from lo to hi: decades (and 2, 5 within them over a short range); over
  // less than about a factor of 3, evenly spaced round numbers.
  function logTicks(lo, hi) {
    const ticks = [];
    for (let d = Math.floor(Math.log10(lo)); d <= Math.ceil(Math.log10(hi)); d++) {
      for (const m of hi / lo > 150 ? [1] : [1, 2, 5]) {
        const t = m * Math.pow(10, d);
        if (t >= lo && t <= hi) ticks.push(t);
      }
    }
    if (ticks.length >= 3) return ticks;
    const span = hi - lo;
    let step = Math.pow(10, Math.floor(Math.log10(span / 4)));
    for (const m of [1, 2, 5, 10]) {
      if (span / (m * step) <= 5) { step *= m; break; }
    }
    const even = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) even.push(+t.toPrecision(12));
    return even;
  }
  // A plot's box: its title, then what the caller adds (an SVG, a legend).
  function plotBox(text) {
    const box = document.createElement('div');
    box.className = 'plot';
    const title = document.createElement('div');
    title.className = 'title';
    title.textContent = text;
    box.appendChild(title);
    return box;
  }
  // opts: {title, xs: [{v, label}] (categories) or null for a log axis of numbers, xfmt,
  // ylabel, yfmt, series: [{name, points: [{x, y, lo, hi, tip, ring}]}]}
  function chart(opts, hidden, redraw, seriesStyle) {
    const box = plotBox(opts.title);
    const W = 640, H = 300, L = 78, R = 28, T = 10, B = 34;
    const svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, box);
    el('title', {}, svg).textContent = opts.title;
    const shown = opts.series.filter((s) => !hidden.has(s.name));
    const ys = [];
    for (const s of shown) for (const p of s.points) ys.push(p.lo > 0 ? p.lo : p.y, p.hi, p.y);
    const ypos = ys.filter((v) => v > 0);
    let y0 = Math.min(...ypos), y1 = Math.max(...ypos);
    if (!ypos.length) { y0 = 1; y1 = 10; }
    if (y1 / y0 < 1.5) { y0 /= 1.25; y1 *= 1.25; }
    y0 = Math.pow(10, Math.floor(Math.log10(y0) * 10) / 10);
    y1 = Math.pow(10, Math.ceil(Math.log10(y1) * 10) / 10);
    const Y = (v) => T + (H - T - B) * (1 - (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)));
    let X, xticks;
    if (opts.xs) {
      const n = opts.xs.length;
      const index = new Map(opts.xs.map((x, i) => [x.v, i]));
      X = (v) => L + (W - L - R) * (n === 1 ? 0.5 : (index.get(v) + 0.25) / (n - 0.5));
      xticks = opts.xs.map((x) => ({ v: x.v, label: x.label }));
    } else {
      const xv = [];
      for (const s of opts.series) for (const p of s.points) xv.push(p.x);
      let x0 = Math.min(...xv), x1 = Math.max(...xv);
      if (!xv.length) { x0 = 1; x1 = 10; }
      if (x1 === x0) { x0 /= 2; x1 *= 2; }
      X = (v) => L + (W - L - R) * (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0));
      const all = Array.from(new Set(xv)).sort((a, b) => a - b);
      const step = Math.max(1, Math.ceil(all.length / 8));
      xticks = all.filter((v, i) => i % step === 0).map((v) => ({ v: v, label: opts.xfmt(v) }));
    }
    for (const t of logTicks(y0, y1)) {
      el('line', { x1: L, x2: W - R, y1: Y(t), y2: Y(t), class: 'grid' }, svg);
      el('text', { x: L - 4, y: Y(t) + 4, 'text-anchor': 'end' }, svg).textContent = opts.yfmt(t);
    }
    for (const t of xticks) {
      el('line', { x1: X(t.v), x2: X(t.v), y1: T, y2: H - B, class: 'grid' }, svg);
      el('text', { x: X(t.v), y: H - B + 14, 'text-anchor': 'middle' }, svg).textContent = t.label;
    }
    el('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }, svg);
    el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }, svg);
    el('text', { x: L, y: H - 4 }, svg).textContent = opts.xlabel || '';
    const ylabel = el('text', { x: 12, y: T + (H - T - B) / 2, 'text-anchor': 'middle',
      transform: 'rotate(-90 12 ' + (T + (H - T - B) / 2) + ')' }, svg);
    ylabel.textContent = opts.ylabel;
    for (const s of shown) {
      const st = seriesStyle(s.name);
      const pts = s.points.slice().sort((a, b) => X(a.x) - X(b.x));
      if (pts.length > 1) {
        const path = el('path', { d: 'M' + pts.map((p) => X(p.x).toFixed(1) + ' ' + Y(p.y).toFixed(1)).join(' L'),
          fill: 'none', stroke: st.color, 'stroke-width': 1.6, 'stroke-dasharray': st.dash }, svg);
        el('title', {}, path).textContent = s.name;
      }
      for (const p of pts) {
        if (p.hi > p.lo && p.lo > 0) {
          el('line', { x1: X(p.x), x2: X(p.x), y1: Y(p.lo), y2: Y(p.hi), stroke: st.color, 'stroke-width': 1 }, svg);
        }
        const dot = el('circle', { cx: X(p.x), cy: Y(p.y), r: 2.6, fill: st.color }, svg);
        el('title', {}, dot).textContent = s.name + ': ' + p.tip;
        if (p.ring) {
          const ring = el('circle', { cx: X(p.x), cy: Y(p.y), r: 6.5, fill: 'none',
            stroke: p.ring === 'slower' ? '#b42318' : '#1a7f37', 'stroke-width': 2 }, svg);
          el('title', {}, ring).textContent = s.name + ': ' + p.tip;
        }
      }
    }
    const legend = document.createElement('div');
    legend.className = 'legend';
    for (const s of opts.series) {
      const st = seriesStyle(s.name);
      const item = document.createElement('span');
      item.innerHTML = '<i></i>';
      item.firstChild.style.background = st.color;
      item.appendChild(document.createTextNode(s.name));
      item.title = 'show or hide ' + s.name;
      if (hidden.has(s.name)) item.className = 'off';
      item.addEventListener('click', () => {
        if (hidden.has(s.name)) hidden.delete(s.name); else hidden.add(s.name);
        redraw();
      });
      legend.appendChild(item);
    }
    box.appendChild(legend);
    return box;
  }

  // opts: {title, xlabel, fmt, lower, items: [{name, y, lo, hi, tip}]}: one bar per item, best
  // first, on a log axis, with its interval.
  function ranked(opts, seriesStyle) {
    const box = plotBox(opts.title);
    const items = opts.items.slice().sort((a, b) => (opts.lower ? a.y - b.y : b.y - a.y));
    const W = 640, L = 190, R = 28, T = 6, B = 30, RH = 15;
    const H = T + B + RH * items.length;
    const svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, box);
    el('title', {}, svg).textContent = opts.title;
    const vs = [];
    for (const i of items) vs.push(i.lo > 0 ? i.lo : i.y, i.hi, i.y);
    let x0 = Math.min(...vs) / 1.5, x1 = Math.max(...vs) * 1.1;
    x0 = Math.pow(10, Math.floor(Math.log10(x0) * 10) / 10);
    const X = (v) => L + (W - L - R) * (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0));
    for (const t of logTicks(x0, x1)) {
      el('line', { x1: X(t), x2: X(t), y1: T, y2: H - B, class: 'grid' }, svg);
      el('text', { x: X(t), y: H - B + 14, 'text-anchor': 'middle' }, svg).textContent = opts.fmt(t);
    }
    el('text', { x: L, y: H - 4 }, svg).textContent = opts.xlabel;
    items.forEach((it, k) => {
      const y = T + RH * k + RH / 2;
      const st = seriesStyle(it.name);
      el('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, svg).textContent = it.name;
      const bar = el('rect', { x: L, y: y - 5, width: Math.max(1, X(it.y) - L), height: 10, fill: st.color, opacity: 0.75 }, svg);
      el('title', {}, bar).textContent = it.name + ': ' + it.tip;
      if (it.hi > it.lo && it.lo > 0) {
        el('line', { x1: X(it.lo), x2: X(it.hi), y1: y, y2: y, stroke: '#1b1f24', 'stroke-width': 1 }, svg);
      }
    });
    el('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }, svg);
    return box;
  }

  // --- plots: each scenario's key figure against size (or its variant), a panel per wait mode ----
  const hiddenSeries = new Set();
  function drawPlots() {
    const area = $('#plot-area');
    area.textContent = '';
    const several = data.files.length > 1;
    for (const plot of data.plots) {
      const f = plot.figure;
      const pts = plot.points.filter((p) => pointMatches(plot.scenario, p[1], p[2], p[0]));
      if (!pts.length) continue;
      const touches = new Set(pts.map((p) => p[3]));
      const panels = new Map();
      for (const p of pts) {
        const [file, label, wait, touch, bytes, variant, y, lo, hi] = p;
        const panel = 'wait ' + wait + (touches.size > 1 ? ', touch ' + touch : '') +
            (plot.x === 'size' ? '' : ', ' + fmtSize(bytes) + ' messages');
        if (!panels.has(panel)) panels.set(panel, new Map());
        const name = label + (several ? ' [' + data.files[file] + ']' : '');
        const series = panels.get(panel);
        if (!series.has(name)) series.set(name, { name: name, points: [] });
        const x = plot.x === 'size' ? bytes : variant;
        series.get(name).points.push({ x: x, y: y, lo: lo, hi: hi,
          tip: (plot.x === 'size' ? fmtSize(bytes) : plot.x + ' ' + (x === 0 ? 'max' : fmtRate(x))) +
            ': ' + fmtValue(f.unit, y) + (hi > lo ? ' (95%: ' + fmtValue(f.unit, lo) + ' to ' + fmtValue(f.unit, hi) + ')' : '') });
      }
      for (const [panel, series] of panels) {
        const xset = new Set();
        for (const s of series.values()) for (const p of s.points) xset.add(p.x);
        const heading = plot.scenario + ': ' + f.label + (f.lower ? ' (lower is better)' : ' (higher is better)') + ', ' + panel;
        if (xset.size === 1) {
          // One size (or rate, or N): a ranking.
          const x = xset.values().next().value;
          const at = plot.x === 'size' ? fmtSize(x) + ' messages' : plot.x === 'N' ? 'N = ' + x : x === 0 ? 'max offered' : fmtRate(x) + ' msgs/s offered';
          const items = [];
          for (const s of series.values()) {
            if (hiddenSeries.has(s.name)) continue;
            const p = s.points[0];
            items.push({ name: s.name, y: p.y, lo: p.lo, hi: p.hi, tip: p.tip });
          }
          const box = ranked({ title: heading + ', ' + at, xlabel: f.label, fmt: (v) => fmtValue(f.unit, v), lower: f.lower, items: items }, plotStyle);
          box.dataset.scenario = plot.scenario;
          area.appendChild(box);
          continue;
        }
        let xs = null;
        if (plot.x !== 'size') {
          const vs = new Set();
          for (const s of series.values()) for (const p of s.points) vs.add(p.x);
          xs = Array.from(vs).sort((a, b) => (a === 0) - (b === 0) || a - b)
            .map((v) => ({ v: v, label: plot.x === 'N' ? String(v) : v === 0 ? 'max' : fmtRate(v) }));
        }
        const box = chart({
          title: heading,
          xs: xs, xfmt: fmtSize, xlabel: plot.x === 'size' ? 'message size' : plot.x === 'N' ? 'subscribers N' : 'offered msgs/s',
          ylabel: f.label, yfmt: (v) => fmtValue(f.unit, v),
          series: Array.from(series.values()),
        }, hiddenSeries, drawPlots, plotStyle);
        box.dataset.scenario = plot.scenario;
        area.appendChild(box);
      }
    }
    if (!area.firstChild) area.textContent = 'No cell matches the filters.';
  }

  // --- history: each cell's key figure over the commits, a line per machine ---------------------
  const hiddenMachines = new Set();
  const kMaxHistoryCharts = 24;
  function drawHistory() {
    const h = data.history;
    if (!h) return;
    // The commits in the order of their earliest file's date.
    const first = new Map();
    h.runs.forEach((r) => {
      if (!first.has(r.commit) || r.date < first.get(r.commit)) first.set(r.commit, r.date);
    });
    const commits = Array.from(first.keys()).sort((a, b) => (first.get(a) < first.get(b) ? -1 : first.get(a) > first.get(b) ? 1 : 0));
    const xs = commits.map((c) => ({ v: c, label: c.length > 12 ? c.slice(0, 10) : c }));
    const cells = h.cells.filter((c) => (!filter.scenario || filter.scenario === c.scenario) &&
        transportMatches(c.transport) && (!filter.wait || filter.wait === c.wait));
    cells.sort((a, b) => (b.changes.length > 0) - (a.changes.length > 0));
    const area = $('#history-area');
    area.textContent = '';
    cells.slice(0, kMaxHistoryCharts).forEach((c) => {
      const ring = new Map();
      for (const [from, to, verdict, ratio] of c.changes) {
        ring.set(to, { verdict: verdict, text: verdict + ' than ' + h.runs[from].commit + ' (NEW/BASE ' + ratio.toFixed(2) + 'x)' });
      }
      const series = new Map();
      for (const [run, y, lo, hi] of c.points) {
        const r = h.runs[run];
        if (!series.has(r.machine)) series.set(r.machine, { name: r.machine, points: [] });
        const change = ring.get(run);
        series.get(r.machine).points.push({ x: r.commit, y: y, lo: lo, hi: hi, ring: change ? change.verdict : null,
          tip: r.commit + ' (' + r.date + ', ' + r.file + '): ' + fmtValue(c.figure.unit, y) +
            (hi > lo ? ' (95%: ' + fmtValue(c.figure.unit, lo) + ' to ' + fmtValue(c.figure.unit, hi) + ')' : '') +
            (change ? '; ' + change.text : '') });
      }
      const box = chart({ title: c.name + ': ' + c.figure.label, xs: xs, xlabel: 'commit (in date order)',
        ylabel: c.figure.label, yfmt: (v) => fmtValue(c.figure.unit, v), series: Array.from(series.values()) },
      hiddenMachines, drawHistory, machineStyle);
      box.id = 'h-' + h.cells.indexOf(c);
      area.appendChild(box);
    });
    if (cells.length > kMaxHistoryCharts) {
      const more = document.createElement('p');
      more.className = 'more';
      more.textContent = (cells.length - kMaxHistoryCharts) + ' more cells match the filters: narrow them (scenario, transport, wait) to see those.';
      area.appendChild(more);
    }
    drawChanges(h, cells);
  }
  function drawChanges(h, cells) {
    const box = $('#history-changes');
    box.textContent = '';
    const rows = [];
    for (const c of cells) {
      for (const [from, to, verdict, ratio, byFloor] of c.changes) rows.push([c, from, to, verdict, ratio, byFloor]);
    }
    const p = document.createElement('p');
    p.textContent = rows.length ? rows.length + ' changes compare calls real among the cells shown:' : 'No change compare calls real among the cells shown.';
    box.appendChild(p);
    if (!rows.length) return;
    const scroll = document.createElement('div');
    scroll.className = 'scroll';
    const table = document.createElement('table');
    table.className = 'cells';
    table.innerHTML = '<thead><tr><th class="text">cell</th><th class="text">machine</th><th class="text">from</th>' +
      '<th class="text">to</th><th>NEW/BASE</th><th class="text">verdict</th></tr></thead><tbody></tbody>';
    for (const [c, from, to, verdict, ratio, byFloor] of rows) {
      const tr = table.tBodies[0].insertRow();
      const cellLink = tr.insertCell();
      cellLink.className = 'text';
      const a = document.createElement('a');
      a.href = '#h-' + h.cells.indexOf(c);
      a.textContent = c.name;
      cellLink.appendChild(a);
      for (const text of [h.runs[to].machine, h.runs[from].commit, h.runs[to].commit]) {
        const td = tr.insertCell();
        td.className = 'text';
        td.textContent = text;
      }
      const r = tr.insertCell();
      r.dataset.v = ratio;
      r.textContent = ratio.toFixed(2) + 'x' + (byFloor ? ' (x floor)' : '');
      const v = tr.insertCell();
      v.className = 'text';
      v.textContent = verdict;
      v.style.color = verdict === 'slower' ? '#b42318' : '#1a7f37';
    }
    scroll.appendChild(table);
    box.appendChild(scroll);
    sortable(table);
  }

  $$('table.cells').forEach(sortable);
  setupFilters();
  applyFilters();
})();
