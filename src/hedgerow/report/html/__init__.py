"""The single-file HTML household report.

Example:
    >>> from hedgerow.report.html import render_html
    >>> "<style>" in render_html({})
    True
"""

from hedgerow.report.html.render import render_html

__all__ = ["render_html"]
