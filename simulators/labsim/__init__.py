"""labsim: a hospital laboratory that sends NPU-coded results over HL7 v2 / MLLP."""
