"""HTML for the pages, assembled by small functions; every value is escaped unless it is already markup.

``Markup("<td>{}</td>").format(team)`` escapes ``team``; a ``Markup`` passes through unescaped, so
pieces compose without double escaping, and a value a team supplied can only ever appear as text.
Each page is one document with one inline stylesheet and, where needed, one inline script, both
allowed by the page's Content-Security-Policy nonce; nothing is fetched from anywhere else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup

from hackkit.server.gateway import Reply

HTML = "text/html; charset=utf-8"
Cell = str | int | float | Markup | None

STYLE = """
:root{--ink:#17202a;--muted:#5d6d7e;--line:#dfe4ea;--bg:#f4f6f9;--card:#fff;--accent:#3b5bdb;--good:#2b8a3e;
--warn:#e67700;--bad:#c92a2a;--code:#0f172a}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
header.top{background:#1b2a41;color:#fff;padding:.8rem 2rem;display:flex;align-items:center;gap:1.5rem;flex-wrap:wrap}
header.top h1{font-size:1.25rem;margin:0;font-weight:650}header.top .who{margin-left:auto;color:#c7d2fe}
header.top a{color:#dbe4ff}header.top form{margin:0}
main{padding:1.2rem 2rem 3rem;max-width:1400px;margin:0 auto}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1.2rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.2rem;margin-bottom:1.2rem;
overflow-x:auto}.card h2{font-size:1.1rem;margin:.1rem 0 .8rem}.card h3{font-size:1rem;margin:1rem 0 .4rem}
.stats{display:flex;gap:1rem;flex-wrap:wrap;margin-bottom:1.2rem}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.7rem 1.1rem;min-width:150px}
.stat b{display:block;font-size:1.6rem;font-weight:650}.stat span{color:var(--muted);font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}th{text-align:left;color:var(--muted);font-weight:600;
border-bottom:2px solid var(--line);padding:.35rem .5rem;white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:.35rem .5rem;vertical-align:top}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}tr.bad td{color:var(--bad)}
.muted{color:var(--muted)}.empty{color:var(--muted);font-style:italic;padding:.4rem 0}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:99px;font-size:.8rem;font-weight:600;
background:#e7f5ff;color:#1864ab}.badge.active,.badge.ok{background:#ebfbee;color:var(--good)}
.badge.pending{background:#fff4e6;color:var(--warn)}.badge.revoked,.badge.denied,.badge.error,.badge.refused{
background:#fff5f5;color:var(--bad)}
.notice{padding:.7rem 1rem;border-radius:8px;margin-bottom:1rem;background:#e7f5ff;border:1px solid #a5d8ff}
.notice.error{background:#fff5f5;border-color:#ffc9c9;color:var(--bad)}.notice.good{background:#ebfbee;
border-color:#b2f2bb}
form.inline{display:inline-flex;gap:.4rem;align-items:center;margin:.15rem 0;flex-wrap:wrap}
form.stack{display:grid;gap:.6rem;max-width:520px}label{font-weight:600;font-size:.9rem}
label span{display:block;font-weight:400;color:var(--muted);font-size:.8rem}
input[type=text],input[type=password],input[type=number],textarea{font:inherit;padding:.4rem .55rem;
border:1px solid #ced4da;border-radius:6px;width:100%}form.inline input{width:auto}form.inline input.w-s{width:4.5rem}
form.inline input.w-m{width:8rem}form.inline input.w-l{width:12.5rem}td.actions,table.tail td{white-space:nowrap}
button{font:inherit;font-weight:600;border:0;border-radius:6px;padding:.4rem .9rem;background:var(--accent);
color:#fff;cursor:pointer}button.danger{background:var(--bad)}button.quiet{background:#e9ecef;color:var(--ink)}
button.good{background:var(--good)}
pre{background:var(--code);color:#e2e8f0;padding:.8rem 1rem;border-radius:8px;overflow-x:auto;font-size:.85rem;
margin:.3rem 0 .8rem}code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
details{margin:.3rem 0}summary{cursor:pointer;font-weight:600;color:var(--accent)}
.model{border-top:1px solid var(--line);padding:.9rem 0;display:grid;grid-template-columns:minmax(240px,1fr) 2.6fr;
gap:1.2rem}.model:first-of-type{border-top:0}.model p{margin:.2rem 0}
.model h3{margin:0 0 .2rem;font-size:1.15rem}.facts{color:var(--muted);font-size:.9rem}
.secret{font:1.05rem ui-monospace,monospace;background:#fff9db;border:1px solid #ffe066;padding:.6rem .8rem;
border-radius:6px;word-break:break-all}
svg text{font:12px system-ui,sans-serif;fill:#5d6d7e}.legend{font-size:.85rem;color:var(--muted)}
.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin:0 .3rem 0 .8rem;vertical-align:-1px}
.legend i.a{background:#3b5bdb}.legend i.b{background:#c92a2a}.legend i.c{background:#f08c00}
nav.window a{margin-right:.6rem}nav.window a.on{font-weight:700;color:var(--ink);text-decoration:none}
"""


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def security_headers(nonce: str) -> dict[str, str]:
    """Nothing from another origin: no CDN, no font, no frame, forms posted only here."""
    policy = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "content-security-policy": policy,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "cache-control": "no-store",
    }


def document(title: str, top: Markup, body: Markup, nonce: str, script: str = "") -> Markup:
    script_tag = Markup("<script nonce='{}'>{}</script>").format(nonce, Markup(script)) if script else Markup("")
    return Markup(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>{}</title>"
        "<style nonce='{}'>{}</style></head><body>{}<main>{}</main>{}</body></html>"
    ).format(title, nonce, Markup(STYLE), top, body, script_tag)


def html_reply(status: int, page: Markup, nonce: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, str(page).encode(), {**security_headers(nonce), **(headers or {})}, content_type=HTML)


def redirect(location: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(303, b"", {"location": location, "cache-control": "no-store", **(headers or {})}, content_type=HTML)


def top_bar(title: str, links: Sequence[tuple[str, str]] = (), who: Markup | str = "") -> Markup:
    anchors = join(Markup("<a href='{}'>{}</a>").format(href, text) for href, text in links)
    return Markup("<header class='top'><h1>{}</h1>{}<div class='who'>{}</div></header>").format(title, anchors, who)


def join(parts: Iterable[Any]) -> Markup:
    return Markup("").join(parts)


def card(title: str, body: Markup, anchor: str = "", extra: Markup | str = "") -> Markup:
    return Markup("<section class='card' id='{}'><h2>{}{}</h2>{}</section>").format(anchor, title, extra, body)


def stat(value: str, label: str) -> Markup:
    return Markup("<div class='stat'><b>{}</b><span>{}</span></div>").format(value, label)


def badge(status: str) -> Markup:
    return Markup("<span class='badge {}'>{}</span>").format(status, status)


def notice(text: str | Markup, kind: str = "") -> Markup:
    return Markup("<div class='notice {}' role='status'>{}</div>").format(kind, text)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    numeric: Sequence[int] = (),
    actions: int | None = None,
    empty: str = "",
) -> Markup:
    """A table; the columns at ``numeric`` align right, the one at ``actions`` (forms) never wraps.

    ``empty`` is shown when there are no rows.
    """
    classes = {**{i: "num" for i in numeric}, **({actions: "actions"} if actions is not None else {})}
    head = join(Markup("<th class='{}'>{}</th>").format(classes.get(i, ""), h) for i, h in enumerate(headers))
    body = [_row(row, classes) for row in rows]
    if not body:
        return Markup("<p class='empty'>{}</p>").format(empty or "Nothing yet.")
    return Markup("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>").format(head, join(body))


def _row(row: Sequence[Cell], classes: dict[int, str]) -> Markup:
    cells = join(
        Markup("<td class='{}'>{}</td>").format(classes.get(i, ""), "" if cell is None else cell)
        for i, cell in enumerate(row)
    )
    return Markup("<tr>{}</tr>").format(cells)


def hidden(name: str, value: str) -> Markup:
    return Markup("<input type='hidden' name='{}' value='{}'>").format(name, value)


def text_input(name: str, value: str = "", *, kind: str = "text", placeholder: str = "", extra: str = "") -> Markup:
    """An input; ``extra`` is a fixed attribute string from this module's callers (required, class)."""
    return Markup("<input type='{}' name='{}' value='{}' placeholder='{}' {}>").format(
        kind, name, value, placeholder, Markup(extra)
    )


def labelled(label: str, control: Markup, help_text: str = "") -> Markup:
    helper = Markup("<span>{}</span>").format(help_text) if help_text else Markup("")
    return Markup("<label>{}{}{}</label>").format(label, helper, control)


def form(action: str, csrf: str, fields: Markup, button: str, *, cls: str = "inline", style: str = "") -> Markup:
    """A POST form with its CSRF token."""
    return Markup(
        "<form method='post' action='{}' class='{}'>{}{}<button type='submit' class='{}'>{}</button></form>"
    ).format(action, cls, hidden("csrf", csrf), fields, style, button)


def code(text: str) -> Markup:
    return Markup("<pre><code>{}</code></pre>").format(text)


def ago(seconds: float) -> str:
    for unit, span in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= span:
            return f"{int(seconds // span)} {unit} ago"
    return f"{int(max(0, seconds))} s ago"
