"""Second-generation resident ID-card reader (SAM_V serial protocol) and its simulator.

frames (framing, streaming decoder) → commands (requests, status words, reply payloads) →
card (text block → IdCard) → reader (IdCardReader, the driver thread). simulator and fixtures
make a reader that speaks the same bytes; photo wraps a vendor WLT decoder when one is set.
"""
