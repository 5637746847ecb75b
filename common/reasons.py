"""Why something could not be done, kept so that a page shows it in the reader's language.

A reason is an English template marked for translation (`gettext_noop`) and its values; it is
stored as both (the template and the values as JSON) and rendered when shown. The laboratory
queues and every durable job of `outbox` keep their reasons this way.
"""

from __future__ import annotations

from django.utils.translation import gettext


class Reason:
    """Why a message cannot be taken or filed: an English template (the ACK's text and the
    stored reason) and its values, so that a page can show it in the reader's language. A value
    may itself be a Reason (kept as {"template", "params"}: JSON, as stored)."""

    def __init__(self, template: str, **params):
        self.template = template
        self.params: dict = {
            name: {"template": v.template, "params": v.params}
            if isinstance(v, Reason)
            else v
            if isinstance(v, dict)
            # A value from the message may hold a NUL byte, which no PostgreSQL text or JSON
            # can store: the message must still be stored (as failed) and answered.
            else str(v).replace("\x00", "\ufffd")
            for name, v in params.items()
        }

    def _text(self, translate) -> str:
        values = {
            name: Reason(v["template"], **v["params"])._text(translate)
            if isinstance(v, dict)
            else v
            for name, v in self.params.items()
        }
        text = translate(self.template)
        return text % values if values else text

    def __str__(self) -> str:
        return self._text(str)

    def shown(self) -> str:
        """In the active language (the templates are in the project's translations)."""
        return self._text(gettext)
