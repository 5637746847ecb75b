"""Small form helpers shared by the apps."""

from django.core.exceptions import ValidationError


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

    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            label = form.fields[field].label if form is not None and field in form.fields else ""
            label = label or ("" if field == "__all__" else field.replace("_", " ").capitalize())
            for text in errors:
                messages.error(request, f"{label}: {text}" if label else text)
    else:
        for text in error.messages:
            messages.error(request, text)


def choice_field(form, name: str):
    """The form's choice field of this name (a ModelChoiceField too), typed as such: its
    `choices` or `queryset` are set when the form is made."""
    from django import forms

    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        raise TypeError(f"{name} is not a choice field")
    return field
