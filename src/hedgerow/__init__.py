"""Hedgerow: open-source IoT security for households, device makers and the public side.

Three tiers share one vocabulary (see ``docs/DESIGN.md``): the device agent
(:mod:`hedgerow.agent`), the gateway sensor (:mod:`hedgerow.capture`, :mod:`hedgerow.flows`,
:mod:`hedgerow.detect`, ...) and the protection-network hub (:mod:`hedgerow.hub`).
"""

__version__ = "0.1.0"
