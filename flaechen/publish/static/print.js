/*
 * flaechen printed map: one municipality on an A3 sheet. Reads its data from the JSON block
 * #print-data (never markup); the legend, tables and sources are in the page already.
 */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('print-data').textContent);
  var map = L.map('map', {
    zoomControl: false,
    attributionControl: false,
    zoomSnap: 0.1,
    fadeAnimation: false,
    zoomAnimation: false,
    markerZoomAnimation: false,
    preferCanvas: true
  });
  var pending = 0;
  function ready() {
    if (pending === 0) { document.documentElement.setAttribute('data-print-ready', '1'); }
  }

  var bounds = L.latLngBounds([[data.bounds[1], data.bounds[0]], [data.bounds[3], data.bounds[2]]]);
  map.fitBounds(bounds, { padding: [16, 16], animate: false });

  if (data.tiles) {
    var tiles = FlaechenBackground.layer(data.tiles);
    var loaded = false;
    var finish = function () {
      if (!loaded) { loaded = true; pending -= 1; ready(); }
    };
    pending += 1;
    tiles.once('load', finish);
    tiles.addTo(map);
    if (!tiles.isLoading()) { finish(); }
  }

  data.layers.forEach(function (layer) {
    L.geoJSON(layer.data, {
      style: function (feature) {
        var style = L.extend({}, layer.style);
        var props = feature.properties || {};
        if (layer.colours && props.category && layer.colours[props.category]) {
          style.color = layer.colours[props.category];
          style.fillColor = layer.colours[props.category];
        }
        if (layer.focus && props.ags !== layer.focus) {
          style.color = '#8a8a8a';
          style.weight = 1;
        }
        return style;
      },
      interactive: false
    }).addTo(map);
  });

  // counts of the aggregated cells, written on the map
  (data.labels || []).forEach(function (label) {
    L.marker([label[1], label[0]], {
      interactive: false,
      icon: L.divIcon({ className: 'cell-label', html: '', iconSize: null })
    }).addTo(map).getElement().textContent = label[2];
  });

  L.control.scale({ imperial: false, maxWidth: 240, position: 'bottomleft' }).addTo(map);
  ready();
}());
