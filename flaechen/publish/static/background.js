/*
 * flaechen offline background: the site's own raster tiles (tiles/{z}/{x}/{y}.png), drawn from the
 * district's land use and buildings. Two tile layers: the base, complete up to the zoom below
 * `detailFrom` and enlarged beyond it; over it the detail levels, which exist only in the blocks where
 * buildings stand (`detailBlocks`), so that no missing tile is ever asked for.
 */
(function () {
  'use strict';

  function boundsOf(b) { return L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]); }

  // A tile layer that asks only for the tiles of its blocks ({zoom: [[x0, y0, x1, y1], ...]}, ends
  // exclusive): the detail levels exist where buildings stand, every level only where the district is.
  var BlockLayer = L.TileLayer.extend({
    _isValidTile: function (coords) {
      if (!L.TileLayer.prototype._isValidTile.call(this, coords)) { return false; }
      var blocks = this.options.blocks[String(coords.z)];
      if (!blocks) { return false; }
      for (var i = 0; i < blocks.length; i++) {
        var b = blocks[i];
        if (coords.x >= b[0] && coords.x < b[2] && coords.y >= b[1] && coords.y < b[3]) { return true; }
      }
      return false;
    }
  });

  function background(options, extra) {
    var bounds = boundsOf(options.bounds);
    var top = options.detailFrom ? options.detailFrom - 1 : options.maxZoom;
    var common = L.extend({ bounds: bounds, maxZoom: 20, keepBuffer: 1, className: 'fl-background' }, extra || {});
    var baseOptions = L.extend({}, common, { minNativeZoom: options.minZoom, maxNativeZoom: top });
    var hasBase = options.baseBlocks && Object.keys(options.baseBlocks).length;
    var layers = [hasBase
      ? new BlockLayer(options.url, L.extend(baseOptions, { blocks: options.baseBlocks }))
      : L.tileLayer(options.url, baseOptions)];
    if (options.detailFrom) {
      layers.push(new BlockLayer(options.url, L.extend({}, common, {
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
