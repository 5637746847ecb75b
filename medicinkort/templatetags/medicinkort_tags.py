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


_options: dict = {}


@register.simple_tag
def drug_options(selected=""):
    """The catalogue as `<option>`s, built once per process and catalogue state (one small query
    to check the state), so a page with drug pickers does not render 639 options through the
    widget machinery each time."""
    from django.db.models import Count, Max
    from django.utils.html import format_html_join
    from django.utils.safestring import mark_safe

    from medicinkort.models import Drug

    state = Drug.objects.filter(is_active=True).aggregate(n=Count("id"), at=Max("updated_at"))
    key = (state["n"], state["at"])
    if _options.get("key") != key:
        drugs = Drug.objects.filter(is_active=True).order_by("name", "strength")
        html = format_html_join(
            "",
            '<option value="{}">{} {} {}</option>',
            drugs.values_list("public_id", "name", "strength", "form_text"),
        )
        _options.clear()
        _options.update(key=key, html=str(html))
    html = _options["html"]
    if selected:
        html = html.replace(f'value="{selected}"', f'value="{selected}" selected', 1)
    return mark_safe(html)  # noqa: S308 (escaped by format_html_join above)
