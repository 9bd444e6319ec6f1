// The analysts' console: asks POST /v1/export (JSON, values scaled and rounded, local times) with SQL it
// builds from the pickers, so it sees exactly what the credential's SQL sees; every table's export buttons
// send the same SQL back as XLSX or CSV. The map is Apache ECharts over the province shapes the service
// serves (console/china-provinces.geojson). No framework, no CDN.

(() => {
  const text = {
    zh: {
      title: '城市体检数据分析台',
      credential: '分析员凭证',
      signin: '登录',
      cycle: '周期',
      indicator: '指标',
      colourBy: '地图着色',
      byValue: '指标数值',
      byRate: '报送率',
      tabExplore: '地图与下钻',
      tabRanking: '排名',
      tabTrend: '年度趋势',
      tabLedger: '问题台账',
      tabFlags: '质量标记',
      tabCompleteness: '报送完整性',
      tabRectification: '整改',
      byRectification: '整改率',
      rectificationItems: '整改事项（点击上表中的地区筛选）',
      rectificationItemsOf: '整改事项：',
      overdueOnly: '逾期未整改',
      contradictedOnly: '下期数据否定整改',
      // The rectification states' names are the service's (stateNames below).
      rectificationTrail: '整改记录（点击上表中的事项）',
      rectificationTrailOf: '整改记录：',
      showUnit: '在地图与下钻中查看：',
      rectificationRate: '整改率(%)',
      nation: '全国',
      area: '区划',
      name: '名称',
      value: '数值',
      reported: '已报',
      expected: '应报',
      coverage: '覆盖',
      rate: '报送率(%)',
      freshness: '数据时间',
      unit: '单元',
      level: '层级',
      received: '接收时间',
      language: 'English',
      none: '没有数据',
      show: '显示',
      status: '状态',
      any: '全部',
      statusNew: '新发现',
      statusPersisting: '持续存在',
      statusResolved: '已解决',
      flag: '标记',
      flagNational: '全国离群值',
      flagProvincial: '省内离群值',
      flagJump: '同比突变',
      flagDisagree: '城市与单元不一致',
      cityCode: '城市代码',
      allIndicators: '全部指标',
      missingOnly: '仅未报送',
      missingUnits: '未报送的社区（点击上表中的城市）',
      missingUnitsOf: '未报送的社区：',
      levelProvince: '省',
      levelCity: '市',
      levelDistrict: '区县',
      levelStreet: '街道',
      noCityGeometry: '本分析台未随附城市边界数据，城市以下以表格显示。',
      rank: '排名',
      unitOf: '单位',
      direction: '方向',
      higherIsBetter: '越高越好',
      lowerIsBetter: '越低越好',
      standard: '标准',
      noStandard: '无标准',
      trendOf: '趋势：',
      high: '高',
      low: '低',
      exportFailed: '导出失败：',
    },
    en: {
      title: 'City check analysts\u2019 console',
      credential: 'Analyst credential',
      signin: 'Sign in',
      cycle: 'Cycle',
      indicator: 'Indicator',
      colourBy: 'Map colour',
      byValue: 'Indicator value',
      byRate: 'Reporting rate',
      tabExplore: 'Map and drill-down',
      tabRanking: 'Ranking',
      tabTrend: 'Trend',
      tabLedger: 'Shortfall ledger',
      tabFlags: 'Quality flags',
      tabCompleteness: 'Completeness',
      tabRectification: 'Rectification',
      byRectification: 'Rectification rate',
      rectificationItems: 'Ledger items (click an area above to filter)',
      rectificationItemsOf: 'Ledger items: ',
      overdueOnly: 'overdue',
      contradictedOnly: 'contradicted by the next cycle',
      stateIdentified: 'identified',
      statePlanned: 'planned',
      stateInProgress: 'in progress',
      stateRectified: 'rectified',
      stateConsolidated: 'consolidated',
      stateReopened: 'reopened',
      rectificationTrail: 'Actions (click an item above)',
      rectificationTrailOf: 'Actions: ',
      showUnit: 'Show in the map and drill-down: ',
      rectificationRate: 'Rectification rate (%)',
      nation: 'Nation',
      area: 'Area',
      name: 'Name',
      value: 'Value',
      reported: 'Reported',
      expected: 'Expected',
      coverage: 'Coverage',
      rate: 'Reporting rate (%)',
      freshness: 'Derived at',
      unit: 'Unit',
      level: 'Level',
      received: 'Received',
      language: '中文',
      none: 'No data',
      show: 'Show',
      status: 'Status',
      any: 'All',
      statusNew: 'new',
      statusPersisting: 'persisting',
      statusResolved: 'resolved',
      flag: 'Flag',
      flagNational: 'national outlier',
      flagProvincial: 'provincial outlier',
      flagJump: 'year-over-year jump',
      flagDisagree: 'city and units disagree',
      cityCode: 'City code',
      allIndicators: 'All indicators',
      missingOnly: 'Not reported only',
      missingUnits: 'Communities not reported (click a city above)',
      missingUnitsOf: 'Communities not reported: ',
      levelProvince: 'Province',
      levelCity: 'City',
      levelDistrict: 'District',
      levelStreet: 'Street',
      noCityGeometry:
        'City boundaries are not shipped with the console: below a province the figures are tables.',
      rank: 'Rank',
      unitOf: 'Unit',
      direction: 'Direction',
      higherIsBetter: 'higher is better',
      lowerIsBetter: 'lower is better',
      standard: 'Standard',
      noStandard: 'no standard',
      trendOf: 'Trend: ',
      high: 'high',
      low: 'low',
      exportFailed: 'Export failed: ',
    },
  };
  let language = localStorage.getItem('citycheck.language') === 'en' ? 'en' : 'zh';
  let token = sessionStorage.getItem('citycheck.token') ?? '';
  /** Where the explore tab stands: the nation's provinces, a province's cities, or a city's units. */
  let trail = [];
  let tab = 'explore';
  /** code -> indicator row of the catalogue (name, unit, direction, standard), for the chosen cycle. */
  let indicators = new Map();
  /** Province code -> name, from the shapes. */
  const provinceNames = new Map();
  let map;
  let trendChart;
  const $ = (id) => document.getElementById(id);
  const t = (key) => text[language][key] ?? key;
  /**
   * The Chinese names of the stored review and rectification states, embedded into the page by the service
   * from the packages that define them; English shows the stored value.
   */
  const stateNames = JSON.parse($('state-names')?.textContent || '{"review":{},"rectification":{}}');
  const shownState = (kind, value) => (language === 'zh' ? (stateNames[kind][value] ?? value) : value);
  /** The columns holding a stored state, and whose states they are. */
  const stateColumns = { state: 'rectification', review_state: 'review' };

  const post = (body) =>
    fetch('/v1/export', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, language }),
    });
  /** One SELECT, answered as { columns: [{ name, header, rendering }], rows }. */
  const ask = async (sql) => {
    const response = await post({ sql, format: 'json' });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message ?? response.statusText);
    return body;
  };
  /** Rows of an answer as objects keyed by column name. */
  const records = (answer) =>
    answer.rows.map((row) =>
      Object.fromEntries(answer.columns.map((column, index) => [column.name, row[index]])),
    );
  const code = (value, pattern) => {
    if (!pattern.test(String(value))) throw new Error(`unexpected code ${value}`);
    return String(value);
  };
  const indicatorCode = () => code($('indicator').value, /^[A-Z][0-9]{2}$/);
  const cycleNumber = () => Number(code($('cycle').value, /^[0-9]{4}$/));

  /**
   * Makes the parts every panel repeats from the markup's data attributes: a tab button per panel (its
   * data-title), a table per table-block, and the level pickers, city filters and indicator switches.
   */
  const buildPage = () => {
    const element = (tag, attributes = {}, children = []) => {
      const node = document.createElement(tag);
      for (const [name, value] of Object.entries(attributes))
        if (value !== false) node.setAttribute(name, value === true ? '' : value);
      node.append(...children);
      return node;
    };
    const caption = (key) => element('span', { 'data-i18n': key });
    for (const panel of document.querySelectorAll('section.tab'))
      $('tabs').append(
        element('button', {
          type: 'button',
          'data-tab': panel.dataset.panel,
          'data-i18n': panel.dataset.title,
          'aria-pressed': String(panel.dataset.panel === tab),
        }),
      );
    for (const block of document.querySelectorAll('.table-block'))
      block.append(element('table', { id: block.dataset.table }, [element('thead'), element('tbody')]));
    /** The labelled control a placeholder stands for. */
    const labelled = (holder, children) => holder.replaceWith(element('label', {}, children));
    for (const holder of document.querySelectorAll('[data-levels]')) {
      const levels = holder.dataset.choices.split(' ');
      const options = levels.map((level) =>
        element('option', {
          value: level,
          'data-i18n': `level${level[0].toUpperCase()}${level.slice(1)}`,
          selected: level === holder.dataset.selected,
        }),
      );
      labelled(holder, [caption('level'), ' ', element('select', { id: holder.dataset.levels }, options)]);
    }
    for (const holder of document.querySelectorAll('[data-city-filter]'))
      labelled(holder, [
        caption('cityCode'),
        ' ',
        element('input', { id: holder.dataset.cityFilter, size: '8', placeholder: '440100' }),
      ]);
    for (const holder of document.querySelectorAll('[data-indicator-switch]'))
      labelled(holder, [
        element('input', {
          id: holder.dataset.indicatorSwitch,
          type: 'checkbox',
          checked: holder.dataset.checked !== undefined,
        }),
        ' ',
        caption('allIndicators'),
      ]);
  };

  const applyLanguage = () => {
    document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    if (language === 'zh')
      for (const option of $('rectification-state').options)
        if (option.value !== '') option.textContent = shownState('rectification', option.value);
    $('language').textContent = t('language');
  };

  // Tables ---------------------------------------------------------------------------------------------

  /** Column names shown in English, and the few the server has no Chinese header for. */
  const headerOf = (column) => {
    // Units reported of expected, as text (the server's header for coverage is a percentage's).
    if (column.name === 'coverage') return t('coverage');
    if (language === 'en') return column.name.replaceAll('_', ' ');
    return column.header;
  };
  const hiddenColumns = new Set(['catalogue_version']);
  const sortState = new Map();

  /**
   * Shows an answer in table `id`, sortable by any header, with export buttons that send `sql` again as
   * XLSX or CSV. `rowData(record)` gives the row's data-* attributes; `drill(record)` makes rows clickable.
   */
  const showTable = (id, answer, { sql, filename, rowData = () => ({}), drill } = {}) => {
    const table = $(id);
    const columns = answer.columns
      .map((column, index) => ({ ...column, index }))
      .filter((column) => !hiddenColumns.has(column.name));
    const sort = sortState.get(id) ?? { column: -1, descending: false };
    const thead = table.querySelector('thead');
    const tbody = table.querySelector('tbody');
    thead.innerHTML = '';
    tbody.innerHTML = '';
    const head = document.createElement('tr');
    for (const column of columns) {
      const th = document.createElement('th');
      th.textContent = headerOf(column);
      th.dataset.column = column.name;
      th.addEventListener('click', () => {
        sortState.set(id, {
          column: column.index,
          descending: sort.column === column.index ? !sort.descending : false,
        });
        showTable(id, answer, { sql, filename, rowData, drill });
      });
      head.append(th);
    }
    thead.append(head);
    const rows = [...answer.rows];
    if (sort.column >= 0)
      rows.sort((a, b) => {
        const x = a[sort.column];
        const y = b[sort.column];
        const order = x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
        return sort.descending ? -order : order;
      });
    for (const row of rows) {
      const record = Object.fromEntries(answer.columns.map((column, index) => [column.name, row[index]]));
      const tr = document.createElement('tr');
      for (const [key, value] of Object.entries(rowData(record))) tr.dataset[key] = value;
      if (drill !== undefined) {
        tr.dataset.drill = 'true';
        tr.addEventListener('click', () => void drill(record));
      }
      for (const column of columns) {
        const td = document.createElement('td');
        const cell = row[column.index];
        td.textContent =
          cell === null
            ? '—'
            : typeof cell === 'boolean'
              ? cell
                ? '是'
                : '否'
              : column.name in stateColumns
                ? shownState(stateColumns[column.name], cell)
                : String(cell);
        td.dataset.field = column.name;
        if (typeof cell === 'number') td.className = 'number';
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.dataset.rows = String(rows.length);
    attachExport(id, sql, filename);
  };

  /** The XLSX and CSV buttons of a table: POST /v1/export with the table's SQL, saved as a download. */
  const attachExport = (id, sql, filename) => {
    const block = document.querySelector(`.table-block[data-table="${id}"]`);
    if (block === null || sql === undefined) return;
    let toolbar = block.querySelector('.toolbar');
    if (toolbar === null) {
      toolbar = document.createElement('div');
      toolbar.className = 'toolbar';
      for (const format of ['xlsx', 'csv']) {
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.export = format;
        button.textContent = format.toUpperCase();
        button.addEventListener(
          'click',
          () => void download(block.dataset.sql, format, block.dataset.filename),
        );
        toolbar.append(button);
      }
      block.prepend(toolbar);
    }
    block.dataset.sql = sql;
    block.dataset.filename = filename;
  };
  const download = async (sql, format, filename) => {
    try {
      const response = await post({ sql, format, filename });
      if (!response.ok) throw new Error((await response.json()).error?.message ?? response.statusText);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await response.blob());
      link.download = `${filename}.${format}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (error) {
      $('message').textContent = t('exportFailed') + error.message;
    }
  };
  const fileLabel = (what) => `${what}-${cycleNumber()}-${indicatorCode()}`;

  // The map ---------------------------------------------------------------------------------------------

  const loadShapes = async () => {
    const response = await fetch('/console/china-provinces.geojson');
    const shapes = await response.json();
    for (const feature of shapes.features)
      provinceNames.set(feature.properties.code, feature.properties.name);
    echarts.registerMap('china-provinces', shapes);
    map = echarts.init($('map'), null, { renderer: 'canvas' });
    // Says when the map is drawn (and may be clicked), for tests.
    map.on('finished', () => {
      document.body.dataset.map = 'drawn';
    });
    map.on('click', (event) => {
      if (event.data !== undefined && event.data.value !== null) void drillProvince(event.name);
    });
  };

  /** Worse is darker red, better is green: the palette follows the indicator's direction. */
  const palette = (higherIsBetter) =>
    higherIsBetter ? ['#d73027', '#fee08b', '#1a9850'] : ['#1a9850', '#fee08b', '#d73027'];

  const drawMap = (rows) => {
    const colourBy = $('colour-by').value;
    const byRate = colourBy !== 'value';
    const indicator = indicators.get(indicatorCode());
    const column = { value: 'value', rate: 'reporting_rate', rectification: 'rectification_rate' }[colourBy];
    const data = rows.map((row) => ({ name: row.area_code, value: row[column] }));
    const values = data.map((item) => item.value).filter((value) => typeof value === 'number');
    const higherIsBetter = byRate || indicator?.direction === 'higherIsBetter';
    const low = values.length === 0 ? 0 : Math.min(...values);
    const high = values.length === 0 ? 0 : Math.max(...values);
    const unit = byRate ? '%' : (indicator?.unit ?? '');
    document.body.dataset.map = 'drawing';
    map.setOption(
      {
        animation: false,
        tooltip: {
          trigger: 'item',
          formatter: (item) =>
            `${provinceNames.get(item.name) ?? item.name}<br>${
              typeof item.value === 'number' ? `${item.value} ${unit}` : t('none')
            }`,
        },
        visualMap: {
          type: 'continuous',
          // One value (a provincial analyst's own province) is drawn mid-scale: it is compared with nothing.
          min: low === high ? low - 1 : low,
          max: low === high ? high + 1 : high,
          precision: 1,
          text: [t('high'), t('low')],
          calculable: true,
          left: 10,
          bottom: 10,
          inRange: { color: palette(higherIsBetter) },
        },
        series: [
          {
            id: 'provinces',
            type: 'map',
            map: 'china-provinces',
            nameProperty: 'code',
            roam: true,
            zoom: 1.15,
            center: [105, 36],
            selectedMode: false,
            itemStyle: { areaColor: '#e4e7eb', borderColor: '#616e7c', borderWidth: 0.5 },
            emphasis: {
              label: { show: true, formatter: (item) => provinceNames.get(item.name) ?? item.name },
            },
            data,
          },
        ],
      },
      { notMerge: true },
    );
    const tbody = $('map-values').querySelector('tbody');
    $('map-values').querySelector('thead').innerHTML =
      `<tr><th>${t('area')}</th><th>${{ value: t('value'), rate: t('rate'), rectification: t('rectificationRate') }[colourBy]}</th></tr>`;
    tbody.innerHTML = '';
    for (const item of [...data].sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity))) {
      const tr = document.createElement('tr');
      tr.dataset.province = item.name;
      tr.dataset.value = item.value === null ? '' : String(item.value);
      const name = document.createElement('td');
      name.textContent = provinceNames.get(item.name) ?? item.name;
      const value = document.createElement('td');
      value.className = 'number';
      value.textContent = item.value === null ? '—' : String(item.value);
      tr.append(name, value);
      tr.addEventListener('click', () => void drillProvince(item.name));
      tbody.append(tr);
    }
  };

  // The explore tab: nation -> province -> city -> units -------------------------------------------------

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

  const areaRows = (record) => ({
    area: record.area_code,
    value: record.value === null ? '' : String(record.value),
  });
  /** A level's rollups with their names, coverage, reporting and rectification rates, for the chosen cycle and indicator. */
  const rollupSql = (
    level,
    where,
  ) => `SELECT r.area_code, d.name, r.value, r.units_reported, r.units_expected,
  CAST(r.units_reported AS VARCHAR) || '/' || coalesce(CAST(r.units_expected AS VARCHAR), '—') AS coverage,
  c.reporting_rate, q.rectification_rate, r.derived_at, r.indicator_code, r.catalogue_version
FROM rollups r LEFT JOIN divisions d ON d.code = r.area_code
  LEFT JOIN completeness c ON c.cycle = r.cycle AND c.level = r.level AND c.area_code = r.area_code
  LEFT JOIN rectification_rates q ON q.cycle = r.cycle AND q.level = r.level AND q.area_code = r.area_code
WHERE r.cycle = ${cycleNumber()} AND r.indicator_code = '${indicatorCode()}' AND r.level = '${level}'${where}
ORDER BY r.area_code`;

  const drillProvince = async (province) => {
    tab = 'explore';
    showTab();
    trail = [
      {
        label: provinceNames.get(province) ?? province,
        level: 'city',
        province: code(province, /^[0-9]{2}0000$/),
      },
    ];
    await load();
  };
  const drillCity = async (record) => {
    trail = [
      ...trail,
      { label: record.name ?? record.area_code, level: 'unit', city: code(record.area_code, /^[0-9]{6}$/) },
    ];
    await load();
  };

  const loadExplore = async () => {
    showTrail();
    const last = trail.at(-1);
    $('map-area').hidden = last !== undefined;
    $('map-note').hidden = last === undefined;
    if (last === undefined) {
      const sql = rollupSql('province', '');
      const answer = await ask(sql);
      $('figures').dataset.level = 'province';
      showTable('figures', answer, {
        sql,
        filename: fileLabel('provinces'),
        rowData: areaRows,
        drill: (record) => drillProvince(record.area_code),
      });
      drawMap(records(answer));
    } else if (last.level === 'city') {
      const sql = rollupSql('city', ` AND r.province_code = '${last.province}'`);
      const answer = await ask(sql);
      $('figures').dataset.level = 'city';
      showTable('figures', answer, {
        sql,
        filename: fileLabel(`cities-${last.province}`),
        rowData: areaRows,
        drill: drillCity,
      });
    } else {
      const sql = `SELECT o.unit_code, d.name, o.value, o.meets, o.unit_level, o.district_code, o.street_code, o.received_at,
  o.indicator_code, o.catalogue_version
FROM observations_current o LEFT JOIN divisions d ON d.code = o.unit_code
WHERE o.cycle = ${cycleNumber()} AND o.indicator_code = '${indicatorCode()}' AND o.city_code = '${last.city}'
ORDER BY o.unit_code`;
      const answer = await ask(sql);
      $('figures').dataset.level = 'unit';
      showTable('figures', answer, {
        sql,
        filename: fileLabel(`units-${last.city}`),
        rowData: (record) => ({
          area: record.unit_code,
          value: record.value === null ? '' : String(record.value),
          meets: record.meets === null ? '' : String(record.meets),
        }),
      });
    }
    if ($('figures').dataset.rows === '0') $('message').textContent = t('none');
  };

  // Ranking, trend, ledger, flags, completeness ------------------------------------------------------------

  const loadRanking = async () => {
    const level = code($('ranking-level').value, /^(province|city|district|street)$/);
    const limit = Number(code($('ranking-limit').value, /^[0-9]{1,3}$/));
    const better = indicators.get(indicatorCode())?.direction === 'higherIsBetter' ? 'DESC' : 'ASC';
    const sql = `SELECT rank() OVER (ORDER BY r.value ${better}) AS rank, r.area_code, d.name, r.value,
  r.units_reported, r.units_expected, r.previous_value, r.change, r.indicator_code, r.catalogue_version
FROM rollups r LEFT JOIN divisions d ON d.code = r.area_code
WHERE r.cycle = ${cycleNumber()} AND r.indicator_code = '${indicatorCode()}' AND r.level = '${level}' AND r.value IS NOT NULL
ORDER BY rank, r.area_code LIMIT ${limit}`;
    showTable('ranking', await ask(sql), {
      sql,
      filename: fileLabel(`ranking-${level}`),
      rowData: areaRows,
    });
  };

  /** The trend follows the explore tab: the provinces of the nation, a province's cities, a city's districts. */
  const loadTrend = async () => {
    const last = trail.at(-1);
    const [level, where, label] =
      last === undefined
        ? ['province', '', t('nation')]
        : last.level === 'city'
          ? ['city', ` AND r.province_code = '${last.province}'`, last.label]
          : ['district', ` AND r.area_code LIKE '${last.city.slice(0, 4)}%'`, last.label];
    $('trend-scope').textContent = `${t('trendOf')}${label}`;
    const sql = `SELECT r.area_code, d.name, r.cycle, r.value, r.previous_value, r.change, r.units_reported,
  r.indicator_code, r.catalogue_version
FROM rollups r LEFT JOIN divisions d ON d.code = r.area_code
WHERE r.indicator_code = '${indicatorCode()}' AND r.level = '${level}'${where}
ORDER BY r.area_code, r.cycle`;
    const answer = await ask(sql);
    showTable('trend', answer, {
      sql,
      filename: `trend-${level}-${indicatorCode()}`,
      rowData: (record) => ({
        area: record.area_code,
        cycle: String(record.cycle),
        value: String(record.value),
      }),
    });
    const rows = records(answer);
    const cycles = [...new Set(rows.map((row) => row.cycle))].sort((a, b) => a - b);
    const areas = [...new Set(rows.map((row) => row.area_code))].slice(0, 12);
    trendChart ??= echarts.init($('trend-chart'));
    trendChart.setOption(
      {
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', top: 0 },
        grid: { top: 40, left: 60, right: 20, bottom: 30 },
        xAxis: { type: 'category', data: cycles.map(String) },
        yAxis: { type: 'value', name: indicators.get(indicatorCode())?.unit ?? '' },
        series: areas.map((area) => ({
          id: area,
          name: rows.find((row) => row.area_code === area)?.name ?? area,
          type: 'line',
          connectNulls: false,
          data: cycles.map(
            (cycle) => rows.find((row) => row.area_code === area && row.cycle === cycle)?.value ?? null,
          ),
        })),
      },
      { notMerge: true },
    );
  };

  const cityFilter = (id, column) => {
    const value = $(id).value.trim();
    return value === '' ? '' : ` AND ${column} = '${code(value, /^[0-9]{6}$/)}'`;
  };

  const loadLedger = async () => {
    const status = code($('ledger-status').value, /^(|new|persisting|resolved)$/);
    const indicator = $('ledger-all-indicators').checked
      ? ''
      : ` AND l.indicator_code = '${indicatorCode()}'`;
    const sql = `SELECT l.city_code, l.unit_code, d.name, l.unit_level, l.indicator_code, l.value, l.standard_operator,
  l.standard_value, l.gap, l.since_cycle, l.status, l.cycle
FROM shortfall_ledger l LEFT JOIN divisions d ON d.code = l.unit_code
WHERE l.cycle = ${cycleNumber()}${indicator}${status === '' ? '' : ` AND l.status = '${status}'`}${cityFilter('ledger-city', 'l.city_code')}
ORDER BY l.gap DESC NULLS LAST, l.unit_code LIMIT 2000`;
    showTable('ledger', await ask(sql), {
      sql,
      filename: `ledger-${cycleNumber()}`,
      rowData: (record) => ({ unit: record.unit_code, status: record.status }),
    });
  };

  const loadFlags = async () => {
    const flag = code(
      $('flags-flag').value,
      /^(|national_outlier|provincial_outlier|year_over_year_jump|city_units_disagree)$/,
    );
    const indicator = $('flags-all-indicators').checked ? '' : ` AND f.indicator_code = '${indicatorCode()}'`;
    const sql = `SELECT f.city_code, f.unit_code, d.name, f.unit_level, f.indicator_code, f.flag, f.value, f.reference,
  f.score, f.submission_id, f.cycle
FROM quality_flags f LEFT JOIN divisions d ON d.code = f.unit_code
WHERE f.cycle = ${cycleNumber()}${indicator}${flag === '' ? '' : ` AND f.flag = '${flag}'`}${cityFilter('flags-city', 'f.city_code')}
ORDER BY abs(f.score) DESC NULLS LAST, f.unit_code LIMIT 2000`;
    showTable('flags', await ask(sql), {
      sql,
      filename: `flags-${cycleNumber()}`,
      rowData: (record) => ({ unit: record.unit_code, flag: record.flag }),
    });
  };

  const loadCompleteness = async () => {
    const level = code($('completeness-level').value, /^(province|city)$/);
    const missing = $('completeness-missing').checked ? ' AND c.cities_reported = 0' : '';
    const sql = `SELECT c.area_code, d.name, c.cities_expected, c.cities_reported, c.cities_on_time, c.reporting_rate,
  c.reporting_rate_on_time, c.communities_expected, c.communities_reported, c.communities_on_time,
  c.review_state, c.cities_approved, c.cities_accepted, c.last_received_at, c.derived_at
FROM completeness c LEFT JOIN divisions d ON d.code = c.area_code
WHERE c.cycle = ${cycleNumber()} AND c.level = '${level}'${missing}
ORDER BY c.reporting_rate NULLS FIRST, c.area_code`;
    showTable('completeness', await ask(sql), {
      sql,
      filename: `completeness-${level}-${cycleNumber()}`,
      rowData: (record) => ({
        area: record.area_code,
        reported: String(record.cities_reported),
        communitiesReported: String(record.communities_reported),
      }),
      drill: level === 'city' ? (record) => loadMissingUnits(record) : undefined,
    });
  };

  /** The area (a province or a city of the rates table) the rectification items are filtered to, if any. */
  let rectificationArea;

  /** Rectification rates per province or city, and the ledger items below them, for the chosen cycle. */
  const loadRectification = async () => {
    const level = code($('rectification-level').value, /^(province|city)$/);
    const ratesSql = `SELECT q.area_code, d.name, q.items, q.identified, q.planned, q.in_progress, q.rectified,
  q.consolidated, q.reopened, q.overdue, q.rectification_rate, q.cycle
FROM rectification_rates q LEFT JOIN divisions d ON d.code = q.area_code
WHERE q.cycle = ${cycleNumber()} AND q.level = '${level}'
ORDER BY q.rectification_rate, q.area_code`;
    showTable('rectification-rates', await ask(ratesSql), {
      sql: ratesSql,
      filename: `rectification-rates-${level}-${cycleNumber()}`,
      rowData: (record) => ({
        area: record.area_code,
        rate: record.rectification_rate === null ? '' : String(record.rectification_rate),
        overdue: String(record.overdue),
        reopened: String(record.reopened),
      }),
      drill: (record) => {
        rectificationArea = { level, code: code(record.area_code, /^[0-9]{6}$/), name: record.name };
        return load();
      },
    });
    if (rectificationArea !== undefined && rectificationArea.level !== level) rectificationArea = undefined;
    $('rectification-items-title').textContent =
      rectificationArea === undefined
        ? t('rectificationItems')
        : `${t('rectificationItemsOf')}${rectificationArea.name ?? rectificationArea.code}`;
    const show = code($('rectification-show').value, /^(|overdue|contradicted)$/);
    const state = code(
      $('rectification-state').value,
      /^(|identified|planned|in_progress|rectified|consolidated|reopened)$/,
    );
    const where = [
      `x.cycle = ${cycleNumber()} AND x.on_ledger`,
      show === '' ? undefined : `x.${show}`,
      state === '' ? undefined : `x.state = '${state}'`,
      $('rectification-all-indicators').checked ? undefined : `x.indicator_code = '${indicatorCode()}'`,
      rectificationArea === undefined ? undefined : `x.${level}_code = '${rectificationArea.code}'`,
    ].filter((part) => part !== undefined);
    const itemsSql = `SELECT x.city_code, c.name AS city_name, x.unit_code, d.name, x.unit_level, x.indicator_code,
  x.state, x.overdue, x.contradicted, x.plan_measure, x.plan_department, x.plan_target_date, x.evidence_count,
  x.value, x.next_cycle_value, x.reopened_by_cycle, x.last_action, x.last_action_at, x.verified_by, x.cycle
FROM rectification x LEFT JOIN divisions d ON d.code = x.unit_code LEFT JOIN divisions c ON c.code = x.city_code
WHERE ${where.join(' AND ')}${cityFilter('rectification-city', 'x.city_code')}
ORDER BY x.contradicted DESC, x.overdue DESC, x.city_code, x.unit_code, x.indicator_code LIMIT 2000`;
    showTable('rectification-items', await ask(itemsSql), {
      sql: itemsSql,
      filename: `rectification-items-${cycleNumber()}`,
      rowData: (record) => ({
        item: `${record.unit_code}-${record.indicator_code}`,
        state: record.state,
        overdue: String(record.overdue),
        contradicted: String(record.contradicted),
      }),
      drill: loadRectificationTrail,
    });
  };

  /** One item's actions (its plan, progress, evidence, verification, returns), and the way to its unit. */
  const loadRectificationTrail = async (record) => {
    const unit = code(record.unit_code, /^[0-9]{6,15}$/);
    const indicator = code(record.indicator_code, /^[A-Z][0-9]{2}$/);
    const level = code(record.unit_level, /^[a-z]+$/);
    const label = `${record.name ?? unit} · ${indicator}`;
    $('rectification-trail-title').textContent = `${t('rectificationTrailOf')}${label}`;
    const sql = `SELECT a.seq, a.action, a.actor, a.actor_role, a.acted_at, a.state, a.note, a.plan_measure,
  a.plan_department, a.plan_target_date, a.evidence_file_name, a.evidence_content_type, a.evidence_bytes,
  a.evidence_sha256, a.evidence_object_key
FROM rectification_actions a
WHERE a.cycle = ${cycleNumber()} AND a.unit_level = '${level}' AND a.unit_code = '${unit}' AND a.indicator_code = '${indicator}'
ORDER BY a.seq`;
    showTable('rectification-actions', await ask(sql), {
      sql,
      filename: `rectification-actions-${unit}-${indicator}-${cycleNumber()}`,
      rowData: (row) => ({ seq: String(row.seq), action: row.action }),
    });
    $('rectification-actions').dataset.item = `${unit}-${indicator}`;
    const button = $('rectification-unit');
    button.textContent = `${t('showUnit')}${label}`;
    button.hidden = false;
    button.onclick = () => {
      if ([...$('indicator').options].some((option) => option.value === indicator)) {
        $('indicator').value = indicator;
        showIndicatorInfo();
      }
      const city = code(record.city_code, /^[0-9]{6}$/);
      const province = `${city.slice(0, 2)}0000`;
      tab = 'explore';
      showTab();
      trail = [
        { label: provinceNames.get(province) ?? province, level: 'city', province },
        { label: record.city_name ?? city, level: 'unit', city, unit },
      ];
      void load();
    };
  };

  /** The registry's communities of a city that sent nothing in the cycle, for any indicator. */
  const loadMissingUnits = async (record) => {
    const city = code(record.area_code, /^[0-9]{6}$/);
    $('missing-units-title').textContent = `${t('missingUnitsOf')}${record.name ?? city}`;
    const sql = `SELECT d.code AS unit_code, d.name, d.street_code, d.district_code, d.city_code
FROM divisions d
WHERE d.level = 'community' AND d.city_code = '${city}' AND d.code NOT IN (
  SELECT unit_code FROM observations_current WHERE cycle = ${cycleNumber()} AND city_code = '${city}')
ORDER BY d.code LIMIT 5000`;
    showTable('missing-units', await ask(sql), {
      sql,
      filename: `missing-units-${city}-${cycleNumber()}`,
      rowData: (row) => ({ unit: row.unit_code }),
    });
    $('missing-units').dataset.city = city;
  };

  // Pickers, tabs and loading --------------------------------------------------------------------------------

  const loaders = {
    explore: loadExplore,
    ranking: loadRanking,
    trend: loadTrend,
    ledger: loadLedger,
    flags: loadFlags,
    completeness: loadCompleteness,
    rectification: loadRectification,
  };
  const showTab = () => {
    for (const button of document.querySelectorAll('#tabs button'))
      button.setAttribute('aria-pressed', String(button.dataset.tab === tab));
    for (const panel of document.querySelectorAll('.tab')) panel.hidden = panel.dataset.panel !== tab;
  };
  const load = async () => {
    document.body.dataset.loaded = 'false';
    $('message').textContent = '';
    try {
      await loaders[tab]();
      // Charts drawn while hidden have no size: let them measure their container now.
      map?.resize();
      trendChart?.resize();
    } catch (error) {
      $('message').textContent = error.message;
    }
    document.body.dataset.loaded = 'true';
  };

  const showIndicatorInfo = () => {
    const indicator = indicators.get($('indicator').value);
    if (indicator === undefined) {
      $('indicator-info').textContent = '';
      return;
    }
    const standard =
      indicator.standard_operator === null
        ? t('noStandard')
        : `${indicator.standard_operator} ${indicator.standard_value}`;
    $('indicator-info').textContent = [
      `${indicator.code} ${indicator.name}`.trim(),
      indicator.unit === '' ? undefined : `${t('unitOf')}: ${indicator.unit}`,
      indicator.direction === null ? undefined : `${t('direction')}: ${t(indicator.direction)}`,
      `${t('standard')}: ${standard}`,
    ]
      .filter((part) => part !== undefined)
      .join(' · ');
  };

  const fill = (select, options) => {
    const previous = select.value;
    select.innerHTML = '';
    const groups = new Map();
    for (const option of options) {
      const node = document.createElement('option');
      node.value = String(option.value);
      node.textContent = option.label ?? String(option.value);
      if (option.group === undefined) select.append(node);
      else {
        if (!groups.has(option.group)) {
          const group = document.createElement('optgroup');
          group.label = option.group;
          groups.set(option.group, group);
          select.append(group);
        }
        groups.get(option.group).append(node);
      }
    }
    if (options.some((option) => String(option.value) === previous)) select.value = previous;
  };

  const dimensions = {
    zh: { housing: '住房', community: '小区/社区', block: '街区', city: '城区/城市' },
    en: { housing: 'Housing', community: 'Compound / community', block: 'Block', city: 'District / city' },
  };
  const loadIndicators = async () => {
    const cycle = cycleNumber();
    // The catalogue's names, unit, direction and standard, for the indicators the cycle has rollups of. The
    // standard is scaled into the display unit by the export (standard_value is an indicator value).
    const answer = await ask(`SELECT DISTINCT r.indicator_code AS code, r.indicator_code, r.catalogue_version,
  i.name_zh, i.name_en, i.dimension, i.direction, i.unit_zh, i.unit_en, i.standard_operator, i.standard_value
FROM rollups r LEFT JOIN indicators i ON i.code = r.indicator_code AND i.catalogue_version = r.catalogue_version
WHERE r.cycle = ${cycle}
ORDER BY 1`);
    indicators = new Map(
      records(answer).map((row) => [
        row.code,
        {
          code: row.code,
          name: (language === 'zh' ? row.name_zh : row.name_en) ?? '',
          unit: (language === 'zh' ? row.unit_zh : row.unit_en) ?? '',
          direction: row.direction,
          dimension: row.dimension,
          standard_operator: row.standard_operator,
          standard_value: row.standard_value,
        },
      ]),
    );
    fill(
      $('indicator'),
      [...indicators.values()].map((indicator) => ({
        value: indicator.code,
        label: `${indicator.code} ${indicator.name}`.trim(),
        group: dimensions[language][indicator.dimension] ?? indicator.dimension,
      })),
    );
    showIndicatorInfo();
  };

  const start = async () => {
    try {
      const cycles = await ask('SELECT DISTINCT cycle FROM rollups ORDER BY cycle DESC');
      $('signin').hidden = true;
      $('workspace').hidden = false;
      if (map === undefined) await loadShapes();
      fill(
        $('cycle'),
        cycles.rows.map((row) => ({ value: row[0] })),
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

  buildPage();
  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('citycheck.token', token);
    void start();
  });
  $('cycle').addEventListener('change', async () => {
    document.body.dataset.loaded = 'false';
    try {
      await loadIndicators();
    } catch (error) {
      $('message').textContent = error.message;
    }
    trail = [];
    await load();
  });
  $('indicator').addEventListener('change', () => {
    showIndicatorInfo();
    trail = [];
    void load();
  });
  $('colour-by').addEventListener('change', () => void load());
  for (const button of document.querySelectorAll('#tabs button'))
    button.addEventListener('click', () => {
      tab = button.dataset.tab;
      showTab();
      void load();
    });
  for (const control of document.querySelectorAll('.tab .filters select, .tab .filters input'))
    control.addEventListener('change', () => void load());
  $('language').addEventListener('click', async () => {
    language = language === 'zh' ? 'en' : 'zh';
    localStorage.setItem('citycheck.language', language);
    applyLanguage();
    if (!$('workspace').hidden) {
      document.body.dataset.loaded = 'false';
      await loadIndicators().catch(() => undefined);
      await load();
    }
  });
  window.addEventListener('resize', () => {
    map?.resize();
    trendChart?.resize();
  });
  applyLanguage();
  if (token !== '') void start();
})();
