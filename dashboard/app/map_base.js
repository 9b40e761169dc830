// What lies under the stations: the prefecture outline shipped with the dashboard
// (geo/outline.geojson, see geo/README.md), always, and the configured tiles on top of it
// when the tile server answers. On a closed network the tiles never load and the outline
// is what the officer sees; a tile that fails is hidden, never drawn as a broken image.
// The map element says which it is: data-outline="drawn", data-tiles="live|unreachable".
// No registry package carries the Abukuma's course at a useful scale (Natural Earth's
// 10 m rivers and geo-maps' OSM-derived rivers hold only raster crumbs here), so each
// river is sketched as a line through its own gauges in registry order (upstream to
// downstream), styled and credited as a schematic, never as the river's real course.

import * as L from '../vendor/leaflet/leaflet-src.esm.js';

const OUTLINE_URL = new URL('geo/outline.geojson', import.meta.url);
const OUTLINE_ATTRIBUTION = 'Outline: japanmap (Apache-2.0)';
const RIVER_SKETCH_ATTRIBUTION = 'Rivers: schematic through gauges (floodwatch registry)';
const RIVER_SKETCH_STYLE = { color: '#60a5fa', weight: 3, opacity: 0.8, dashArray: '8 6' };
const OUTLINE_STYLE = {
  basin: { color: '#475569', weight: 1.6, fillColor: '#f8fafc', fillOpacity: 1 },
  neighbour: { color: '#94a3b8', weight: 1, fillColor: '#e5e7eb', fillOpacity: 1 },
};

export async function addOutline(map, element) {
  // Under the tiles (Leaflet's tile pane is at 200), above the sea-coloured background.
  map.createPane('outline').style.zIndex = '150';
  let collection;
  try {
    const response = await fetch(OUTLINE_URL, { cache: 'no-cache' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    collection = await response.json();
  } catch (error) {
    element.dataset.outline = 'failed';
    console.warn('outline layer not loaded', error);
    return;
  }
  const layer = L.geoJSON(collection, {
    pane: 'outline',
    interactive: false,
    attribution: OUTLINE_ATTRIBUTION,
    style: (feature) => OUTLINE_STYLE[feature.properties.role] ?? OUTLINE_STYLE.neighbour,
  }).addTo(map);
  layer.eachLayer((prefecture) => {
    prefecture.getElement()?.setAttribute('data-prefecture', String(prefecture.feature.properties.code));
  });
  element.dataset.outline = 'drawn';
}

export function addTiles(map, element, config) {
  if (!config.tiles_url) {
    element.dataset.tiles = 'none';
    return;
  }
  element.dataset.tiles = 'loading';
  const tiles = L.tileLayer(config.tiles_url, {
    attribution: config.tiles_attribution, maxZoom: 18, minZoom: 5,
  });
  tiles.on('tileload', () => { element.dataset.tiles = 'live'; });
  tiles.on('tileerror', (event) => {
    event.tile.style.visibility = 'hidden';
    if (element.dataset.tiles !== 'live') element.dataset.tiles = 'unreachable';
  });
  tiles.addTo(map);
}

// One dashed line per river through its gauges, in the order the registry lists them
// (upstream first), under the markers; a river with one gauge has no line.
export function addRiverSketch(map, stations, element) {
  const courses = new Map();
  for (const station of stations) {
    if (station.kind !== 'river' || !station.river || !station.location) continue;
    if (!courses.has(station.river)) courses.set(station.river, []);
    courses.get(station.river).push([station.location.lat, station.location.lon]);
  }
  if (!map.getPane('river-sketch')) map.createPane('river-sketch').style.zIndex = '350';
  let drawn = 0;
  for (const [river, points] of courses) {
    if (points.length < 2) continue;
    const line = L.polyline(points, {
      ...RIVER_SKETCH_STYLE, pane: 'river-sketch', interactive: false,
      attribution: RIVER_SKETCH_ATTRIBUTION,
    }).addTo(map);
    line.getElement()?.setAttribute('data-river', river);
    drawn += 1;
  }
  element.dataset.rivers = String(drawn);
}
