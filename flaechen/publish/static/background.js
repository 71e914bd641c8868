/*
 * flaechen offline background: the site's own raster tiles (tiles/{z}/{x}/{y}.png), drawn from the
 * district's land use and buildings. Two tile layers: the base, complete up to the zoom below
 * `detailFrom` and enlarged beyond it; over it the detail levels, which exist only in the blocks where
 * buildings stand (`detailBlocks`), so that no missing tile is ever asked for.
 */
(function () {
  'use strict';

  function boundsOf(b) { return L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]); }

  var DetailLayer = L.TileLayer.extend({
    _isValidTile: function (coords) {
      var blocks = this.options.blocks[String(coords.z)];
      if (!blocks) { return false; }
      for (var i = 0; i < blocks.length; i++) {
        var b = blocks[i];
        if (coords.x >= b[0] && coords.x < b[2] && coords.y >= b[1] && coords.y < b[3]) { return true; }
      }
      return false;
    }
  });

  // A layer group with `isLoading()` and a 'load' event once every tile in view has loaded.
  function background(options, extra) {
    var bounds = boundsOf(options.bounds);
    var top = options.detailFrom ? options.detailFrom - 1 : options.maxZoom;
    var common = L.extend({ bounds: bounds, maxZoom: 20, keepBuffer: 1, className: 'fl-background' }, extra || {});
    var layers = [L.tileLayer(options.url, L.extend({}, common, {
      minNativeZoom: options.minZoom,
      maxNativeZoom: top
    }))];
    if (options.detailFrom) {
      layers.push(new DetailLayer(options.url, L.extend({}, common, {
        minZoom: options.detailFrom,
        minNativeZoom: options.detailFrom,
        maxNativeZoom: options.maxZoom,
        blocks: options.detailBlocks
      })));
    }
    var group = L.layerGroup(layers);
    group.isLoading = function () {
      return layers.some(function (l) { return l._map && l.isLoading(); });
    };
    layers.forEach(function (l) {
      l.on('load', function () { if (!group.isLoading()) { group.fire('load'); } });
    });
    return group;
  }

  window.FlaechenBackground = { layer: background };
}());
