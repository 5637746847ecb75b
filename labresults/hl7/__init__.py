"""HL7 v2 for laboratory results: a tolerant parser, ORU extraction, ACKs and MLLP framing.

Pure Python, no Django: the receiver, the processing task and the tests all use it.
"""
