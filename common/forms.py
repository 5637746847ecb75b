"""Small form helpers shared by the apps."""

from django.core.exceptions import ValidationError


def form_errors_attach(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
