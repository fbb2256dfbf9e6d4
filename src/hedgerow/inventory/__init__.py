"""Inventory: every device on the network, who made it and what it is, from its traffic.

Example:
    >>> from hedgerow.inventory import InventoryBuilder
    >>> builder = InventoryBuilder()
    >>> builder.finish().devices
    []
"""

from hedgerow.inventory.builder import Inventory, InventoryBuilder, ParseStats, build_inventory
from hedgerow.inventory.classify import Classifier, KindVerdict, RuleError, VendorVerdict
from hedgerow.inventory.observation import DeviceObservation
from hedgerow.inventory.oui import MacVendor, OuiDatabase, OuiDataMissing

__all__ = [
    "Classifier",
    "DeviceObservation",
    "Inventory",
    "InventoryBuilder",
    "KindVerdict",
    "MacVendor",
    "OuiDataMissing",
    "OuiDatabase",
    "ParseStats",
    "RuleError",
    "VendorVerdict",
    "build_inventory",
]
