"""The report page: one HTML file with the tables, the figures (inlined) and video players per pair."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from kfbench.report.tables import Table
from kfbench.utils.escaping import url_path

# Marks each <video> with data-state="loaded" once a source decodes, or "error" (and says so on
# the page) when none can be played; tests read the marks in headless Chromium.
_VIDEO_SCRIPT = """
document.querySelectorAll('video').forEach(function (video) {
  video.dataset.state = video.readyState >= 2 ? 'loaded' : 'pending';
  video.addEventListener('loadeddata', function () { video.dataset.state = 'loaded'; });
  var fail = function () {
    video.dataset.state = 'error';
    var note = document.createElement('div');
    note.className = 'error';
    note.textContent = 'this browser cannot play this video';
    video.after(note);
  };
  var sources = video.querySelectorAll('source');
  if (sources.length) {
    sources[sources.length - 1].addEventListener('error', fail);
  } else {
    video.addEventListener('error', fail);
  }
});
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
.table-scroll { overflow-x: auto; max-width: 100%; margin-bottom: 1em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
td { min-width: 8em; }
th:first-child, td:first-child { text-align: left; position: sticky; left: 0; background: #fff; }
th.paper, td.paper { background: #f3f0e6; font-style: italic; }
.caption { font-size: 0.9em; margin: 1em 0 0.4em; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
.videos { display: flex; flex-wrap: wrap; gap: 0.8em; margin-bottom: 1.5em; }
.videos figure { margin: 0; } .videos figcaption { font-size: 0.8em; text-align: center; }
.videos video { width: 320px; max-width: 100%; height: auto; }
.error { color: #b00; font-size: 0.8em; } .notes { font-size: 0.85em; color: #555; }
"""


@dataclass
class VideoCell:
    label: str
    path: Path


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def table_html(table: Table) -> str:
    paper = [h.endswith("(paper)") for h in table.header]
    head = "".join(
        f'<th class="paper">{html.escape(h)}</th>' if p else f"<th>{html.escape(h)}</th>"
        for h, p in zip(table.header, paper)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="paper">{html.escape(c)}</td>' if p else f"<td>{html.escape(c)}</td>"
            for c, p in zip(row, paper)
        )
        + "</tr>"
        for row in table.rows
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    settings = "".join(f"<li>{html.escape(line)}</li>" for line in table.provenance)
    return (
        (f'<ul class="notes">{settings}</ul>' if settings else "")
        + f'<p class="caption">{html.escape(table.caption)}</p><div class="table-scroll"><table>'
        + f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
    )


def missing_summary(tables: list[Table]) -> list[str]:
    """Every reason a table cell is missing, once for the whole page, with the metric and runs it empties."""
    reasons: dict[str, dict[str, list[str]]] = {}  # reason -> "dataset metric label" -> runs
    for table in tables:
        for reason, cells in table.missing.items():
            for cell in cells:
                runs = reasons.setdefault(reason, {}).setdefault(f"{cell.dataset} {cell.metric}", [])
                runs += [cell.run] if cell.run not in runs else []
    lines = []
    for reason, columns in reasons.items():
        parts = [f"{column} ({_runs_text(runs)})" for column, runs in columns.items()]
        lines.append(f"{'; '.join(parts)}: {reason}")
    return lines


def _runs_text(runs: list[str], shown: int = 3) -> str:
    if len(runs) <= shown:
        return ", ".join(runs)
    return f"{len(runs)} runs: {', '.join(runs[:shown])}, ..."


def video_html(cell: VideoCell, root: Path, embed: bool) -> str:
    src = data_uri(cell.path, "video/mp4") if embed else url_path(cell.path.relative_to(root).as_posix())
    return (
        f'<figure><video controls loop muted playsinline preload="auto">'
        f'<source src="{html.escape(src)}" type="video/mp4"></video>'
        f"<figcaption>{html.escape(cell.label)}</figcaption></figure>"
    )


def render_page(
    root: Path,
    title: str,
    intro: list[str],
    tables: list[Table],
    figures: list[tuple[str, Path]],
    videos: dict[str, list[VideoCell]],
    embed_videos: bool,
) -> str:
    """The page's HTML; figures are inlined, videos inlined or linked relative to ``root``."""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
    ]
    parts += [f"<p>{html.escape(line)}</p>" for line in intro]
    parts.append("<h2>Tables</h2>")
    missing = missing_summary(tables)
    if missing:
        parts.append("<p>Metrics shown as — (missing) in the tables below, once per reason:</p>")
        parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(line)}</li>" for line in missing) + "</ul>")
    parts += [table_html(t) for t in tables]
    parts.append("<h2>Figures</h2>")
    for caption, png in figures:
        parts.append(
            f'<figure><img alt="{html.escape(caption)}" src="{data_uri(png, "image/png")}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("<h2>Videos</h2>")
    for heading, cells in videos.items():
        parts.append(f"<h3>{html.escape(heading)}</h3><div class='videos'>")
        parts += [video_html(c, root, embed_videos) for c in cells]
        parts.append("</div>")
    parts.append(f"<script>{_VIDEO_SCRIPT}</script></body></html>")
    return "\n".join(parts)
