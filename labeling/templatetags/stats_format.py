"""``{{ value|pct }}`` and ``{{ value|pct:0 }}``: a ratio as a percentage, or an em dash for None."""
from django import template

register = template.Library()


@register.filter
def pct(value, digits=1):
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"
