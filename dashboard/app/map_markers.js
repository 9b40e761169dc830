// How stations are drawn so that the worst one is never hidden: each severity has its own
// Leaflet pane (an SVG layer with a higher z-index the worse it is), road sensors are
// diamonds rather than circles, and markers that would overlap at the current zoom are
// spread around their common centre, each with a thin leader line to its true position,
// so a finger on a phone lands on the station it means.

import * as L from '../vendor/leaflet/leaflet-src.esm.js';

const BAND_RANKS = { normal: 0, standby: 1, caution: 2, evacuation: 3, danger: 4, flooding: 5 };
// -1: no reading at all. Panes are numbered from it: rank r lives in pane `severity-(r+1)`.
export const NO_DATA_RANK = -1;
const PANE_BASE_Z = 610; // above Leaflet's overlay pane (400), below its tooltips (650)
const SPREAD_PX = 24; // centres closer than this overlap (marker diameter ~22 px with edge)

// The station's severity: its river band or its worst open alert, whichever is worse.
// Alerts without a 警戒レベル (road alerts) rank by their own level, as the alert panel
// colours them.
export function severityOf(station, status) {
  let rank = station.latest ? (BAND_RANKS[station.band] ?? 0) : NO_DATA_RANK;
  for (const alert of status?.alerts ?? []) {
    rank = Math.max(rank, Math.min(5, alert.alert_level ?? alert.level ?? 0));
  }
  return rank;
}

export function paneName(rank) {
  return `severity-${rank + 1}`;
}

// One pane and one SVG renderer per severity, so z-index orders them: within one SVG
// only document order does, and Leaflet appends in creation order.
export function createSeverityPanes(map) {
  const renderers = new Map();
  for (let rank = NO_DATA_RANK; rank <= 5; rank += 1) {
    const name = paneName(rank);
    const pane = map.createPane(name);
    pane.style.zIndex = String(PANE_BASE_Z + rank + 1);
    pane.dataset.severity = String(rank);
    renderers.set(name, L.svg({ pane: name }));
  }
  return renderers;
}

// A CircleMarker drawn as a diamond: road sensors must not read as a river gauge's
// coloured dot (a teal dot looked like standby green).
export const DiamondMarker = L.CircleMarker.extend({
  _updatePath() {
    if (!this._renderer._setPath) {
      this._renderer._updateCircle(this);
      return;
    }
    const p = this._point.round();
    const r = Math.round(this._radius * 1.25);
    this._renderer._setPath(this, this._empty() ? 'M0 0'
      : `M${p.x},${p.y - r}L${p.x + r},${p.y}L${p.x},${p.y + r}L${p.x - r},${p.y}z`);
  },
});

// Groups of markers whose true positions are closer than SPREAD_PX at this zoom
// (transitively), found by union-find over the pairs: at most a few dozen stations.
function overlapGroups(points) {
  const parent = points.map((_, index) => index);
  const root = (i) => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  for (let i = 0; i < points.length; i += 1) {
    for (let j = i + 1; j < points.length; j += 1) {
      if (points[i].point.distanceTo(points[j].point) < SPREAD_PX) parent[root(i)] = root(j);
    }
  }
  const groups = new Map();
  points.forEach((item, index) => {
    const key = root(index);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(item);
  });
  return [...groups.values()];
}

// Display positions for every marker: {id -> LatLng}. A group of n is laid on a circle
// whose neighbouring places are SPREAD_PX apart, worst first at the top, then clockwise.
export function spreadPositions(map, entries) {
  const points = entries.map((entry) => ({ ...entry, point: map.latLngToLayerPoint(entry.position) }));
  const placed = new Map();
  for (const group of overlapGroups(points)) {
    if (group.length === 1) {
      placed.set(group[0].id, group[0].position);
      continue;
    }
    group.sort((a, b) => b.rank - a.rank || a.id.localeCompare(b.id));
    const centre = group.reduce((sum, item) => sum.add(item.point), L.point(0, 0))
      .divideBy(group.length);
    const radius = SPREAD_PX / (2 * Math.sin(Math.PI / group.length));
    group.forEach((item, index) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * index) / group.length;
      const point = centre.add(L.point(Math.cos(angle) * radius, Math.sin(angle) * radius));
      placed.set(item.id, map.layerPointToLatLng(point));
    });
  }
  return placed;
}
