/*
 * The report page's script: reads the report embedded as JSON and draws every chart with
 * uPlot (inlined before this script). Plain browser JavaScript, inlined as it is: the
 * page runs it with no build step and no network.
 *
 * Bars are horizontal, so long client names read on the left: the category scale `x` is
 * vertical (ori 1, dir -1 puts the first category on top) and the value scale `y` runs
 * left to right. Groups of several series place each bar with `disp.x0`/`disp.size` in
 * category units.
 */
(() => {
  const report = JSON.parse(document.getElementById('report-data').textContent);
  const plain = '#8a94a6';
  const accent = '#d9480f';
  // Steps of one measure (p50, p90, p99) in shades of one hue; distinct things (clients)
  // in distinct hues, the first (http-sentinel) in the accent colour.
  const shades = ['#9ecae1', '#4292c6', '#08519c', '#08306b'];
  const hues = [accent, '#4e79a7', '#59a14f', '#b07aa1', '#9c755f', '#edc948', '#76b7b2'];
  const font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const group = 0.8;

  const measure = document.createElement('canvas').getContext('2d');
  measure.font = font;

  function formatValue(v, digits) {
    if (v == null) return '';
    return v.toLocaleString('en-US', {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  }

  function formatTick(v) {
    const abs = Math.abs(v);
    if (abs >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
    if (abs >= 1e3) return `${+(v / 1e3).toFixed(2)}k`;
    return `${+v.toFixed(2)}`;
  }

  function valueRange(chart) {
    if (chart.max != null) return [0, chart.max];
    let max = 0;
    for (const s of chart.series) for (const v of s.values) if (v != null && v > max) max = v;
    // Room on the right for the value printed after the longest bar.
    return [0, max > 0 ? max * 1.18 : 1];
  }

  function draw(chart, el) {
    const n = chart.categories.length;
    const k = chart.series.length;
    const bar = group / k;
    const xs = chart.categories.map((_, i) => i);
    const labelWidth = Math.ceil(
      Math.max(40, ...chart.categories.map((c) => measure.measureText(c).width)) + 14,
    );
    const rowHeight = k === 1 ? 30 : 12 + 16 * k;
    // The height includes the value axis and its label (the legend comes on top).
    const height = n * rowHeight + 84;
    const bars = [];
    const colorsOf = (j) => {
      if (k > 1) {
        const palette = chart.ordered ? shades : hues;
        return chart.categories.map(() => palette[j % palette.length]);
      }
      return chart.categories.map((_, i) => (chart.emphasis?.[i] ? accent : plain));
    };
    const series = chart.series.map((s, j) => {
      const colors = colorsOf(j);
      return {
        label: s.label,
        width: 0,
        stroke: colors[0],
        fill: colors[0],
        points: { show: false },
        paths: uPlot.paths.bars({
          size: [bar, Infinity],
          disp: {
            x0: { unit: 1, values: () => xs.map((i) => i - group / 2 + j * bar) },
            size: { unit: 1, values: () => xs.map(() => bar) },
            fill: { unit: 3, values: () => colors },
          },
          each: (_u, seriesIdx, idx, left, top, width, h) => {
            bars.push({ seriesIdx, idx, left, top, width, h });
          },
        }),
      };
    });
    const opts = {
      width: Math.max(320, el.clientWidth),
      height,
      legend: { show: k > 1, live: false },
      cursor: { show: false },
      scales: {
        x: { time: false, ori: 1, dir: -1, range: () => [-0.5, n - 0.5] },
        y: { ori: 0, dir: 1, range: () => valueRange(chart) },
      },
      axes: [
        {
          scale: 'x',
          side: 3,
          size: labelWidth,
          font,
          grid: { show: false },
          ticks: { show: false },
          splits: () => xs,
          values: (_u, splits) => splits.map((i) => chart.categories[i] ?? ''),
        },
        {
          scale: 'y',
          side: 2,
          font,
          label: chart.unit,
          labelFont: font,
          space: 70,
          values: (_u, splits) => splits.map(formatTick),
        },
      ],
      series: [{}, ...series],
      hooks: {
        drawClear: [() => (bars.length = 0)],
        draw: [
          (u) => {
            const ctx = u.ctx;
            const px = uPlot.pxRatio;
            const right = u.bbox.left + u.bbox.width;
            ctx.save();
            ctx.font = font.replace('12px', `${Math.round(11 * px)}px`);
            ctx.textBaseline = 'middle';
            for (const b of bars) {
              const text = formatValue(u.data[b.seriesIdx][b.idx], chart.digits);
              const w = ctx.measureText(text).width;
              const y = b.top + b.h / 2;
              if (b.left + b.width + 4 * px + w <= right) {
                ctx.fillStyle = '#1d2330';
                ctx.textAlign = 'left';
                ctx.fillText(text, b.left + b.width + 4 * px, y);
              } else {
                ctx.fillStyle = '#fff';
                ctx.textAlign = 'right';
                ctx.fillText(text, b.left + b.width - 4 * px, y);
              }
            }
            // A category with no figure at all says so, rather than looking like zero.
            ctx.fillStyle = '#8a94a6';
            ctx.textAlign = 'left';
            const x0 = u.valToPos(0, 'y', true) + 4 * px;
            chart.categories.forEach((_, i) => {
              if (chart.series.every((s) => s.values[i] == null)) {
                ctx.fillText('no figure', x0, u.valToPos(i, 'x', true));
              }
            });
            ctx.restore();
          },
        ],
      },
    };
    const plot = new uPlot(opts, [xs, ...chart.series.map((s) => s.values)], el);
    return () => plot.setSize({ width: Math.max(320, el.clientWidth), height });
  }

  const resizers = [];
  for (const el of document.querySelectorAll('[data-chart]')) {
    const [s, c] = el.dataset.chart.split('-').map(Number);
    resizers.push(draw(report.sections[s].charts[c], el));
  }
  let pending = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      for (const resize of resizers) resize();
    });
  });
})();
