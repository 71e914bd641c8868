"""Quality findings per municipality: how well the drawn parcels match their official areas.

In real ALKIS data the official area (``amtlicheFlaeche``) differs from the drawn area by more than 0.5 %
for about a quarter of rural parcels, while the median ratio stays near 1 in the right CRS: a median far
from 1 points to a wrong CRS or scale, a large share beyond the tolerance to generalised geometries. Table
``quality`` of ``district.gpkg`` is a data-quality finding, not an error.

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> from shapely import box
>>> parcels = gpd.GeoDataFrame(
...     {"ags": ["07999101", "07999101"], "official_area": [100.0, 90.0]},
...     geometry=[box(0, 0, 10, 10), box(0, 0, 10, 10)], crs="EPSG:25832")
>>> issues = pd.DataFrame({"ags": ["07999101"], "rejected": [False]})
>>> table = area_quality(parcels, municipalities=[("07999101", "Ahausen")], tolerance=0.005, issues=issues)
>>> table[["parcels", "with_official_area", "issues"]].to_numpy().tolist(), float(table.at[0, "share_deviating"])
([[2, 2, 1]], 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def area_quality(
    parcels: gpd.GeoDataFrame,
    *,
    municipalities: Iterable[tuple[str, str]],
    tolerance: float,
    issues: pd.DataFrame,
) -> pd.DataFrame:
    """Table ``quality``: per municipality the median ratio of computed to official parcel area, the share of
    parcels deviating beyond `tolerance`, and how many issues (and rejections) the log has for it.

    Parameters
    ----------
    parcels
        Layer ``parcels`` in the (projected, metric) district CRS.
    municipalities
        (AGS, name) of every municipality of the district, in the order of the table.
    tolerance
        Relative deviation beyond which a parcel counts as deviating (``district.area_tolerance``).
    issues
        The issue log.
    """
    official = parcels["official_area"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ratio = shapely.area(np.asarray(parcels.geometry.array, dtype=object)) / official
    frame = pd.DataFrame({"ags": parcels["ags"].to_numpy(), "ratio": ratio})
    frame = frame[np.isfinite(frame["ratio"])]
    rejected = issues["rejected"].fillna(False).astype(bool)
    rows = []
    for ags, name in municipalities:
        r = frame.loc[frame["ags"] == ags, "ratio"]
        rows.append(
            {
                "ags": ags,
                "name": name,
                "parcels": int((parcels["ags"] == ags).sum()),
                "with_official_area": len(r),
                "median_area_ratio": float(r.median()) if len(r) else None,
                "share_deviating": float((np.abs(r - 1) > tolerance).mean()) if len(r) else None,
                "tolerance": tolerance,
                "issues": int((issues["ags"] == ags).sum()),
                "rejected": int(((issues["ags"] == ags) & rejected).sum()),
            }
        )
    return pd.DataFrame(rows)
