"""Where AIS lines come from: files (plain or gzip), stdin, TCP, UDP, and CSV archives.

Sources only read and split lines; decoding is ``jointwatch.ais``'s job, so every source
feeds the same pipeline and a new transport never touches the decoder.
"""

from jointwatch.errors import SourceError
from jointwatch.sources.files import LineBlock, iter_file_batches, iter_file_blocks
from jointwatch.sources.lines import MAX_LINE_BYTES, LineBatch, SourceStats
from jointwatch.sources.spec import DEFAULT_LISTEN_HOST, SourceSpec, parse_source
from jointwatch.sources.stream import LineSource, SourceOptions, open_source

__all__ = [
    "DEFAULT_LISTEN_HOST",
    "MAX_LINE_BYTES",
    "LineBatch",
    "LineBlock",
    "LineSource",
    "SourceError",
    "SourceOptions",
    "SourceSpec",
    "SourceStats",
    "iter_file_batches",
    "iter_file_blocks",
    "open_source",
    "parse_source",
]
