"""CSV cells that a spreadsheet will not run as formulas (shared by the stats CSV and the exports)."""
from __future__ import annotations

CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: prefix such cells with ')."""
    if value is None:
        return ""
    text = f"{value:.4f}" if isinstance(value, float) else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_PREFIXES) else text
