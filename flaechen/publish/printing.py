"""Printed maps: one A3 landscape sheet per municipality, in one PDF, for council meetings.

Each sheet shows the municipality on the site's own background, its potentials (private land as the
aggregate cells with their counts), a legend, the totals per category, its localities, and the
sources with licence and date. Sheets are HTML pages (Jinja, autoescaped; the map's data in a JSON
block read with ``textContent``) printed by headless Chromium through Playwright
(``page.pdf``), then joined into one PDF with pypdf. The pages are built in a temporary folder inside
the site (they use its Leaflet copy and background tiles) and removed afterwards: only the PDF stays.

Chromium is Debian's (``chromium``; ``playwright install`` is never needed) and Playwright and pypdf
come with the extra ``print`` (``pip install flaechen[print]``).

Examples
--------
Through :func:`flaechen.publish.publish` (or ``flaechen publish DIR --print``):

>>> from pathlib import Path
>>> from pypdf import PdfReader
>>> from flaechen.publish import publish
>>> index = publish("out/demo/district.gpkg", "out/druck", print_maps=True, background=False)
>>> pdf = index.parent / PDF_NAME
>>> pdf.name, len(PdfReader(pdf).pages)  # one A3 sheet per municipality
('karten-a3.pdf', 6)
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from flaechen.errors import PrintError
from flaechen.palette import other_colour, stylesheet

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
PDF_NAME = "karten-a3.pdf"
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
"""Launch flags: without the background-networking ones Chromium calls home at every start."""

PRINT_UI = {
    "de": {
        "municipality": "Gemeinde",
        "run_date": "Stand der Auswertung",
        "map_label": "Karte der Gemeinde",
        "legend": "Legende",
        "background": "Hintergrund (Liegenschaftskataster)",
        "potentials": "Innenentwicklungspotenziale",
        "category": "Kategorie",
        "count": "Anzahl",
        "area_ha": "Fläche (ha)",
        "total": "Summe",
        "localities": "Ortslagen",
        "sources": "Quellen, Lizenzen und Datenstand",
        "licence": "Lizenz",
        "data_date": "Stand",
        "printed": "Gedruckt am",
        "made_with": "erstellt mit flaechen (Open Source)",
    },
    "en": {
        "municipality": "Municipality",
        "run_date": "Analysis of",
        "map_label": "Map of the municipality",
        "legend": "Legend",
        "background": "Background (cadastre)",
        "potentials": "Inner development potentials",
        "category": "Category",
        "count": "Count",
        "area_ha": "Area (ha)",
        "total": "Total",
        "localities": "Localities",
        "sources": "Sources, licences and dates",
        "licence": "licence",
        "data_date": "as of",
        "printed": "Printed on",
        "made_with": "made with flaechen (open source)",
    },
}


@dataclass(frozen=True)
class Sheet:
    """One printed map: a municipality, what is drawn on it and what the margins say.

    Attributes
    ----------
    ags, name
        The municipality.
    bounds
        ``(west, south, east, north)`` in degrees: the map's extent.
    layers
        Drawn bottom to top: each ``{"data": GeoJSON mapping, "style": Leaflet path options}``, with
        ``"colours"`` (category → colour) for candidates and ``"focus"`` (an AGS) for the boundaries.
    labels
        ``(lon, lat, text)`` written on the map (the aggregate cells' counts).
    legend
        ``{"label", "colour", "kind"}`` entries (kind: ``fill``, ``grid``, ``brownfield``, ``boundary``).
    background
        ``{"label", "colour"}`` entries of the background classes.
    rows, total
        Totals per category (``label``, ``colour``, ``n``, ``ha`` as formatted text) and their sum.
    private
        A note on private land shown only as aggregates (empty where none).
    localities
        ``{"name", "text"}`` of the municipality's localities.
    """

    ags: str
    name: str
    bounds: tuple[float, float, float, float]
    layers: Sequence[Mapping[str, Any]] = ()
    labels: Sequence[tuple[float, float, str]] = ()
    legend: Sequence[Mapping[str, str]] = ()
    background: Sequence[Mapping[str, str]] = ()
    rows: Sequence[Mapping[str, str]] = ()
    total: Mapping[str, str] = field(default_factory=lambda: {"n": "0", "ha": "0"})
    private: str = ""
    localities: Sequence[Mapping[str, str]] = ()


def _json_block(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no comment openers)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_sheet(
    sheet: Sheet,
    *,
    title: str,
    sources: Sequence[Mapping[str, Any]],
    run_date: str,
    generated: str,
    tiles: Mapping[str, Any] | None,
    language: str = "de",
    assets: str = "../assets",
) -> str:
    """The HTML of one sheet (every value autoescaped; the map's data as a JSON block)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    data = {
        "bounds": list(sheet.bounds),
        "layers": [dict(layer) for layer in sheet.layers],
        "labels": [list(label) for label in sheet.labels],
        "tiles": dict(tiles) if tiles else None,
    }
    return env.get_template("print.html").render(
        language=language,
        ui=PRINT_UI.get(language, PRINT_UI["de"]),
        title=title,
        name=sheet.name,
        run_date=run_date,
        generated=generated,
        legend=sheet.legend,
        background=sheet.background,
        rows=sheet.rows,
        total=sheet.total,
        private=sheet.private,
        localities=sheet.localities,
        sources=sources,
        assets=assets,
        data=Markup(_json_block(data)),
    )


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise PrintError(
            "the printed maps need Chromium (Debian: `apt-get install chromium`); "
            "publish without them with `flaechen publish DIR --no-print`"
        )
    return found


def print_sheets(
    sheets: Sequence[Sheet],
    *,
    site_dir: Path,
    title: str,
    sources: Sequence[Mapping[str, Any]],
    run_date: str,
    generated: str,
    tiles: Mapping[str, Any] | None = None,
    language: str = "de",
    out_name: str = PDF_NAME,
    timeout_s: float = 60.0,
) -> Path:
    """Print every sheet on an A3 landscape page and join them into ``site_dir/out_name``.

    Parameters
    ----------
    sheets
        One per municipality, in the order of the PDF's pages.
    site_dir
        The built site (its ``assets/leaflet`` and, if `tiles` is given, ``tiles/``).
    title, sources, run_date, generated, language
        Printed in every sheet's margins (`sources` as :meth:`Source.as_dict` mappings).
    tiles
        The background (:meth:`TileSet.layer_options`, its ``url`` relative to the site); None prints
        without a background.
    timeout_s
        Longest wait for one sheet's map to be drawn.

    Returns
    -------
    Path
        The PDF.

    Raises
    ------
    PrintError
        Chromium, Playwright or pypdf is missing, or a sheet did not draw in time.
    """
    try:
        import playwright.sync_api  # noqa: F401
        import pypdf  # noqa: F401
    except ImportError as err:
        raise PrintError(
            f"the printed maps need {err.name} (pip install 'flaechen[print]'); "
            "publish without them with `flaechen publish DIR --no-print`"
        ) from err
    executable = _chromium()
    work = Path(tempfile.mkdtemp(prefix=".druck-", dir=site_dir))
    try:
        for name in ("print.js", "print.css", "background.js"):
            (work / "flaechen").mkdir(exist_ok=True)
            if name.endswith(".css"):  # with the palette's colours (layers/palette.yaml) as CSS variables
                (work / "flaechen" / name).write_text(stylesheet(STATIC / name), encoding="utf-8")
            else:
                shutil.copyfile(STATIC / name, work / "flaechen" / name)
        pages = []
        page_tiles = dict(tiles) if tiles else None
        if page_tiles:
            page_tiles["url"] = "../" + str(page_tiles["url"])
        for i, sheet in enumerate(sheets):
            html = render_sheet(
                sheet,
                title=title,
                sources=sources,
                run_date=run_date,
                generated=generated,
                tiles=page_tiles,
                language=language,
                assets="../assets",
            )
            html = html.replace('href="../assets/flaechen/print.css"', 'href="flaechen/print.css"')
            html = html.replace('src="../assets/flaechen/print.js"', 'src="flaechen/print.js"')
            html = html.replace('src="../assets/flaechen/background.js"', 'src="flaechen/background.js"')
            path = work / f"blatt-{i:04d}.html"
            path.write_text(html, encoding="utf-8")
            pages.append(path)
        # in a thread of its own: Playwright's sync API refuses a thread with a running event loop
        # (a notebook, or a test session holding its own browser)
        with ThreadPoolExecutor(max_workers=1) as pool:
            writer = pool.submit(_print_pages, sheets, pages, executable, timeout_s).result()
        target = site_dir / out_name
        with open(target, "wb") as handle:
            writer.write(handle)
        log.info("printed maps: %d A3 sheets in %s", len(sheets), target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _print_pages(sheets: Sequence[Sheet], pages: Sequence[Path], executable: str, timeout_s: float) -> Any:
    """Open each sheet in headless Chromium, print it, and join the pages (pypdf ``PdfWriter``)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
    from pypdf import PdfWriter

    writer = PdfWriter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS))
        try:
            context = browser.new_context(offline=True, viewport={"width": 1587, "height": 1123})
            page = context.new_page()
            page.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
            )
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            for sheet, path in zip(sheets, pages, strict=True):
                page.goto(path.resolve().as_uri(), wait_until="load")
                try:
                    page.wait_for_selector("html[data-print-ready='1']", timeout=timeout_s * 1000)
                except PlaywrightError as err:
                    raise PrintError(
                        f"the printed map of {sheet.name} ({sheet.ags}) did not draw within {timeout_s:g} s"
                        + (f": {errors[-1]}" if errors else "")
                    ) from err
                pdf = page.pdf(width="420mm", height="297mm", print_background=True, prefer_css_page_size=True)
                writer.append(io.BytesIO(pdf))
                log.debug("printed %s", sheet.name)
        finally:
            browser.close()
    return writer


def _feature_collection(gdf: Any, properties: Mapping[str, str]) -> dict[str, Any]:
    """GeoJSON of display-ready features with only the named properties (column → property)."""
    import shapely

    features = []
    if gdf is not None and len(gdf):
        geometries = shapely.to_geojson(gdf.geometry.to_numpy())
        columns = {prop: gdf[col].astype("string").to_numpy() for prop, col in properties.items() if col in gdf}
        for i, geometry in enumerate(geometries):
            props = {prop: (None if values[i] is None else str(values[i])) for prop, values in columns.items()}
            features.append({"type": "Feature", "properties": props, "geometry": json.loads(geometry)})
    return {"type": "FeatureCollection", "features": features}


def build_sheets(
    *,
    display: Mapping[str, Any],
    table: Any,
    categories: Sequence[str],
    colours: Mapping[str, str],
    styles: Mapping[str, Mapping[str, Any]],
    localities: Any = None,
    background: Sequence[tuple[str, str]] = (),
    private_note: str = "",
    language: str = "de",
    labels: Mapping[str, str] | None = None,
) -> list[Sheet]:
    """One :class:`Sheet` per municipality from the site's display layers.

    Parameters
    ----------
    display
        Layers in EPSG:4326 as the site draws them: ``municipalities`` (``_ags``), and where shown
        ``candidates`` (``_ags``, ``_category``), ``brownfields`` (``_ags``), ``grid`` (``_ags``, ``n``),
        ``built`` (``_ags``: the sites built on since the last survey the profile lets be drawn).
        Only the AGS, the category and the cells' counts reach a sheet.
    table
        Per municipality (indexed by AGS): ``name``, ``n_<i>``/``ha_<i>`` per category, ``n``, ``ha``,
        ``n_private``.
    categories, colours, styles
        Category order, colours, and the Leaflet path styles of the layers.
    localities
        From :func:`flaechen.publish.localities.localities`, in EPSG:4326 (optional).
    background
        ``(label, colour)`` of the background classes for the legend.
    private_note
        The note on private land (shown where a municipality has private candidates).
    labels
        Legend labels of ``grid``, ``brownfields``, ``built`` and ``municipalities``.
    """
    from flaechen.formatting import format_number

    labels = dict(labels or {})
    municipalities = display["municipalities"]
    by_ags = {
        layer: {str(key): sub for key, sub in gdf.groupby(gdf["_ags"].astype(str).to_numpy())}
        for layer, gdf in display.items()
        if len(gdf)
    }

    def part(layer: str, ags: str) -> Any:
        return by_ags.get(layer, {}).get(ags)

    sheets = []
    for ags, row in table.iterrows():
        ags = str(ags)
        outline = part("municipalities", ags)
        if outline is None:
            continue
        west, south, east, north = (float(v) for v in outline.total_bounds)
        layers: list[dict[str, Any]] = [
            {
                "data": _feature_collection(municipalities, {"ags": "_ags"}),
                "style": dict(styles.get("municipalities", {})) | {"weight": 3, "fillOpacity": 0},
                "focus": ags,
            }
        ]
        legend: list[dict[str, str]] = []
        cells = part("grid", ags)
        if cells is not None:
            layers.append({"data": _feature_collection(cells, {}), "style": dict(styles.get("grid", {}))})
            legend.append({"label": labels.get("grid", "grid"), "colour": "transparent", "kind": "grid"})
        brownfields = part("brownfields", ags)
        if brownfields is not None:
            layers.append({"data": _feature_collection(brownfields, {}), "style": dict(styles.get("brownfields", {}))})
            legend.append(
                {"label": labels.get("brownfields", "brownfields"), "colour": "transparent", "kind": "brownfield"}
            )
        built = part("built", ags)
        if built is not None:
            layers.append({"data": _feature_collection(built, {}), "style": dict(styles.get("built", {}))})
            legend.append({"label": labels.get("built", "built"), "colour": "transparent", "kind": "built"})
        candidates = part("candidates", ags)
        if candidates is not None:
            layers.append(
                {
                    "data": _feature_collection(candidates, {"category": "_category"}),
                    "style": dict(styles.get("candidates", {})),
                    "colours": dict(colours),
                }
            )
        legend = [{"label": c, "colour": colours.get(c, other_colour()), "kind": "fill"} for c in categories] + legend
        legend.append(
            {"label": labels.get("municipalities", "municipalities"), "colour": "transparent", "kind": "boundary"}
        )
        cell_labels = []
        if cells is not None:
            points = cells.geometry.representative_point()
            cell_labels = [
                (round(float(p.x), 6), round(float(p.y), 6), format_number(n, language=language))
                for p, n in zip(points, cells["n"], strict=True)
            ]
        rows = [
            {
                "label": c,
                "colour": colours.get(c, other_colour()),
                "n": format_number(row[f"n_{i}"], language=language),
                "ha": format_number(row[f"ha_{i}"], decimals=2, language=language),
            }
            for i, c in enumerate(categories)
        ]
        found = []
        if localities is not None and len(localities):
            mine = localities[localities["_ags"].astype(str) == ags]
            found = [
                {"name": str(r["name"]), "text": f"{format_number(r['n_candidates'], language=language)} Pot."}
                for _, r in mine.iterrows()
            ]
        sheets.append(
            Sheet(
                ags=ags,
                name=str(row["name"]),
                bounds=(west, south, east, north),
                layers=layers,
                labels=cell_labels,
                legend=legend,
                background=[{"label": label, "colour": colour} for label, colour in background],
                rows=rows,
                total={
                    "n": format_number(row["n"], language=language),
                    "ha": format_number(row["ha"], decimals=2, language=language),
                },
                private=private_note if int(row.get("n_private", 0) or 0) else "",
                localities=found,
            )
        )
    return sheets


def print_district(
    gpkg_path: str | os.PathLike[str],
    *,
    site_dir: Path,
    profile: Any,
    sources: Sequence[Any],
    tiles: Any = None,
    run_date: Any,
    generated: Any,
    grid_size_m: float | None = None,
    grid_levels: int = 2,
    found: Any = None,
) -> Path:
    """Print the A3 sheets of every municipality of a district into ``site_dir/karten-a3.pdf``.

    Reads the district through the profile's allow-list (:func:`flaechen.publish.prepare.select_district`)
    and follows its rule for private land, as the site does: candidates on public land (every candidate
    where ``private_candidates = "parcels"``) are drawn per parcel; with ``"grid"`` the others appear as
    the aggregate cells of :func:`flaechen.publish.aggregates.block_grid` with their counts, with
    ``"municipality"`` only in the totals.

    Parameters
    ----------
    gpkg_path
        The district GeoPackage.
    site_dir
        The built site (assets, and ``tiles/`` where `tiles` is given).
    profile
        The validated publishing profile.
    sources
        :class:`flaechen.publish.attribution.Source` entries printed in the margins.
    tiles
        The :class:`flaechen.publish.background.TileSet` of the site, or None.
    run_date, generated
        Dates (``datetime.date``) of the analysis and of the print.
    grid_size_m, grid_levels
        The aggregate cells (default: the profile's ``grid_size_m``) and how often small cells merge.
    found
        The localities (:func:`flaechen.publish.localities.localities`), if already found.
    """

    from flaechen.layers import load_schema
    from flaechen.publish import prepare
    from flaechen.publish.aggregates import block_grid
    from flaechen.publish.background import legend_entries
    from flaechen.publish.localities import localities
    from flaechen.publish.texts import CATEGORY_COLOURS, LAYER_STYLES, OTHER_COLOUR, UI

    district = prepare.select_district(gpkg_path, profile=profile)
    layers = district.layers
    municipalities = layers["municipalities"]
    candidates = layers.get("candidates", prepare.empty_layer("candidates", profile))
    schema = load_schema()
    categories = list(schema.codelist("candidate_category").values)
    if "_category" in candidates.columns:
        categories += sorted(c for c in candidates["_category"].dropna().astype(str).unique() if c not in categories)
    mode = profile.private_candidates
    shown, hidden = prepare.split_private(candidates, mode=mode)
    table = prepare.summarise(municipalities, candidates, categories=categories, hidden_index=hidden.index)
    size = grid_size_m or profile.grid_size_m
    cells, _ = block_grid(
        hidden,
        size=size,
        min_count=profile.grid_min_count,
        categories=categories,
        levels=grid_levels,
        boundaries=municipalities,
    )
    frames = {"municipalities": municipalities, "candidates": shown}
    if mode == "grid":
        frames["grid"] = cells
    if "brownfields" in layers:
        frames["brownfields"], _ = prepare.split_private(layers["brownfields"], mode=mode)
    built = district.built_on
    if built is not None and built.previous_survey is not None and len(built.shown):
        frames["built"] = built.shown  # as on the site: public land only unless the profile draws all
    tolerance = profile.simplify_tolerance_m
    display = {
        name: prepare.to_display(
            prepare.simplify(gdf, tolerance=tolerance, name=name) if name != "grid" else gdf,
            decimals=profile.coordinate_decimals,
        )
        for name, gdf in frames.items()
    }
    if found is None:
        found = localities(gpkg_path, candidates=candidates)
    found = found.to_crs(prepare.DISPLAY_CRS) if len(found) else found
    ui = UI[profile.language]
    colours = {c: CATEGORY_COLOURS.get(c, OTHER_COLOUR) for c in categories}
    sheets = build_sheets(
        display=display,
        table=table,
        categories=categories,
        colours=colours,
        styles=LAYER_STYLES,
        localities=found,
        background=legend_entries() if tiles is not None else (),
        private_note=ui["note_private_grid"].format(n=profile.grid_min_count)
        if mode == "grid"
        else ui["note_private"]
        if mode == "municipality"
        else "",
        language=profile.language,
        labels={
            "grid": ui["grid"],
            "brownfields": ui["brownfields"],
            "built": ui["built"],
            "municipalities": ui["municipalities"],
        },
    )
    fmt = "%d.%m.%Y" if profile.language == "de" else "%Y-%m-%d"
    tile_spec = tiles.layer_options() if tiles is not None else None
    return print_sheets(
        sheets,
        site_dir=site_dir,
        title=profile.title,
        sources=[s.as_dict() for s in sources],
        run_date=run_date.strftime(fmt),
        generated=generated.strftime(fmt),
        tiles=tile_spec,
        language=profile.language,
    )
