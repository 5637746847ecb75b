"""Template helpers of the medication pages."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """mapping[key] or "" (a posted form's value by a computed name)."""
    return mapping.get(str(key), "") if hasattr(mapping, "get") else ""


@register.filter
def add_str(value, arg):
    """Join two values as strings (`"dose-"|add_str:identifier`)."""
    return f"{value}{arg}"


@register.simple_tag
def posted_value(posted, prefix, key):
    """The posted value of the field `<prefix><key>` ("" when none)."""
    return posted.get(f"{prefix}{key}", "") if hasattr(posted, "get") else ""
