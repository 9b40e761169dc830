// The map: one marker per station, filled with its level band's colour (a road sensor:
// a diamond, coloured by its open alert). A stale station is drawn hollow and
// dashed, so an old "normal" never looks reassuring. The worst station is always on
// top and never under a neighbour (map_markers.js); names show at a zoom where they fit,
// and the worst stations' names at every zoom. Under it all, the shipped outline, so the
// map means something with no tile server (map_base.js).

import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { bandName, localized, t } from './i18n.js';
import { addOutline, addRiverSketch, addTiles } from './map_base.js';
import {
  DiamondMarker, SPREAD_PX, TOUCH_SPREAD_PX, TOUCH_TARGET_RADIUS, createSeverityPanes, paneName,
  severityOf, spreadPositions,
} from './map_markers.js';

// Level colours follow the Japanese warning-level convention (警戒レベル: yellow,
// red, purple, black), so officers read them as they read JMA's maps.
export const BAND_COLOURS = {
  normal: '#3b82c4',
  standby: '#2e9d5b',
  caution: '#f2e700',
  evacuation: '#ff2800',
  danger: '#aa00aa',
  flooding: '#0c000c',
};
// 警戒レベル colours by alert level, for alerts that are not a river band (roads).
export const ALERT_LEVEL_COLOURS = { 1: '#9ca3af', 2: '#f2e700', 3: '#ff2800', 4: '#aa00aa', 5: '#0c000c' };
const NO_DATA = '#9ca3af';
const ROAD_QUIET = '#64748b'; // slate: no alert; not a colour of the level scale
const LABEL_ZOOM = 10; // every name from here in; below it only the severe ones
const ALWAYS_LABELLED_RANK = 3; // 避難判断水位 and worse

export class StationMap {
  constructor(element, store, config) {
    this.element = element;
    this.store = store;
    this.entries = new Map(); // id -> {marker, position (true), rank, target}
    // A finger needs 44 px: on touch screens an invisible disc of that size under each
    // marker takes its taps, and markers are spread far enough that discs never overlap.
    this.touch = window.matchMedia('(pointer: coarse)').matches;
    this.map = L.map(element, { zoomControl: true, attributionControl: true });
    this.renderers = createSeverityPanes(this.map);
    // Names under every marker (Leaflet puts tooltips above them): a label never hides
    // a station.
    this.map.createPane('station-labels').style.zIndex = '605';
    this.map.createPane('station-targets').style.zIndex = '608';
    this.leaders = L.layerGroup().addTo(this.map);
    addOutline(this.map, element);
    addTiles(this.map, element, config);
    this.map.setView([37.7, 140.5], 9);
    this.map.on('zoomend', () => { this.showLabels(); this.spread(); });
    this.showLabels();
  }

  // Called once the registry is known: fit every station in view.
  placeStations() {
    const points = [];
    for (const station of this.store.stations.values()) {
      const position = L.latLng(station.location.lat, station.location.lon);
      points.push(position);
      const options = { radius: 9, weight: 2 };
      const marker = station.kind === 'road' ? new DiamondMarker(position, options)
        : L.circleMarker(position, options);
      marker.on('click', () => this.store.select(station.id));
      marker.bindTooltip(Object.assign(document.createElement('span'),
        { textContent: localized(station.name) }),
      { permanent: true, direction: 'right', offset: [10, 0], className: 'station-label',
        pane: 'station-labels' });
      const target = this.touch ? this.tapTarget(station.id, position) : null;
      this.entries.set(station.id, { marker, position, rank: null, target });
      this.update(station.id, { spread: false });
    }
    addRiverSketch(this.map, this.store.stations.values(), this.element);
    if (points.length) this.map.fitBounds(points, { padding: [30, 30], maxZoom: 12 });
    this.spread();
  }

