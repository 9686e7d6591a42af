"""AIS sentence path, pure and without I/O: framing, assembly, de-duplication, batch decode.

See docs/architecture.md for the contracts; ``AisPipeline`` is what services use.
"""

from jointwatch.ais.assembly import ASSEMBLY_REASONS, Assembled, Assembler
from jointwatch.ais.decoder import (
    DECODED_SCHEMA,
    VECTORISED_TYPES,
    DecodeResult,
    decode_batch,
    decode_payloads,
)
from jointwatch.ais.encode import encode_message, with_tag_block
from jointwatch.ais.framing import LINE_REASONS, MAX_LINE_BYTES, Frames, frame_lines
from jointwatch.ais.pipeline import PIPELINE_SCHEMA, AisPipeline, IngestStats, decode_lines

__all__ = [
    "ASSEMBLY_REASONS",
    "DECODED_SCHEMA",
    "LINE_REASONS",
    "MAX_LINE_BYTES",
    "PIPELINE_SCHEMA",
    "VECTORISED_TYPES",
    "AisPipeline",
    "Assembled",
    "Assembler",
    "DecodeResult",
    "Frames",
    "IngestStats",
    "decode_batch",
    "decode_lines",
    "decode_payloads",
    "encode_message",
    "frame_lines",
    "with_tag_block",
]
