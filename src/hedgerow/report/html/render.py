"""The household report: one self-contained HTML file (inline CSS, no scripts or external
assets) that reads well on a phone: the household's risk, what to do first, attacks in and
out, and every device with what is wrong with it.

It renders a report document - ``report.json`` of ``hedgerow scan`` with the ``devices``,
``findings`` and ``risk`` sections, or the same sections from ``hedgerow inventory`` - so
the HTML can be made again from a saved report.

Example:
    >>> page = render_html({"devices": [], "findings": [], "alerts": [],
    ...                     "risk": {"household": {"score": 0, "band": "low",
    ...                              "explanation": "Nothing risky was seen.", "drivers": []}}})
    >>> page.startswith("<!DOCTYPE html>") and "Nothing risky was seen." in page
    True
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from html import escape
from importlib import resources
from string import Template
from typing import Any

from hedgerow import __version__

_SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
_FIRST_STEPS_LIMIT = 6


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _when(ts: float | None) -> str:
    if ts is None:
        return "?"
    return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pill(band: str, text: str | None = None) -> str:
    return f'<span class="pill bg-{_e(band)}">{_e(text or band)}</span>'


def _name(device: dict[str, Any]) -> str:
    what = " ".join(str(p) for p in (device.get("vendor"), device.get("kind")) if p)
    label = device.get("name") or device.get("model")
    if what and label:
        return f"{what} ({label})"
    return what or str(label or device.get("key") or "unknown device")


def _device_index(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Device key and each of its IPs -> device entry."""
    index: dict[str, dict[str, Any]] = {}
    for d in doc.get("devices") or []:
        index[str(d.get("key"))] = d
        for ip in d.get("ips") or []:
            index.setdefault(str(ip), d)
    return index


def _hero(doc: dict[str, Any]) -> str:
    risk = (doc.get("risk") or {}).get("household") or {}
    band, score = risk.get("band", "low"), risk.get("score", 0)
    devices = doc.get("devices") or []
    alerts = doc.get("alerts") or []
    out = sum(a.get("direction") == "outbound" for a in alerts)
    inbound = sum(a.get("direction") == "inbound" for a in alerts)
    span = doc.get("time_span") or {}
    when = (
        f'<p class="muted">Traffic from {_when(span.get("first"))} to {_when(span.get("last"))}</p>'
        if span.get("first")
        else ""
    )
    return f"""<h1>Your home network</h1>
<section class="card"><div class="hero">
<div class="dial bg-{_e(band)}" role="img" aria-label="risk {score} of 100">
<b>{_e(score)}</b><small>{_e(band)}</small></div>
<div><p><strong>{_e(risk.get("explanation", ""))}</strong></p>{when}</div></div>
<div class="stats"><div class="stat"><b>{len(devices)}</b>devices</div>
<div class="stat"><b>{len(doc.get("findings") or [])}</b>weaknesses</div>
<div class="stat"><b>{out}</b>attacks from your devices</div>
<div class="stat"><b>{inbound}</b>attacks on your devices</div></div></section>"""


def _todo(doc: dict[str, Any], index: dict[str, dict[str, Any]]) -> str:
    items: list[tuple[int, str]] = []
    attacking: dict[str, list[dict[str, Any]]] = defaultdict(list)
    attacked: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in doc.get("alerts") or []:
        (attacking if a.get("direction") == "outbound" else attacked)[a.get("device", "")].append(a)
    for key, alerts in attacking.items():
        name = _name(index[key]) if key in index else key
        kinds = ", ".join(sorted({str(a.get("kind")) for a in alerts}))
        items.append(
            (
                10,
                f"<strong>Disconnect {_e(name)} now.</strong> It is attacking other "
                f"machines ({_e(kinds)}), so it is probably infected: unplug it, "
                "reset it to factory settings, update it and set a new password "
                "before you reconnect it.",
            )
        )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in doc.get("findings") or []:
        groups[str(f.get("check_id"))].append(f)
    for findings in groups.values():
        worst = max(findings, key=lambda f: _SEVERITY_RANK.get(str(f.get("severity")), 0))
        rank = _SEVERITY_RANK.get(str(worst.get("severity")), 0)
        if rank < 2:
            continue
        names = sorted(
            {
                _name(index[f["device"]]) if f.get("device") in index else str(f.get("device"))
                for f in findings
            }
        )
        who = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        items.append(
            (
                rank * 2,
                f"<strong>{_e(worst.get('title'))}</strong> — {_e(who)}. "
                f"{_e(worst.get('fix_household'))}",
            )
        )
    for key, alerts in attacked.items():
        if key in attacking:
            continue
        worst_rank = max(_SEVERITY_RANK.get(str(a.get("severity")), 0) for a in alerts)
        if worst_rank < 3:
            continue
        name = _name(index[key]) if key in index else key
        items.append(
            (
                worst_rank * 2 - 1,
                f"<strong>{_e(name)} is being attacked.</strong> Make sure it is not "
                "reachable from the internet (no port forwarding, UPnP off on the "
                "router) and that its password is not the factory one.",
            )
        )
    if not items:
        return (
            '<h2>What to do first</h2><section class="card"><p>Nothing urgent. Keep your '
            "devices updated and their passwords unique.</p></section>"
        )
    items.sort(key=lambda i: -i[0])
    lis = "".join(f"<li>{text}</li>" for _, text in items[:_FIRST_STEPS_LIMIT])
    return f'<h2>What to do first</h2><section class="card"><ol class="todo">{lis}</ol></section>'


