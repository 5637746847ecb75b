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


@register.inclusion_tag("medicinkort/_drug_picker.html")
def drug_picker(field, label, selected, patient, testid="new-drug"):
    """A drug picker: a search field whose type-ahead (htmx, `medicinkort:drug_search`) fills
    the hidden field `field` with the drug's public id; picking a drug asks for its checks
    (`medicinkort:drug_checks`) at once, shown under the picker."""
    from medicinkort.selectors import drug_label

    selected = str(selected or "")
    return {
        "field": field, "label": label, "selected": selected, "patient": patient,
        "testid": testid, "selected_label": drug_label(selected) if selected else "",
    }  # fmt: skip


@register.inclusion_tag("medicinkort/_indications.html")
def indication_options():
    """The indications FMK has codes for, as a `<datalist id="fmk-indications">` for the
    indication fields (one chosen from it reaches FMK as its code)."""
    from medicinkort.fmk.requests import indications

    return {"texts": sorted(indications())}
