// The status page's script: fetches /v1/status every few seconds and redraws the flow of the stages, the
// rejections by reason, the services' health and the reporting grid. Plain browser JavaScript, no build.

const REFRESH_MS = 5000;

const el = (tag, props = {}, children = []) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'style') node.setAttribute('style', value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

// Every time on the page in Beijing time, 24-hour, whatever the browser's zone and locale.
const clock = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const beijing = (iso) => `${clock.format(new Date(iso)).replaceAll('/', '-')} 北京时间`;

const svgNs = 'http://www.w3.org/2000/svg';
/** A small line chart of `values` as inline SVG: no library. */
const sparkline = (label, values, field) => {
  const width = 220;
  const height = 40;
  const most = Math.max(1, ...values);
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const line = document.createElementNS(svgNs, 'polyline');
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  line.setAttribute(
    'points',
    values
      .map(
        (value, index) =>
          `${(index * step).toFixed(1)},${(height - 2 - (value / most) * (height - 4)).toFixed(1)}`,
      )
      .join(' '),
  );
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '1.5');
  svg.append(line);
  return el('figure', { class: 'chart', 'data-chart': field }, [
    svg,
    el('figcaption', { text: `${label}: now ${number(values.at(-1) ?? 0)}, most ${number(most)}` }),
  ]);
};

const renderHistory = (status) => {
  const points = status.history;
  const charts = [
    ['ingest records/min', points.map((p) => p.perMinute.ingest), 'ingest'],
    ['validate records/min', points.map((p) => p.perMinute.validate), 'validate'],
    ['aggregate records/min', points.map((p) => p.perMinute.aggregate), 'aggregate'],
    ['validate lag', points.map((p) => p.lag.validate), 'validate-lag'],
    ['aggregate lag', points.map((p) => p.lag.aggregate), 'aggregate-lag'],
    [
      'rejected/min (ingest + validate)',
      points.map((p) => p.rejected.ingest + p.rejected.validate),
      'rejected',
    ],
  ].map(([label, values, field]) => sparkline(label, values, field));
  document.getElementById('history').replaceChildren(...charts);
};

const renderCities = (status) => {
  const rows = status.rejections.byCity.map((city) =>
    el('tr', { 'data-city': city.cityCode }, [
      el('td', { text: city.cityCode === 'unknown' ? 'no city credential' : city.cityCode }),
      el('td', { class: 'num', 'data-field': 'ingest', text: number(city.byStage.ingest) }),
      el('td', { class: 'num', 'data-field': 'validate', text: number(city.byStage.validate) }),
      el('td', { class: 'num', text: number(city.inWindow) }),
      el('td', { text: city.byReason.map((r) => `${r.stage}:${r.reason} ${r.total}`).join(', ') }),
      el(
        'td',
        { class: 'ids' },
        city.examples.map((example) =>
          el('div', {
            'data-submission': example.submissionId,
            'data-stage': example.stage,
            title: `${example.reasons.join(', ')} · ${beijing(example.at)}`,
            text: `${example.submissionId} (${example.stage}: ${example.reasons.join(', ')})`,
          }),
        ),
      ),
    ]),
  );
  if (rows.length === 0) rows.push(el('tr', {}, [el('td', { colspan: '6', class: 'muted', text: 'none' })]));
  document.getElementById('rejections-by-city').replaceChildren(...rows);
};

const number = (value) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(value);

const renderStages = (status) => {
  const list = document.getElementById('stages');
  const items = [];
  status.stages.forEach((stage, index) => {
    if (index > 0) items.push(el('li', { class: 'arrow', 'aria-hidden': 'true', text: '→' }));
    const details = [
      el('dt', { text: 'in window' }),
      el('dd', { 'data-field': 'inWindow', text: number(stage.inWindow) }),
      el('dt', { text: 'reads' }),
      el('dd', { text: stage.consumes }),
      el('dt', { text: 'writes' }),
      el('dd', { text: stage.produces.join(', ') }),
    ];
    if (stage.lag !== undefined) {
      details.push(
        el('dt', { text: 'lag' }),
        el('dd', {
          'data-field': 'lag',
          class: stage.lag > 0 ? 'lag-warn' : 'lag-ok',
          text:
            `${number(stage.lag)} records` +
            (stage.lagByPartition.length > 0
              ? ` (${stage.lagByPartition.map((p) => `p${p.partition}: ${p.lag}`).join(', ')})`
              : ''),
        }),
      );
    }
    items.push(
      el(
        'li',
        { class: `stage health-${stage.health}`, 'data-stage': stage.name, 'data-health': stage.health },
        [
          el('h3', { text: `${stage.name} · ${stage.health}` }),
          el('div', { class: 'why', 'data-field': 'why', text: stage.why.join('; ') }),
          el('div', { class: 'rate', 'data-field': 'perMinute', text: number(stage.perMinute) }),
          el('div', { class: 'unit', text: 'records per minute' }),
          el('dl', {}, details),
        ],
      ),
    );
  });
  list.replaceChildren(...items);
};

