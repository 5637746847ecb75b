"""Small form helpers shared by the apps."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy


def form_errors_attach(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def error_messages_add(request, error: ValidationError, form=None) -> None:
    """Show a service's ValidationError as messages after a redirect, each naming its field.

    For actions that answer with a redirect (a button on a list); a form that is shown again
    takes the errors with `form_errors_attach` instead.
    """
    from django.contrib import messages

    for text in error_texts(error, form):
        messages.error(request, text)


def error_texts(error: ValidationError, form=None) -> list[str]:
    """A ValidationError as sentences, each naming its field by the form's label (or, for a
    name the form knows but has no field of, by its `error_labels()`)."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    extra = form.error_labels() if hasattr(form, "error_labels") else {}
    texts = []
    for field, errors in error.message_dict.items():
        label = form.fields[field].label if form is not None and field in form.fields else ""
        label = label or extra.get(field, "")
        label = label or ("" if field == "__all__" else field.replace("_", " ").capitalize())
        texts += [f"{label}: {text}" if label else text for text in errors]
    return texts


def choice_field(form, name: str):
    """The form's choice field of this name (a ModelChoiceField too), typed as such: its
    `choices` or `queryset` are set when the form is made."""
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        raise TypeError(f"{name} is not a choice field")
    return field


class _ManyFiles(forms.ClearableFileInput):
    allow_multiple_selected = True


class ManyFilesField(forms.FileField):
    """Any number of files under one name (their kind and size are the service's to judge)."""

    widget = _ManyFiles

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(ManyFilesField, self).clean(file, initial) for file in files]


def form_invalid_error(form) -> ValidationError:
    """A bound form's errors as one ValidationError naming each field (for `error_messages_add`
    after a redirect, as a service's would be)."""
    return ValidationError(form.errors.as_data())


class UUIDListField(forms.Field):
    """Any number of public ids under one name (ticked boxes); a malformed one is named."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> list:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        found = []
        for raw in values:
            try:
                found.append(uuid.UUID(str(raw)))
            except ValueError:
                raise ValidationError(
                    _("%(value)s is not an id of this list.") % {"value": str(raw)[:40]}
                ) from None
        return found


class ReasonForm(forms.Form):
    """Why: a correction, an entry marked as entered in error, FMK not updated (whether one is
    needed is the service's to say, in its words; a longer one is refused, not cut)."""

    reason = forms.CharField(label=_lazy("Reason"), max_length=1000, required=False)
