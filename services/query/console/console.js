// The analysts' console: asks POST /v1/export (JSON, values scaled and rounded, local times) with SQL it
// builds from the pickers, so it sees exactly what the credential's SQL sees. No framework, no CDN.

(() => {
  const text = {
    zh: {
      title: '城市体检数据分析台',
      credential: '分析员凭证',
      signin: '登录',
      cycle: '周期',
      indicator: '指标',
      nation: '全国',
      area: '区划',
      value: '数值',
      reported: '已报',
      expected: '应报',
      coverage: '覆盖',
      freshness: '数据时间',
      unit: '单元',
      received: '接收时间',
      language: 'English',
      none: '没有数据',
    },
    en: {
      title: 'City check analysts\u2019 console',
      credential: 'Analyst credential',
      signin: 'Sign in',
      cycle: 'Cycle',
      indicator: 'Indicator',
      nation: 'Nation',
      area: 'Area',
      value: 'Value',
      reported: 'Reported',
      expected: 'Expected',
      coverage: 'Coverage',
      freshness: 'Derived at',
      unit: 'Unit',
      received: 'Received',
      language: '中文',
      none: 'No data',
    },
  };
  let language = localStorage.getItem('citycheck.language') === 'en' ? 'en' : 'zh';
  let token = sessionStorage.getItem('citycheck.token') ?? '';
  /** Where the table stands: province list, a province's cities, or a city's units. */
  let trail = [];
  let sortBy = { column: 0, descending: false };
  const $ = (id) => document.getElementById(id);
  const t = (key) => text[language][key] ?? key;

  const ask = async (sql) => {
    const response = await fetch('/v1/export', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql, format: 'json', language }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message ?? response.statusText);
    return body;
  };
  const code = (value, pattern) => {
    if (!pattern.test(String(value))) throw new Error(`unexpected code ${value}`);
    return String(value);
  };

  const applyLanguage = () => {
    document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    $('language').textContent = t('language');
  };

  const render = (rows, columns, drill) => {
    const thead = $('figures').querySelector('thead');
    const tbody = $('figures').querySelector('tbody');
    thead.innerHTML = '';
    tbody.innerHTML = '';
    const head = document.createElement('tr');
    columns.forEach((column, index) => {
      const th = document.createElement('th');
      th.textContent = column.label;
      th.dataset.column = column.key;
      th.addEventListener('click', () => {
        sortBy = { column: index, descending: sortBy.column === index ? !sortBy.descending : false };
        render(rows, columns, drill);
      });
      head.append(th);
    });
    thead.append(head);
    const sorted = [...rows].sort((a, b) => {
      const x = a[sortBy.column];
      const y = b[sortBy.column];
      const order = x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
      return sortBy.descending ? -order : order;
    });
    for (const row of sorted) {
      const tr = document.createElement('tr');
      tr.dataset.area = row[0];
      tr.dataset.value = row[1] === null ? '' : String(row[1]);
      if (drill !== undefined) {
        tr.dataset.drill = 'true';
        tr.addEventListener('click', () => void drill(row[0]));
      }
      columns.forEach((column, index) => {
        const td = document.createElement('td');
        const cell = row[index];
        td.textContent = cell === null ? '—' : String(cell);
        td.dataset.field = column.key;
        if (typeof cell === 'number') td.className = 'number';
        tr.append(td);
      });
      tbody.append(tr);
    }
    $('message').textContent = rows.length === 0 ? t('none') : '';
  };

  const areaColumns = () => [
    { key: 'area', label: t('area') },
    { key: 'value', label: t('value') },
    { key: 'reported', label: t('reported') },
    { key: 'expected', label: t('expected') },
    { key: 'coverage', label: t('coverage') },
    { key: 'freshness', label: t('freshness') },
  ];
  const withCoverage = (rows) =>
    rows.map(([area, value, reported, expected, freshness]) => [
      area,
      value,
      reported,
      expected,
      expected === null ? `${reported}/—` : `${reported}/${expected}`,
      freshness,
    ]);

  const showTrail = () => {
    const nav = $('trail');
    nav.innerHTML = '';
    const steps = [{ label: t('nation'), level: 'province' }, ...trail];
    steps.forEach((step, index) => {
      const link = document.createElement('a');
      link.textContent = step.label;
      link.dataset.level = step.level;
      link.addEventListener('click', () => {
        trail = trail.slice(0, index);
        void load();
      });
      nav.append(link);
    });
  };

  const load = async () => {
    document.body.dataset.loaded = 'false';
    showTrail();
    const cycle = Number($('cycle').value);
    const indicator = code($('indicator').value, /^[A-Z][0-9]{2}$/);
    const where = `cycle = ${cycle} AND indicator_code = '${indicator}'`;
    const last = trail.at(-1);
    try {
      if (last === undefined) {
        const answer = await ask(
          `SELECT area_code, value, units_reported, units_expected, derived_at, indicator_code, catalogue_version FROM rollups WHERE ${where} AND level = 'province' ORDER BY area_code`,
        );
        $('figures').dataset.level = 'province';
        render(withCoverage(answer.rows), areaColumns(), async (province) => {
          trail = [{ label: province, level: 'city', province: code(province, /^[0-9]{6}$/) }];
          await load();
        });
      } else if (last.level === 'city') {
        const answer = await ask(
          `SELECT area_code, value, units_reported, units_expected, derived_at, indicator_code, catalogue_version FROM rollups WHERE ${where} AND level = 'city' AND province_code = '${last.province}' ORDER BY area_code`,
        );
        $('figures').dataset.level = 'city';
        render(withCoverage(answer.rows), areaColumns(), async (city) => {
          trail = [...trail, { label: city, level: 'unit', city: code(city, /^[0-9]{6}$/) }];
          await load();
        });
      } else {
        const answer = await ask(
          `SELECT unit_code, value, unit_level, received_at, indicator_code, catalogue_version FROM observations_current WHERE ${where} AND city_code = '${last.city}' ORDER BY unit_code`,
        );
        $('figures').dataset.level = 'unit';
        render(
          answer.rows.map(([unit, value, level, received]) => [unit, value, level, received]),
          [
            { key: 'unit', label: t('unit') },
            { key: 'value', label: t('value') },
            { key: 'level', label: t('area') },
            { key: 'received', label: t('received') },
          ],
          undefined,
        );
      }
    } catch (error) {
      $('message').textContent = error.message;
    }
    document.body.dataset.loaded = 'true';
  };

  const fill = (select, values) => {
    const previous = select.value;
    select.innerHTML = '';
    for (const value of values) {
      const option = document.createElement('option');
      option.value = String(value);
      option.textContent = String(value);
      select.append(option);
    }
    if (values.map(String).includes(previous)) select.value = previous;
  };

  const loadIndicators = async () => {
    const cycle = Number($('cycle').value);
    const answer = await ask(`SELECT DISTINCT indicator_code FROM rollups WHERE cycle = ${cycle} ORDER BY 1`);
    fill(
      $('indicator'),
      answer.rows.map((row) => row[0]),
    );
  };

  const start = async () => {
    try {
      const cycles = await ask('SELECT DISTINCT cycle FROM rollups ORDER BY cycle DESC');
      $('signin').hidden = true;
      $('workspace').hidden = false;
      fill(
        $('cycle'),
        cycles.rows.map((row) => row[0]),
      );
      await loadIndicators();
      trail = [];
      await load();
    } catch (error) {
      $('message').textContent = error.message;
      $('workspace').hidden = false;
      document.body.dataset.loaded = 'true';
    }
  };

  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('citycheck.token', token);
    void start();
  });
  $('cycle').addEventListener('change', async () => {
    await loadIndicators();
    trail = [];
    await load();
  });
  $('indicator').addEventListener('change', () => {
    trail = [];
    void load();
  });
  $('language').addEventListener('click', () => {
    language = language === 'zh' ? 'en' : 'zh';
    localStorage.setItem('citycheck.language', language);
    applyLanguage();
    if (!$('workspace').hidden) void load();
  });
  applyLanguage();
  if (token !== '') void start();
})();
