"""Logging filters: the request id on every line, and never a CPR number in clear."""

import logging
import re

from common.context import current_request_id

# Six digits for the birth date, an optional dash or space, four for the serial; not part of a
# longer run of digits (order numbers, timestamps). Replacement numbers may carry letters.
CPR_PATTERN = re.compile(
    r"(?<![0-9])([0-3][0-9][01][0-9][0-9]{2})[- ]?([0-9A-Za-z][0-9]{3})(?![0-9])"
)


def mask_cpr_in_text(text: str) -> str:
    """Hide the serial of anything that looks like a CPR number: '010190-1234' -> '010190-****'."""
    return CPR_PATTERN.sub(lambda m: f"{m.group(1)}-****", text)


class MaskCprFilter(logging.Filter):
    """Rewrite the record so that neither the message nor its arguments show a CPR number."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        masked = mask_cpr_in_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_cpr_in_text(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    """Add `request_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