const renderRejections = (status) => {
  const { rejections } = status;
  document.getElementById('rejections-summary').textContent =
    `${number(rejections.submissions)} submissions rejected in all, ${number(rejections.inWindow)} in the window` +
    (rejections.caughtUp ? '' : ' (still reading the rejection topic)');
  const rows = rejections.byReason.map((item) =>
    el('tr', { 'data-reason': item.reason, 'data-stage': item.stage }, [
      el('td', { text: item.stage }),
      el('td', { text: item.reason }),
      el('td', { class: 'num', text: number(item.total) }),
      el('td', { class: 'num', text: number(item.inWindow) }),
    ]),
  );
  if (rows.length === 0) rows.push(el('tr', {}, [el('td', { colspan: '4', class: 'muted', text: 'none' })]));
  document.getElementById('rejections').replaceChildren(...rows);
};

const renderServices = (status) => {
  const items = status.services.map((service) => {
    const figures = Object.entries(service.figures)
      .filter(([, value]) => value !== 0)
      .map(([name, value]) => `${name} ${number(value)}`)
      .join(' · ');
    return el('li', { 'data-service': service.name }, [
      el('span', { class: `badge ${service.up ? 'up' : 'down'}`, text: service.up ? 'up' : 'no data' }),
      el('strong', { text: service.name }),
      el('span', { class: 'muted', text: figures === '' ? '' : ` ${figures}` }),
    ]);
  });
  if (items.length === 0) items.push(el('li', { class: 'muted', text: 'no /metrics targets configured' }));
  document.getElementById('services').replaceChildren(...items);
  document
    .getElementById('problems')
    .replaceChildren(...status.problems.map((problem) => el('li', { text: problem })));
};

const renderProvinces = (status) => {
  const { completeness } = status;
  const source = completeness.source === 'completeness' ? 'reporting rate' : 'units reporting';
  document.getElementById('cycle').textContent =
    completeness.cycle === null
      ? '(no cycle opened yet)'
      : `current cycle ${completeness.cycle} (designated by the operators), ${source}`;
  const most = Math.max(1, ...completeness.provinces.map((p) => p.unitsReporting));
  const tiles = completeness.provinces.map((province) => {
    // Shade by the reporting rate when the lake knows who is expected, else by units relative to the most.
    const share = province.reportingRate !== null ? province.reportingRate : province.unitsReporting / most;
    const level = province.unitsReporting === 0 ? 0 : 0.15 + 0.85 * Math.min(1, share);
    const of = (reported, expected) =>
      expected === null ? number(reported) : `${number(reported)}/${number(expected)}`;
    const lines = [
      `${of(province.citiesReporting, province.citiesExpected)} cities`,
      `${of(province.unitsReporting, province.unitsExpected)} ${province.unitsExpected === null ? 'units' : 'communities'}`,
    ];
    if (province.reportingRateOnTime !== null)
      lines.push(`${Math.round(province.reportingRateOnTime * 100)}% on time`);
    return el(
      'div',
      {
        class: `tile${province.unitsReporting === 0 ? ' none' : ''}${level > 0.55 ? ' dark' : ''}`,
        style: `--level: ${level.toFixed(3)}`,
        'data-province': province.code,
        title: `${province.name} (${province.code}0000)`,
      },
      [
        el('div', { class: 'name', text: province.name }),
        el('div', { class: 'figures', 'data-field': 'units', text: lines.join(' · ') }),
      ],
    );
  });
  document.getElementById('provinces').replaceChildren(...tiles);
};

// /v1/status needs an operator credential (an analyst's shows the reporting only): opened as /status#token=cc_..., the page keeps it for the tab
// and removes it from the address bar.
const credential = () => {
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('citycheck-token', fromHash);
    history.replaceState(null, '', window.location.pathname);
  }
  return sessionStorage.getItem('citycheck-token');
};

const refresh = async () => {
  const meta = document.getElementById('meta');
  try {
    const token = credential();
    const response = await fetch('/v1/status', {
      cache: 'no-store',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (response.status === 401 || response.status === 403)
      throw new Error('open this page as /status#token=<your operator credential>');
    if (!response.ok) throw new Error(`status ${response.status}`);
    const status = await response.json();
    renderStages(status);
    renderRejections(status);
    renderCities(status);
    renderHistory(status);
    renderServices(status);
    renderProvinces(status);
    document.getElementById('window').textContent =
      `(rates over the last ${number(status.windowSeconds / 60)} min)`;
    meta.textContent = `updated ${beijing(status.generatedAt)} · refreshes every ${REFRESH_MS / 1000} s`;
    meta.dataset.generatedAt = status.generatedAt;
    document.body.dataset.loaded = 'true';
  } catch (error) {
    meta.textContent = `could not load the status (${error.message}); retrying`;
  } finally {
    setTimeout(() => void refresh(), REFRESH_MS);
  }
};

void refresh();
