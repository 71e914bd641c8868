"""The ``[register]`` table of a district configuration: where the register lives, how sites are carried over.

.. code-block:: toml

    [register]
    store = "auto"          # gpkg | postgis | auto (postgis where [export] postgis is set)
    survey = 2026-04-01     # the survey (delivery) date this run stands for; today where not given
    same_land = 0.8         # see docs/configuration.md for every key

Every threshold of the carry-over is a documented, configurable default (docs/configuration.md).

Examples
--------
>>> settings = parse_register_section({"survey": "2026-04-01", "same_land": 0.9})
>>> settings.same_land, settings.survey_date()
(0.9, '2026-04-01')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from flaechen.export.settings import check_connection, check_schema
from flaechen.validation import Settings, invalid, validate


class RegisterSettings(Settings):
    """Validated ``[register]`` settings.

    Attributes
    ----------
    enabled
        Keep the register at all (``flaechen run`` with flagging).
    store
        ``gpkg``: ``OUT_DIR/register.gpkg``; ``postgis``: a schema in PostGIS; ``auto``: PostGIS where
        ``[export] postgis`` is configured, else the GeoPackage.
    connection
        The PostGIS connection (``service=…``, ``postgresql://…`` without password, or ``env``);
        ``[export] postgis`` by default.
    schema
        The register's PostGIS schema (never the export's, which each export replaces).
    survey
        Date of the survey (the delivery) this run stands for; today's date (UTC) where not given.
    same_land
        Share of both a site and a candidate that must overlap for them to be the same land when their
        parcel keys differ (renumbering, redrawn boundaries).
    contained
        Share of a piece that must lie inside the other for a split (candidates inside a site) or a merge
        (sites inside a candidate).
    ignore_overlap
        Overlaps below this share of both pieces are slivers of neighbours and ignored.
    area_change
        Relative change of a site's area reported as ``geändert``.
    built_area_min
        New building footprint on a site that no longer qualifies from which it counts as ``bebaut``.
    """

    model_config = ConfigDict(populate_by_name=True)

    enabled: bool = True
    store: Literal["auto", "gpkg", "postgis"] = "auto"
    connection: str | None = None
    schema_: str = Field("register", alias="schema")
    survey: dt.date | None = None
    same_land: float = Field(0.8, gt=0, le=1)
    contained: float = Field(0.8, gt=0, le=1)
    ignore_overlap: float = Field(0.1, ge=0, lt=1)
    area_change: float = Field(0.05, ge=0)
    built_area_min: float = Field(20.0, ge=0)

    @property
    def schema_name(self) -> str:
        """The register's PostGIS schema."""
        return self.schema_

    @field_validator("survey", mode="before")
    @classmethod
    def _survey(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise invalid(f"{value!r} is not a date", "write it as 2026-04-01") from None
        return value

    @field_validator("same_land", "contained", "ignore_overlap", "area_change", "built_area_min", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("connection")
    @classmethod
    def _connection(cls, value: str | None) -> str | None:
        return None if value is None else check_connection(value, checked="checked when the register is opened")

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str) -> str:
        return check_schema(value, example="register")

    @model_validator(mode="after")
    def _ordered(self) -> RegisterSettings:
        if self.ignore_overlap >= min(self.same_land, self.contained):
            raise ValueError("ignore_overlap must be below same_land and contained")
        return self

    def survey_date(self) -> str:
        """The survey date as ISO text (today, UTC, where not configured)."""
        return (self.survey or dt.datetime.now(dt.UTC).date()).isoformat()


def parse_register_section(section: RegisterSettings | Mapping[str, Any] | None) -> RegisterSettings:
    """Validate the ``[register]`` table (a typed table is returned as it is), every problem at once.

    Raises
    ------
    flaechen.errors.ConfigError
        Naming each bad key (``register.<key>``), what is wrong and the fix.
    """
    if isinstance(section, RegisterSettings):
        return section
    return validate(RegisterSettings, dict(section or {}), prefix="register")
