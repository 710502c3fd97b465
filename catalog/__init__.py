"""Model catalog and pure cost math: a leaf package every other package may import."""

from catalog.catalog import Catalog, ModelSpec, load_catalog
from catalog.cost import Price, Rate, Usage, add_costs, cost, images_cost
from catalog.errors import BadModelData, CatalogError, UnknownModel

__all__ = [
    "BadModelData",
    "Catalog",
    "CatalogError",
    "ModelSpec",
    "Price",
    "Rate",
    "UnknownModel",
    "Usage",
    "add_costs",
    "cost",
    "images_cost",
    "load_catalog",
]
