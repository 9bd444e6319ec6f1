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
      el('li', { class: 'stage', 'data-stage': stage.name }, [
        el('h3', { text: stage.name }),
        el('div', { class: 'rate', 'data-field': 'perMinute', text: number(stage.perMinute) }),
        el('div', { class: 'unit', text: 'records per minute' }),
        el('dl', {}, details),
      ]),
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
    el('tr', { 'data-reason': item.reason }, [
      el('td', { text: item.reason }),
      el('td', { class: 'num', text: number(item.total) }),
      el('td', { class: 'num', text: number(item.inWindow) }),
    ]),
  );
  if (rows.length === 0) rows.push(el('tr', {}, [el('td', { colspan: '3', class: 'muted', text: 'none' })]));
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

// /v1/status needs an analyst credential: opened as /status#token=cc_..., the page keeps it for the tab
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
      throw new Error('open this page as /status#token=<your analyst credential>');
    if (!response.ok) throw new Error(`status ${response.status}`);
    const status = await response.json();
    renderStages(status);
    renderRejections(status);
    renderServices(status);
    renderProvinces(status);
    document.getElementById('window').textContent =
      `(rates over the last ${number(status.windowSeconds / 60)} min)`;
    meta.textContent = `updated ${new Date(status.generatedAt).toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
    document.body.dataset.loaded = 'true';
  } catch (error) {
    meta.textContent = `could not load the status (${error.message}); retrying`;
  } finally {
    setTimeout(() => void refresh(), REFRESH_MS);
  }
};

void refresh();
