"""No log line ever shows a CPR number in clear."""

import logging

from common.logging import MaskCprFilter, mask_cpr_in_text


def test_a_cpr_number_in_a_log_message_is_masked(caplog):
    logger = logging.getLogger("sundhed.test")
    logger.addFilter(MaskCprFilter())
    try:
        with caplog.at_level(logging.INFO, logger="sundhed.test"):
            logger.info("looked up %s and %s", "0101901234", "311299-4321")
    finally:
        logger.filters.clear()
    assert "0101901234" not in caplog.text
    assert "4321" not in caplog.text
    assert "010190-****" in caplog.text


def test_masking_leaves_longer_digit_runs_alone():
    assert mask_cpr_in_text("order 202611240830123") == "order 202611240830123"
    assert mask_cpr_in_text("/patients/010190-1234/") == "/patients/010190-****/"
