"""One row of the benchmark table (figure, baseline from the same run, ratio, target) and how the table prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    """A measured figure next to its baseline; ``ratio`` is figure ÷ baseline (for a ceiling: share of it)."""

    what: str
    figure: float
    unit: str
    baseline: float | None
    baseline_label: str
    target: str
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.figure / self.baseline


HEADERS = ("what", "figure", "baseline (same run)", "ratio", "target", "detail")


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio_text(ratio: float) -> str:
    """Two decimals, or "1/N" for a ratio too small for them (a gas row's batch is thousands of times cheaper)."""
    return f"{ratio:.2f}×" if ratio >= 0.01 else f"1/{1 / ratio:,.0f}"


def render(rows: list[Row]) -> str:
    """The rows as a Markdown table, so a run can be pasted into docs/PERFORMANCE.md as it is."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in rows:
        baseline = "—" if row.baseline is None else f"{_number(row.baseline)} {row.baseline_label}"
        ratio = "—" if row.ratio is None else ratio_text(row.ratio)
        cells = (row.what, f"{_number(row.figure)} {row.unit}", baseline, ratio, row.target, row.detail)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