  tapTarget(stationId, position) {
    const target = L.circleMarker(position, {
      pane: 'station-targets', radius: TOUCH_TARGET_RADIUS, stroke: false, fillOpacity: 0,
    }).addTo(this.map);
    target.on('click', () => this.store.select(stationId));
    target.getElement()?.setAttribute('data-target-station', stationId);
    return target;
  }

  update(stationId, { spread = true } = {}) {
    const station = this.store.stations.get(stationId);
    const entry = this.entries.get(stationId);
    if (!station || !entry) return;
    const status = this.store.statuses.get(stationId);
    const rank = severityOf(station, status);
    if (rank !== entry.rank) this.moveToPane(entry, rank);
    const { marker } = entry;
    const selected = this.store.selected === stationId;
    marker.setStyle({
      fillColor: this.fillOf(station, rank),
      fillOpacity: station.stale ? 0.25 : 0.9,
      color: selected ? '#111827' : (station.stale ? '#6b7280' : '#ffffff'),
      dashArray: station.stale ? '3 3' : null,
      weight: selected ? 4 : 2,
    });
    const path = marker.getElement();
    if (path) {
      path.setAttribute('data-station', stationId);
      path.setAttribute('data-band', station.band ?? 'none');
      path.setAttribute('data-kind', station.kind);
      path.setAttribute('data-severity', String(rank));
      path.setAttribute('aria-label', this.describe(station));
    }
    const label = marker.getTooltip()?.getElement();
    if (label) {
      label.classList.toggle('severe', rank >= ALWAYS_LABELLED_RANK);
      label.dataset.station = stationId;
    }
    if (spread && entry.rank !== entry.spreadRank) this.spread();
  }

  fillOf(station, rank) {
    if (!station.latest) return NO_DATA;
    if (station.kind !== 'road') return BAND_COLOURS[station.band] ?? NO_DATA;
    return rank > 0 ? ALERT_LEVEL_COLOURS[rank] : ROAD_QUIET;
  }

  describe(station) {
    const state = station.stale ? ` (${t('stale')})` : '';
    const band = station.band ? bandName(station.band) : (station.kind === 'road' ? t('road') : '');
    return `${localized(station.name)}: ${band}${state}`;
  }

  // A marker's pane is fixed when it is added: it changes severity by being re-added.
  moveToPane(entry, rank) {
    const pane = paneName(rank);
    entry.marker.remove();
    entry.marker.options.pane = pane;
    entry.marker.options.renderer = this.renderers.get(pane);
    entry.marker.addTo(this.map);
    entry.rank = rank;
  }

  spread() {
    const list = [...this.entries].map(([id, entry]) => ({ id, position: entry.position, rank: entry.rank }));
    const placed = spreadPositions(this.map, list, this.touch ? TOUCH_SPREAD_PX : SPREAD_PX);
    this.leaders.clearLayers();
    for (const [id, entry] of this.entries) {
      const shown = placed.get(id) ?? entry.position;
      entry.marker.setLatLng(shown);
      entry.target?.setLatLng(shown);
      entry.spreadRank = entry.rank;
      if (!shown.equals(entry.position)) {
        L.polyline([entry.position, shown], {
          pane: 'overlayPane', color: '#1f2937', weight: 1, opacity: 0.6, interactive: false,
        }).addTo(this.leaders);
      }
    }
  }

  showLabels() {
    this.element.classList.toggle('labels-all', this.map.getZoom() >= LABEL_ZOOM);
  }

  updateAll() {
    for (const stationId of this.entries.keys()) this.update(stationId, { spread: false });
    for (const [stationId, entry] of this.entries) {
      entry.marker.setTooltipContent(Object.assign(document.createElement('span'),
        { textContent: localized(this.store.stations.get(stationId)?.name) }));
    }
    this.spread();
  }

  focus(stationId) {
    const entry = this.entries.get(stationId);
    // Move the map only when the station is out of view: officers keep their framing.
    if (entry && !this.map.getBounds().contains(entry.marker.getLatLng())) {
      this.map.panTo(entry.marker.getLatLng());
    }
    this.updateAll();
  }
}
