#!/usr/bin/python3
"""Render a PNG of a flaechen QGIS project (`district.qgz`) with QGIS itself, headless.

Uses QGIS's Python API (Debian: python3-qgis), so run it with the system Python, not the project venv:

    /usr/bin/python3 scripts/render_qgis.py out/demo/district.qgz out/demo/district.png

The map shows the project's visible layers with their styles and labels, in the project CRS, over the
project's start extent (the district). It is a check that the project opens and looks as intended, and a
picture for documentation.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")

log = logging.getLogger("render_qgis")


def _with_legend(image, layers, settings_of_map, *, dpi: int):
    """Return `image` with a legend of `layers` (the classes drawn on the map) to its right."""
    from qgis.core import (
        QgsLayerTree,
        QgsLayerTreeModel,
        QgsLegendRenderer,
        QgsLegendSettings,
        QgsRenderContext,
    )
    from qgis.PyQt.QtCore import QSizeF
    from qgis.PyQt.QtGui import QColor, QImage, QPainter

    root = QgsLayerTree()
    for layer in layers:
        root.addLayer(layer)
    model = QgsLayerTreeModel(root)
    model.setLegendFilter(settings_of_map, True)  # only the classes drawn on this map
    settings = QgsLegendSettings()
    settings.setTitle("Legende")
    renderer = QgsLegendRenderer(model, settings)
    dots_per_mm = dpi / 25.4
    probe = QImage(10, 10, QImage.Format_ARGB32_Premultiplied)
    painter = QPainter(probe)
    context = QgsRenderContext.fromQPainter(painter)
    context.setScaleFactor(dots_per_mm)
    size_mm: QSizeF = renderer.minimumSize(context)
    painter.end()
    legend_width = int(size_mm.width() * dots_per_mm) + 20
    height = max(image.height(), int(size_mm.height() * dots_per_mm) + 20)
    combined = QImage(image.width() + legend_width, height, QImage.Format_ARGB32_Premultiplied)
    combined.fill(QColor(255, 255, 255))
    painter = QPainter(combined)
    painter.drawImage(0, 0, image)
    painter.translate(image.width() + 10, 10)
    painter.scale(dots_per_mm, dots_per_mm)
    context = QgsRenderContext.fromQPainter(painter)
    context.setScaleFactor(dots_per_mm)
    renderer.drawLegend(context)
    painter.end()
    return combined


def render(project_path: Path, png: Path, *, width: int, dpi: int, legend: bool = True) -> Path:
    """Render the project's start view into `png`, with a legend unless `legend` is false."""
    from qgis.core import (
        QgsMapRendererParallelJob,
        QgsMapSettings,
        QgsProject,
        QgsRectangle,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    project = QgsProject.instance()
    if not project.read(str(project_path)):
        raise RuntimeError(f"{project_path}: QGIS cannot read the project: {project.error()}")
    layers = [
        node.layer()
        for node in project.layerTreeRoot().findLayers()
        if node.isVisible() and node.layer() is not None and node.layer().isSpatial()
    ]
    broken = [layer.name() for layer in layers if not layer.isValid()]
    if broken:
        raise RuntimeError(f"{project_path}: layers not found (paths?): {', '.join(broken)}")
    extent = project.viewSettings().defaultViewExtent()
    if extent.isEmpty():
        extent = QgsRectangle()
        for layer in layers:
            extent.combineExtentWith(layer.extent())
    height = max(1, round(width * extent.height() / extent.width()))

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    settings.setTransformContext(project.transformContext())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(width, height))
    settings.setOutputDpi(dpi)
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setFlag(QgsMapSettings.DrawLabeling, True)
    settings.setFlag(QgsMapSettings.Antialiasing, True)

    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    for error in job.errors():
        log.warning("%s: %s", error.layerID, error.message)
    image = job.renderedImage()
    if legend:
        image = _with_legend(image, layers, settings, dpi=dpi)
    png.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(png), "PNG"):
        raise RuntimeError(f"{png}: cannot write the image")
    log.info("rendered %d layers of %s into %s (%d × %d px)", len(layers), project_path, png, width, height)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render a PNG of a flaechen QGIS project with QGIS.")
    parser.add_argument("project", type=Path, help="the project, e.g. out/demo/district.qgz")
    parser.add_argument("png", type=Path, nargs="?", help="the image (default: beside the project)")
    parser.add_argument("--width", type=int, default=1600, help="width in pixels (default 1600)")
    parser.add_argument("--dpi", type=int, default=150, help="resolution for symbol sizes (default 150)")
    parser.add_argument("--no-legend", action="store_true", help="the map only, without a legend")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from qgis.core import QgsApplication
    except ImportError:
        print(
            "error: QGIS's Python API is missing; install python3-qgis and run with /usr/bin/python3", file=sys.stderr
        )
        return 2
    if not args.project.is_file():
        print(
            f"error: {args.project}: no such project; run `flaechen run` or `flaechen export --format qgis` first",
            file=sys.stderr,
        )
        return 2
    app = QgsApplication([], False)
    app.initQgis()
    try:
        render(
            args.project,
            args.png or args.project.with_suffix(".png"),
            width=args.width,
            dpi=args.dpi,
            legend=not args.no_legend,
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        from qgis.core import QgsProject

        QgsProject.instance().clear()
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