def _attacks(doc: dict[str, Any], index: dict[str, dict[str, Any]]) -> str:
    alerts = doc.get("alerts") or []
    if not alerts:
        return (
            '<h2>Attacks</h2><section class="card"><p>No attack on or from your devices was '
            "seen in this traffic.</p></section>"
        )
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in alerts:
        by_device[str(a.get("device"))].append(a)
    cards = []
    for key, items in sorted(
        by_device.items(),
        key=lambda kv: -max(_SEVERITY_RANK.get(str(a.get("severity")), 0) for a in kv[1]),
    ):
        name = _name(index[key]) if key in index else key
        rows = []
        for a in sorted(items, key=lambda a: -_SEVERITY_RANK.get(str(a.get("severity")), 0))[:8]:
            out = a.get("direction") == "outbound"
            arrow = (
                '<span class="dir dir-out">attacking →</span>'
                if out
                else '<span class="dir dir-in">← attacked</span>'
            )
            peers = ", ".join(str(p) for p in (a.get("peers") or [])[:3])
            rows.append(
                f"<li>{arrow} {_pill(str(a.get('severity')))} {_e(a.get('summary'))}"
                f'<br><span class="muted">{_e(a.get("kind"))} · {_e(peers)} · '
                f"{_when(a.get('start'))}</span></li>"
            )
        more = f'<p class="muted">and {len(items) - 8} more alerts</p>' if len(items) > 8 else ""
        cards.append(
            f'<section class="card"><h3>{_e(name)}</h3>'
            f'<p class="muted">{_e(key)}</p><ul class="issues">{"".join(rows)}</ul>'
            f"{more}</section>"
        )
    return "<h2>Attacks</h2>" + "".join(cards)


def _device_card(device: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    risk = device.get("risk") or {"score": 0, "band": "low", "explanation": ""}
    issues = "".join(
        f"<li>{_pill(str(f.get('severity')))} <strong>{_e(f.get('title'))}</strong>"
        f"<p>{_e(f.get('fix_household'))}</p>"
        f'<details><summary>Evidence and standards</summary><dl class="kv">'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in (f.get("evidence") or {}).items())
        + "".join(
            f"<dt>{_e(k)}</dt><dd>{_e(', '.join(v))}</dd>"
            for k, v in (f.get("standards") or {}).items()
        )
        + f"<dt>maker's fix</dt><dd>{_e(f.get('fix_manufacturer'))}</dd></dl></details></li>"
        for f in sorted(findings, key=lambda f: -_SEVERITY_RANK.get(str(f.get("severity")), 0))
    )
    evidence = device.get("evidence") or {}
    facts = [
        ("MAC", device.get("mac")),
        ("IP", ", ".join(device.get("ips") or [])),
        ("maker", device.get("vendor")),
        ("kind", device.get("kind")),
        ("model", device.get("model")),
        ("seen", f"{_when(device.get('first_seen'))} – {_when(device.get('last_seen'))}"),
        ("services", ", ".join(device.get("services") or [])),
        ("talks to", ", ".join((device.get("peers") or [])[:6])),
        ("why this kind", "; ".join(evidence.get("kind") or [])),
        ("why this maker", "; ".join(evidence.get("vendor") or [])),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v)
    score_text = f"{risk.get('score')}/100"
    body = (
        f'<ul class="issues">{issues}</ul>'
        if issues
        else '<p class="muted">Nothing wrong was seen.</p>'
    )
    return (
        f'<section class="card"><div class="dev-head"><h3>{_e(_name(device))}</h3>'
        f"{_pill(str(risk.get('band')), score_text)}</div>"
        f'<p class="muted">{_e(risk.get("explanation"))}</p>{body}'
        f'<details><summary>About this device</summary><dl class="kv">{dl}</dl>'
        f"</details></section>"
    )


def _devices(doc: dict[str, Any]) -> str:
    devices = doc.get("devices") or []
    findings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in doc.get("findings") or []:
        findings[str(f.get("device"))].append(f)
    ranked = sorted(devices, key=lambda d: -((d.get("risk") or {}).get("score") or 0))
    cards = "".join(_device_card(d, findings.get(str(d.get("key")), [])) for d in ranked)
    return f"<h2>Your devices ({len(devices)})</h2>{cards or '<p>No devices were seen.</p>'}"


def render_html(doc: dict[str, Any], title: str = "Hedgerow household report") -> str:
    """The report page for a report document (see the module docstring)."""
    index = _device_index(doc)
    body = "".join(
        (
            _hero(doc),
            _todo(doc, index),
            _attacks(doc, index),
            _devices(doc),
            "<footer>Made by Hedgerow from your network traffic. Weaknesses are mapped to "
            "ETSI EN 303 645, NISTIR 8259A and the OWASP IoT Top 10 (2018).</footer>",
        )
    )
    template = Template(
        resources.files("hedgerow.report.html").joinpath("template.html").read_text("utf-8")
    )
    return template.substitute(title=_e(title), body=body, generator=_e(f"hedgerow {__version__}"))
