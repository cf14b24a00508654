"""The report's HTML: one file, its pictures inline as data: URIs, no script, nothing fetched."""
from __future__ import annotations

import base64
from html import escape

from .figures import ALERT_COLOURS

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#12355b;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px;font-weight:600} header p{margin:4px 0 0;opacity:.8}
main{padding:8px 28px 40px;max-width:1320px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px} h3{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}
th{font-weight:600;color:#444} td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:10px 48px;align-items:flex-start}
.bar{display:inline-block;height:10px;border-radius:2px;vertical-align:middle}
.server h3{margin:10px 0 0} .server{border-top:1px solid #eee;padding-top:4px}
.note{color:#666;font-size:12.5px} img{max-width:100%;height:auto;display:block}
code{font-size:12.5px;background:#f3f3f3;padding:1px 4px;border-radius:3px}
"""


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """rows hold HTML already escaped by the caller."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def counts_table(title: str, counts: dict[str, int], codes: dict[str, int]) -> str:
    top = max(counts.values(), default=0) or 1
    rows = []
    for kind, n in counts.items():
        colour = ALERT_COLOURS[codes.get(kind, 3)]
        bar = f'<span class="bar" style="width:{max(2, round(160 * n / top))}px;background:{colour}"></span>'
        rows.append([escape(kind), f'<span class="count" data-kind="{escape(kind)}">{n}</span>', bar])
    return f"<div><h3>{escape(title)}</h3>{table(['alert', 'windows', ''], rows, {1})}</div>"


def document(title: str, subtitle: str, sections: list[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header><main>\n"
            + "\n".join(sections) + "\n</main></body></html>\n")


def section(ident: str, heading: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<section id="{ident}"><h2>{escape(heading)}</h2>{note_html}{body}</section>'
