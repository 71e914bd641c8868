"""flaechen: circular land use (Flächenkreislaufwirtschaft) for a district and its municipalities.

Merge each municipality's cadastral, zoning, brownfield and building deliveries into one checked district
dataset, flag and explain reuse candidates, and hand the result to planners, analysts and citizens.
"""

__version__ = "0.1.0"
