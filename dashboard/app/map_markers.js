// How stations are drawn so that the worst one is never hidden: each severity has its own
// Leaflet pane (an SVG layer with a higher z-index the worse it is), road sensors are
// diamonds rather than circles, and markers that would overlap at the current zoom are
// pushed apart just enough, each with a thin leader line to its true position,
// so a finger on a phone lands on the station it means.

import * as L from '../vendor/leaflet/leaflet-src.esm.js';

const BAND_RANKS = { normal: 0, standby: 1, caution: 2, evacuation: 3, danger: 4, flooding: 5 };
// -1: no reading at all. Panes are numbered from it: rank r lives in pane `severity-(r+1)`.
export const NO_DATA_RANK = -1;
const PANE_BASE_Z = 610; // above Leaflet's overlay pane (400), below its tooltips (650)
// Centres closer than this overlap: a marker is ~22 px across with its edge. On a touch
// screen each station gets a 44 px tap target (map.js), so they are spread that far.
export const SPREAD_PX = 24;
export const TOUCH_SPREAD_PX = 46;
export const TOUCH_TARGET_RADIUS = 22;

// The station's severity: its river band or its worst open alert, whichever is worse.
// Alerts without a 警戒レベル (road alerts) rank by their own level, as the alert panel
// colours them; forecast warnings do not count.
export function severityOf(station, status) {
  let rank = station.latest ? (BAND_RANKS[station.band] ?? 0) : NO_DATA_RANK;
  for (const alert of status?.alerts ?? []) {
    // A forecast warning is a level expected, not reached: the marker shows the river.
    if (alert.alert_type === 'forecast') continue;
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

// Display positions for every marker: {id -> LatLng}. Markers closer than `spacing` px
// push each other apart, a little at a time, until none overlaps (or 80 rounds have
// passed): each moves only as far as it must, so it stays beside where it is and in the
// same direction from its neighbours. The worse a station, the less it moves (a weight
// four times its neighbour's per severity step): the worst stays on its true place.
const ROUNDS = 80;

export function spreadPositions(map, entries, spacing = SPREAD_PX) {
  const points = entries.map((entry) => map.latLngToLayerPoint(entry.position));
  const weights = entries.map((entry) => 4 ** ((entry.rank ?? NO_DATA_RANK) + 1));
  for (let round = 0; round < ROUNDS; round += 1) {
    let moved = false;
    for (let i = 0; i < points.length; i += 1) {
      for (let j = i + 1; j < points.length; j += 1) {
        const dx = points[j].x - points[i].x;
        const dy = points[j].y - points[i].y;
        const distance = Math.hypot(dx, dy);
        if (distance >= spacing - 0.5) continue;
        // Two stations at the same place part along a fixed, pair-specific direction.
        const angle = distance > 1e-6 ? Math.atan2(dy, dx) : (i * 7 + j * 13) % 6.283;
        const push = spacing - distance;
        const share = weights[j] / (weights[i] + weights[j]); // i's part of the move
        const ux = Math.cos(angle);
        const uy = Math.sin(angle);
        points[i] = L.point(points[i].x - ux * push * share, points[i].y - uy * push * share);
        points[j] = L.point(points[j].x + ux * push * (1 - share),
          points[j].y + uy * push * (1 - share));
        moved = true;
      }
    }
    if (!moved) break;
  }
  const placed = new Map();
  entries.forEach((entry, index) => {
    const start = map.latLngToLayerPoint(entry.position);
    placed.set(entry.id, start.distanceTo(points[index]) < 0.5 ? entry.position
      : map.layerPointToLatLng(points[index]));
  });
  return placed;
}
