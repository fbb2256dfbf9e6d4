"""Plain words for a household: what an alert of a kind and direction means, what to do.

The alert's device is the attacker for ``outbound``/``internal`` alerts and the victim for
``inbound`` ones, so the sentences speak from that device's side.

Example:
    >>> explain("scan", "outbound").startswith("This device is probing")
    True
"""

from __future__ import annotations

_TEXT: dict[tuple[str, str], str] = {
    ("scan", "outbound"): "This device is probing other machines on the Internet. Healthy devices "
    "do not do that: it is very likely infected and recruited into a botnet.",
    ("scan", "internal"): "This device is probing other devices in your home. Unless you run a "
    "network scanner on it, it is probably infected.",
    ("scan", "inbound"): "Machines on the Internet are probing this device. It is reachable from "
    "outside; close the port on your router if you did not open it on purpose.",
    ("bruteforce", "outbound"): "This device is trying passwords on other machines: it is very "
    "likely infected.",
    ("bruteforce", "internal"): "This device is trying passwords on another device in your "
    "home: unless you run such a tool on purpose, it is probably infected.",
    ("bruteforce", "inbound"): "Someone on the Internet is trying passwords on this device. Change "
    "its default password and stop exposing the login to the Internet.",
    ("dos", "outbound"): "This device is taking part in a denial-of-service attack on someone "
    "else: it is infected and uses your connection as a weapon.",
    ("dos", "internal"): "This device is flooding another device in your home.",
    ("dos", "inbound"): "This device is under a flood attack from the Internet.",
    ("c2", "outbound"): "This device keeps contact with a suspected botnet controller.",
    ("c2", "internal"): "This device talks to another one in your home the way botnets "
    "are controlled.",
    ("c2", "inbound"): "A suspected botnet controller is talking to this device.",
    ("mining", "outbound"): "This device is mining crypto-currency for someone, using your "
    "electricity: it is probably infected.",
    ("exploit", "inbound"): "Someone sent this device a known attack against IoT devices.",
    ("exploit", "outbound"): "This device sends known IoT attacks to others: it is infected.",
    ("exploit", "internal"): "This device sends known IoT attacks to another device in your "
    "home: it is probably infected.",
    ("malware", "inbound"): "Someone tried to make this device download and run a program.",
    ("malware", "outbound"): "This device tries to make others download and run a program: it "
    "spreads malware.",
    ("malware", "internal"): "This device tries to plant a program on another device in your home.",
    ("intel", "outbound"): "This device talks to an address on a threat-intelligence list.",
    ("intel", "inbound"): "An address on a threat-intelligence list contacted this device.",
    ("spoofing", "internal"): "This device pretends to be another device or service in your "
    "home (often the router) to divert traffic through itself: someone may be reading it. "
    "Unless it is a security tool you run, it is probably infected.",
    ("spoofing", "inbound"): "Something on your network sends this device forged answers, "
    "pretending to be another device or service, to divert its traffic: what it sends may be "
    "read or changed.",
}

_DEFAULT = {
    "outbound": "This device shows attack behaviour towards the outside.",
    "inbound": "This device is targeted from outside.",
    "internal": "Suspicious traffic between devices in your home.",
    "external": "Suspicious traffic between two hosts outside your configured home networks.",
}


def explain(kind: str, direction: str) -> str:
    """One or two sentences for a household, for an alert's kind and direction."""
    return _TEXT.get((kind, direction)) or _DEFAULT.get(direction, "Suspicious traffic.")
