/*
 * flaechen map site: the behaviour of the Folium map's layers (flaechen/publish/maps.py).
 *
 * Folium builds the map, one FeatureGroup with an (empty) L.geoJson per layer and category, the layer
 * switcher and the full-screen button. Through Folium's extension points this file supplies each
 * GeoJson's style and renderer (FlaechenSite.styler, FlaechenSite.canvas) and its popups and tooltips
 * (FlaechenSite.binder, as on_each_feature), adds the features from the data (FlaechenSite.load: the
 * data scripts data/*.js, or the JSON block #flaechen-data of a notebook map) and finishes the map
 * (FlaechenSite.ready: legend, scale, German control titles, start view). The configuration is the
 * page's JSON block #flaechen-config.
 *
 * Safety rule of this file: data values reach the page only as text (textContent, createTextNode),
 * never as markup. The only markup strings are fixed UI texts, escaped with esc() all the same.
 */
(function () {
  'use strict';

  window.FLAECHEN_DATA = window.FLAECHEN_DATA || { district: null, parts: [] };
  var CHOROPLETH = ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'];
  var ORDER = ['municipalities', 'zoning', 'buildings', 'grid', 'built_grid', 'brownfields', 'built', 'candidates'];

  function mark(name) { if (window.performance && performance.mark) { performance.mark(name); } }
  mark('fl-site-js');

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function Site(cfg) {
    var self = this;
    this.map = null;
    this.cfg = cfg;
    this.number = new Intl.NumberFormat(cfg.locale, { maximumFractionDigits: 2 });
    this.counts = {};
    this.groups = {};
    this.colours = {};
    cfg.categories.forEach(function (c) { self.colours[c[0]] = c[1]; });
    this.choropleth = !cfg.showParts && !cfg.focus;
  }

  // The features: from the data scripts (window.FLAECHEN_DATA) or a notebook map's JSON block.
  Site.prototype.data = function () {
    if (!this.loaded) {
      var data = window.FLAECHEN_DATA;
      this.loaded = data && data.district ? data : readJson('flaechen-data');
      if (!this.loaded || !this.loaded.district) { throw new Error('flaechen: data/gemeinden.js did not load'); }
      if (this.choropleth) { this.choroplethClasses(this.loaded.district); }
    }
    return this.loaded;
  };

  Site.prototype.fmt = function (value) {
    if (typeof value === 'number') { return this.number.format(value); }
    return String(value);
  };

  Site.prototype.table = function (rows) {
    var table = el('table', 'fl-props');
    rows.forEach(function (row) {
      var tr = table.insertRow();
      var th = el('th', null, row[0]);
      th.scope = 'row';
      tr.appendChild(th);
      tr.insertCell().textContent = row[1];
    });
    return table;
  };

  Site.prototype.box = function (title, props, layer) {
    var self = this;
    var box = el('div', 'fl-popup');
    box.appendChild(el('h3', null, title));
    var rows = [];
    var more = [];
    (this.cfg.fields[layer] || []).forEach(function (field) {
      var value = props[field[0]];
      if (value !== undefined && value !== null && value !== '') {
        (field[2] ? rows : more).push([field[1], self.fmt(value)]);
      }
    });
    box.appendChild(this.table(rows));
    if (more.length) {
      var details = el('details', 'fl-more');
      details.appendChild(el('summary', null, this.cfg.ui.more));
      details.appendChild(this.table(more));
      box.appendChild(details);
    }
    return box;
  };

  // The style of a feature (Folium passes FlaechenSite.styler(layer) as the GeoJson's style option).
  Site.prototype.styleOf = function (layer, props) {
    var base = L.extend({}, this.cfg.styles[layer] || {});
    base.className = 'fl-' + layer;
    if (layer === 'candidates') {
      var colour = this.colours[props.category] || this.cfg.otherColour;
      base.color = colour;
      base.fillColor = colour;
    } else if (layer === 'zoning') {
      base.fillColor = this.cfg.zoningColours[props._s] || this.cfg.zoningOther;
    } else if (layer === 'municipalities') {
      var focus = this.cfg.focus;
      var stats = this.data().district.stats[props.ags];
      if (focus && props.ags !== focus) {
        base.color = '#888888';
        base.weight = 1;
        base.fillColor = '#ffffff';
        base.fillOpacity = 0.55;
      } else if (this.classes && stats) {
        base.fillColor = CHOROPLETH[this.classOf(stats.ha, this.classes)];
        base.fillOpacity = 0.75;
      } else {
        base.fillColor = '#ffffff';
        base.fillOpacity = 0.01;
      }
    }
    return base;
  };

  Site.prototype.titleOf = function (layer, props) {
    var ui = this.cfg.ui;
    if (layer === 'candidates') { return props.category || ui.candidates; }
    if (layer === 'brownfields') { return props.name || props.site_id || ui.brownfields; }
    if (layer === 'zoning') { return props.plan_name || props.bes_art || props.allg_art || ui.zoning; }
    if (layer === 'buildings') { return props.function || ui.buildings; }
    if (layer === 'built') { return ui.built; }
    return ui[layer] || layer;
  };

  // Tooltip and popup of a feature, as text (Folium passes FlaechenSite.binder(layer) as on_each_feature).
  Site.prototype.bind = function (layer, feature, lyr) {
    var self = this;
    var props = feature.properties || {};
    if (layer === 'grid' || layer === 'built_grid') {
      // aggregate cells (of private potentials, or of private sites built on): numbers only
      var built = layer === 'built_grid';
      var template = built ? self.cfg.ui.built_cell_text : self.cfg.ui.cell_text;
      var text = template.replace('{n}', self.fmt(props.n)).replace('{ha}', self.fmt(props.ha));
      // the count written on the cell (shown from settlement zoom on, see zoomClasses)
      lyr.bindTooltip(el('span', null, self.fmt(props.n)), {
        permanent: true, direction: 'center', className: built ? 'fl-cell-label fl-cell-label-built' : 'fl-cell-label', interactive: false
      });
      lyr.bindPopup(function () {
        var box = el('div', 'fl-popup');
        box.appendChild(el('h3', null, built ? self.cfg.ui.built_cell : self.cfg.ui.cell));
        box.appendChild(el('p', null, text));
        var rows = [];
        self.cfg.categories.forEach(function (c, i) { if (props.cats[i]) { rows.push([c[0], self.fmt(props.cats[i])]); } });
        box.appendChild(self.table(rows));
        return box;
      });
      return;
    }
    if (layer === 'municipalities') { this.bindMunicipality(props, lyr); return; }
    var title = self.titleOf(layer, props);
    lyr.bindTooltip(function () { return el('span', null, title); }, { sticky: true });
    lyr.bindPopup(function () { return self.box(title, props, layer); }, { maxWidth: 360 });
  };

  Site.prototype.bindMunicipality = function (props, lyr) {
    var self = this;
    var ui = this.cfg.ui;
    var focus = this.cfg.focus;
    var stats = this.data().district.stats[props.ags] || null;
    if (props.ags === focus) {
      // the page is about this municipality: its name is in the header, not over its settlements
      lyr.bindTooltip(function () { return el('span', null, props.name); }, { sticky: true });
    } else {
      lyr.bindTooltip(function () { return el('span', null, props.name); }, {
        permanent: true, direction: 'center', className: 'fl-label', interactive: false
      });
    }
    lyr.bindPopup(function () {
      var box = self.box(props.name, props, 'municipalities');
      if (stats) {
        var rows = [];
        self.cfg.categories.forEach(function (c, i) {
          var cell = stats.cats[i];
          if (cell && cell[0]) { rows.push([c[0], self.fmt(cell[0]) + ' · ' + self.fmt(cell[1]) + ' ' + ui.hectares]); }
        });
        rows.push([ui.total, self.fmt(stats.n) + ' · ' + self.fmt(stats.ha) + ' ' + ui.hectares]);
        if (stats.nPrivate) { rows.push([ui.private_count, self.fmt(stats.nPrivate) + ' · ' + self.fmt(stats.haPrivate) + ' ' + ui.hectares]); }
        // sites built on since the last survey: [all, ha, only counted, ha]
        if (stats.built && self.has('built')) {
          rows.push([ui.built_total, self.fmt(stats.built[0]) + ' · ' + self.fmt(stats.built[1]) + ' ' + ui.hectares]);
          if (stats.built[2]) { rows.push([ui.built_counted, self.fmt(stats.built[2]) + ' · ' + self.fmt(stats.built[3]) + ' ' + ui.hectares]); }
        }
        box.appendChild(self.table(rows));
        if (props.ags !== focus) {
          var link = el('a', 'fl-open', ui.open_page);
          link.href = stats.page;
          box.appendChild(link);
        }
      }
      return box;
    }, { maxWidth: 360 });
  };

  // Add a layer's features to its (empty) Folium GeoJson; for candidates only the given categories.
  Site.prototype.load = function (layer, target, categories) {
    var data = this.data();
    var features;
    if (layer === 'municipalities') {
      features = data.district.municipalities.features;
    } else {
      features = [];
      (this.cfg.showParts ? data.parts : []).forEach(function (part) {
        var fc = part.layers[layer];
        if (fc) { features.push.apply(features, fc.features); }
      });
    }
    var name = layer;
    if (categories) {
      var cfg = this.cfg;
      var names = categories.map(function (i) { return cfg.categories[i][0]; });
      features = features.filter(function (f) { return names.indexOf(f.properties.category) >= 0; });
      name = layer + ':' + names.join('|');
    }
    target.addData({ type: 'FeatureCollection', features: features });
    this.groups[name] = target;
    this.counts[layer] = (this.counts[layer] || 0) + target.getLayers().length;
  };

  // The legend lives in the layer switcher (one control): its labels carry the swatches of the layers,
  // and what a switch cannot show (zoning colours, choropleth classes, the background) follows below.
  Site.prototype.legend = function () {
    var self = this;
    var cfg = this.cfg;
    var list = this.map.getContainer().querySelector('.leaflet-control-layers-list');
    if (!list) { return; }
    var root = el('div', 'fl-legend-in-control');
    function head(text) { root.appendChild(el('div', 'fl-legend-head', text)); }
    function item(colour, label) {
      var row = el('div', 'fl-legend-item');
      var sw = el('span', 'fl-swatch');
      sw.style.background = colour;
      row.appendChild(sw);
      row.appendChild(document.createTextNode(label));
      root.appendChild(row);
    }
    function folded(title, entries) {
      var details = el('details', 'fl-legend-fold');
      details.appendChild(el('summary', null, title));
      entries.forEach(function (entry) {
        var row = el('div', 'fl-legend-item');
        var sw = el('span', 'fl-swatch');
        sw.style.background = entry[1];
        row.appendChild(sw);
        row.appendChild(document.createTextNode(entry[0]));
        details.appendChild(row);
      });
      root.appendChild(details);
    }
    if (self.shows('zoning')) {
      folded(cfg.ui.zoning, Object.keys(cfg.zoningColours).map(function (k) { return [k, cfg.zoningColours[k]]; }));
    }
    if (self.classes) {
      head(cfg.ui.choropleth);
      var lower = 0;
      CHOROPLETH.forEach(function (colour, i) {
        var upper = self.classes[i];
        var text = upper === undefined ? '> ' + self.fmt(lower) : self.fmt(lower) + ' – ' + self.fmt(upper);
        item(colour, text + ' ' + cfg.ui.hectares);
        lower = upper;
      });
    }
    if (cfg.background && cfg.backgroundLegend) { folded(cfg.ui.background, cfg.backgroundLegend); }
    if (root.childNodes.length) {
      list.appendChild(el('div', 'leaflet-control-layers-separator'));
      list.appendChild(root);
    }
  };

  // The offline background: the site's own tiles under every layer (background.js).
  Site.prototype.addBackground = function (map) {
    var cfg = this.cfg;
    if (cfg.background && window.FlaechenBackground) {
      this.background = window.FlaechenBackground.layer(cfg.background).addTo(map);
    }
    if (cfg.tiles) {
      // an online tile server besides: Leaflet shows the attribution as markup, so the text is escaped
      L.tileLayer(cfg.tiles.url, { attribution: esc(cfg.tiles.attribution) }).addTo(map);
    }
    if (cfg.attribution) {
      var control = map.attributionControl || L.control.attribution().addTo(map);
      control.setPrefix(false);
      control.addAttribution(esc(cfg.attribution));
    }
  };

  // Jump to a locality (Ortslage) of the municipality: a list in a control, the names as text.
  Site.prototype.localityControl = function () {
    var cfg = this.cfg;
    var map = this.map;
    var found = cfg.localities || [];
    if (found.length < 1) { return; }
    var control = L.control({ position: 'topleft' });
    control.onAdd = function () {
      var root = el('div', 'fl-localities leaflet-bar');
      var select = el('select');
      select.setAttribute('aria-label', cfg.ui.localities);
      var first = el('option', null, cfg.ui.localities_choose);
      first.value = '';
      select.appendChild(first);
      found.forEach(function (entry, i) {
        var option = el('option', null, entry[0]);
        option.value = String(i);
        select.appendChild(option);
      });
      select.addEventListener('change', function () {
        var entry = found[Number(select.value)];
        if (!entry) { return; }
        var b = entry[1];
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [24, 24], maxZoom: 17, animate: false });
      });
      root.appendChild(select);
      L.DomEvent.disableClickPropagation(root);
      L.DomEvent.disableScrollPropagation(root);
      return root;
    };
    control.addTo(map);
  };

  // Labels of the aggregate cells only from settlement zoom on (they would crowd the overview).
  Site.prototype.zoomClasses = function () {
    var map = this.map;
    var container = map.getContainer();
    function update() { container.classList.toggle('fl-near', map.getZoom() >= 13); }
    map.on('zoomend', update);
    update();
  };

  Site.prototype.localise = function () {
    var ui = this.cfg.ui;
    var root = this.map.getContainer();
    [['.leaflet-control-layers-toggle', ui.layers], ['.leaflet-control-zoom-in', ui.zoom_in],
      ['.leaflet-control-zoom-out', ui.zoom_out]].forEach(function (pair) {
      var node = root.querySelector(pair[0]);
      if (node) {
        node.title = pair[1];
        node.setAttribute('aria-label', pair[1]);
      }
    });
  };

  // Many polygons draw far faster on a canvas than as SVG elements. One canvas for all layers: with one
  // canvas per pane, the top canvas would swallow the clicks meant for the layers below it. The drawing
  // order (bottom to top) is kept by restack() whenever a layer is switched back on.
  Site.prototype.renderer = function () {
    if (!this.canvas) { this.canvas = L.canvas({ pane: 'fl-features', padding: 0.2 }); }
    return this.canvas;
  };

  Site.prototype.restack = function () {
    var map = this.map;
    var groups = this.groups;
    ORDER.forEach(function (layer) {
      Object.keys(groups).forEach(function (name) {
        if (name.split(':')[0] === layer && map.hasLayer(groups[name])) { groups[name].bringToFront(); }
      });
    });
  };

  // Features of a layer drawn on the map now: on the map, projected, and not clipped away entirely.
  Site.prototype.drawn = function (layer) {
    var map = this.map;
    var groups = this.groups;
    var n = 0;
    Object.keys(groups).forEach(function (name) {
      if (name !== layer && name.split(':')[0] !== layer) { return; }
      if (!map.hasLayer(groups[name])) { return; }
      groups[name].eachLayer(function (lyr) {
        if (map.hasLayer(lyr) && lyr._parts && lyr._parts.length) { n += 1; }
      });
    });
    return n;
  };

  // Large districts: the overview colours municipalities by the hectares of their potentials.
  Site.prototype.choroplethClasses = function (district) {
    var max = 0;
    Object.keys(district.stats).forEach(function (ags) { max = Math.max(max, district.stats[ags].ha); });
    var step = max / CHOROPLETH.length || 1;
    var bounds = [];
    for (var i = 1; i < CHOROPLETH.length; i++) { bounds.push(Math.round(step * i * 10) / 10); }
    this.classes = bounds;
    return bounds;
  };

  Site.prototype.classOf = function (value, bounds) {
    var i = 0;
    while (i < bounds.length && value > bounds[i]) { i += 1; }
    return i;
  };

  Site.prototype.has = function (layer) { return this.cfg.layers.indexOf(layer) >= 0; };

  // A layer drawn on this page: in the profile, and (but for the municipalities) not an overview that
  // shows aggregates only.
  Site.prototype.shows = function (layer) {
    return this.has(layer) && (layer === 'municipalities' || this.cfg.showParts);
  };

  // Once every layer is loaded: background tiles, drawing order, scale, legend, German titles, start view.
  Site.prototype.ready = function (map) {
    var self = this;
    var cfg = this.cfg;
    this.map = map;
    this.addBackground(map);
    this.restack();
    map.on('overlayadd', function () { self.restack(); });
    L.control.scale({ imperial: false, maxWidth: 200 }).addTo(map);
    this.localise();
    this.legend();
    this.localityControl();

    var bounds = null;
    var municipalities = this.groups.municipalities;
    if (municipalities) {
      municipalities.eachLayer(function (lyr) {
        if (!cfg.focus || lyr.feature.properties.ags === cfg.focus) {
          bounds = bounds ? bounds.extend(lyr.getBounds()) : L.latLngBounds(lyr.getBounds().getSouthWest(), lyr.getBounds().getNorthEast());
        }
      });
    }
    // Not animated: an animated fit would still be running at 'ready' and, when it ends, reset any view
    // change made meanwhile (a reader's first zoom, a test's click target).
    if (cfg.view) {
      // a municipality page opens on the settlement with the most potentials
      var v = cfg.view;
      map.fitBounds([[v[1], v[0]], [v[3], v[2]]], { padding: [24, 24], maxZoom: 16, animate: false });
    } else if (bounds && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12], animate: false });
    }
    this.zoomClasses();
    mark('fl-ready');
    this.readyAt = window.performance ? window.performance.now() : null;
    document.documentElement.setAttribute('data-fl-ready', '1');
  };

  window.FlaechenSite = {
    site: null,
    get: function () {
      if (!this.site) {
        mark('fl-init');
        this.site = new Site(readJson('flaechen-config'));
      }
      return this.site;
    },
    canvas: function () { return this.get().renderer(); },
    styler: function (layer) {
      var site = this.get();
      return function (feature) { return site.styleOf(layer, feature.properties || {}); };
    },
    binder: function (layer) {
      var site = this.get();
      return function (feature, lyr) { site.bind(layer, feature, lyr); };
    },
    load: function (layer, target, categories) { this.get().load(layer, target, categories); },
    ready: function (map) { this.get().ready(map); }
  };
}());
