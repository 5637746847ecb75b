"""Template filters for result tables."""

from django import template

from labresults.selectors import is_abnormal

register = template.Library()


@register.filter
def abnormal(result) -> bool:
    """Whether a result is outside its reference interval (or critical)."""
    return is_abnormal(result)
