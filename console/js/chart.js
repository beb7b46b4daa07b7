// Small inline-SVG line charts for the overview: one series, zero-based, time on x.
import {h, svg, fmtRate, fmtTime} from './dom.js';

const W = 300;
const H = 72;

// points: [{t, [key]: number}], oldest first. format: value -> text.
export function lineChart(points, key, {title, format = fmtRate, unit = '', testid, tone = 'a'} = {}) {
  const samples = (points || [])
    .map((p) => ({t: new Date(p.t).getTime(), v: Number(p[key])}))
    .filter((p) => !Number.isNaN(p.t) && Number.isFinite(p.v));
  const last = samples.length ? samples[samples.length - 1].v : null;
  const value = h('span', {class: 'chart-value', 'data-testid': testid && `${testid}-value`},
                  last === null ? '–' : `${format(last)}${unit}`);
  const caption = h('figcaption', {}, h('span', {class: 'chart-title'}, title), value);
  const fig = h('figure', {class: `chart chart-${tone}`, 'data-testid': testid}, caption);
  if (samples.length < 2) {
    fig.append(h('div', {class: 'chart-empty'}, 'collecting samples…'));
    return fig;
  }
  const t0 = samples[0].t;
  const t1 = samples[samples.length - 1].t;
  const max = Math.max(...samples.map((p) => p.v));
  const top = max > 0 ? max * 1.15 : 1;
  const x = (t) => (t1 === t0 ? W : ((t - t0) / (t1 - t0)) * W);
  const y = (v) => H - (v / top) * (H - 4) - 1;
  const line = samples.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
  const area = `${line}L${W},${H}L0,${H}Z`;
  const cursor = svg('line', {class: 'chart-cursor', x1: 0, x2: 0, y1: 0, y2: H, visibility: 'hidden'});
  const plot = svg('svg', {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img',
                           'aria-label': `${title}: last ${last === null ? 'none' : format(last)}${unit}, max ${format(max)}${unit}`},
    svg('path', {class: 'chart-area', d: area}),
    svg('path', {class: 'chart-line', d: line, 'vector-effect': 'non-scaling-stroke'}),
    cursor);
  // Hovering reads the nearest sample into the caption; leaving shows the latest again.
  plot.addEventListener('mousemove', (ev) => {
    const box = plot.getBoundingClientRect();
    const t = t0 + ((ev.clientX - box.left) / box.width) * (t1 - t0);
    let best = samples[0];
    for (const p of samples) if (Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    cursor.setAttribute('x1', x(best.t));
    cursor.setAttribute('x2', x(best.t));
    cursor.setAttribute('visibility', 'visible');
    value.textContent = `${format(best.v)}${unit} at ${fmtTime(new Date(best.t).toISOString()).slice(11)}`;
  });
  plot.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    value.textContent = `${format(last)}${unit}`;
  });
  const minutes = Math.round((t1 - t0) / 60000);
  fig.append(h('div', {class: 'chart-plot'}, plot),
             h('div', {class: 'chart-axis'},
               h('span', {}, minutes >= 1 ? `−${minutes} min` : `−${Math.round((t1 - t0) / 1000)} s`),
               h('span', {}, `max ${format(max)}${unit}`),
               h('span', {}, 'now')));
  return fig;
}
