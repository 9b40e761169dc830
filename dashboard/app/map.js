// The map: one circle per station, filled with its level band's colour. A stale
// station is drawn hollow and grey-edged, so an old "normal" never looks reassuring.

import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { bandName, localized, t } from './i18n.js';

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
const NO_DATA = '#9ca3af';
const ROAD = '#0f766e';

export class StationMap {
  constructor(element, store, config) {
    this.store = store;
    this.markers = new Map();
    this.map = L.map(element, { zoomControl: true, attributionControl: true });
    if (config.tiles_url) {
      L.tileLayer(config.tiles_url, {
        attribution: config.tiles_attribution, maxZoom: 18, minZoom: 5,
      }).addTo(this.map);
    }
    this.map.setView([37.7, 140.5], 9);
  }

  // Called once the registry is known: fit every station in view.
  placeStations() {
    const points = [];
    for (const station of this.store.stations.values()) {
      const position = [station.location.lat, station.location.lon];
      points.push(position);
      const marker = L.circleMarker(position, { radius: 9, weight: 2 });
      marker.on('click', () => this.store.select(station.id));
      marker.addTo(this.map);
      this.markers.set(station.id, marker);
      this.update(station.id);
    }
    if (points.length) this.map.fitBounds(points, { padding: [40, 40], maxZoom: 12 });
  }

  update(stationId) {
    const station = this.store.stations.get(stationId);
    const marker = this.markers.get(stationId);
    if (!station || !marker) return;
    const fill = station.kind === 'river' ? (BAND_COLOURS[station.band] ?? NO_DATA) : ROAD;
    const selected = this.store.selected === stationId;
    marker.setStyle({
      fillColor: station.latest ? fill : NO_DATA,
      fillOpacity: station.stale ? 0.25 : 0.9,
      color: selected ? '#111827' : (station.stale ? '#6b7280' : '#ffffff'),
      dashArray: station.stale ? '3 3' : null,
      weight: selected ? 4 : 2,
    });
    marker.getElement()?.setAttribute('data-station', stationId);
    marker.getElement()?.setAttribute('data-band', station.band ?? 'none');
    const state = station.stale ? ` (${t('stale')})` : '';
    const band = station.band ? bandName(station.band) : (station.kind === 'road' ? t('road') : '');
    // Text, not HTML: names come from configuration, not from code we control here.
    const tip = document.createElement('span');
    tip.textContent = `${localized(station.name)}: ${band}${state}`;
    if (marker.getTooltip()) marker.setTooltipContent(tip);
    else marker.bindTooltip(tip);
  }

  updateAll() {
    for (const stationId of this.markers.keys()) this.update(stationId);
  }

  focus(stationId) {
    const marker = this.markers.get(stationId);
    // Move the map only when the station is out of view: officers keep their framing.
    if (marker && !this.map.getBounds().contains(marker.getLatLng())) {
      this.map.panTo(marker.getLatLng());
    }
    this.updateAll();
  }
}
