"""Source specs: the strings users type (``tcp://host:port``, ``-``, a file) made explicit.

Why a separate parse step: the CLI validates every spec before it starts anything, so a typo
is one clear error line, not a half-started node.

Listening specs (``tcp-listen://``, ``udp://``) bind to 127.0.0.1 unless a host is given,
so a node never exposes an unauthenticated ingest port to the network by accident; write
``tcp-listen://0.0.0.0:10110`` to accept receivers from other machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from jointwatch.errors import SourceError

__all__ = ["DEFAULT_LISTEN_HOST", "SourceKind", "SourceSpec", "parse_source"]

SourceKind = Literal["file", "csv", "stdin", "tcp", "tcp-listen", "udp"]

#: Where listening sources bind when the spec names no host: loopback only.
DEFAULT_LISTEN_HOST = "127.0.0.1"

_SCHEMES = ("tcp", "tcp-listen", "udp")
_USAGE = (
    "use a file (.nmea .txt .log .gz .csv .csv.gz), '-' for standard input, "
    "tcp://HOST:PORT, tcp-listen://[HOST]:PORT or udp://[HOST]:PORT"
)


@dataclass(frozen=True)
class SourceSpec:
    """One parsed source: what kind it is and where it reads from."""

    kind: SourceKind
    text: str
    path: Path | None = None
    host: str | None = None
    port: int | None = None

    @property
    def name(self) -> str:
        """Default source name put on batches: the file name, ``stdin`` or ``scheme:host:port``."""
        if self.path is not None:
            return self.path.name
        if self.kind == "stdin":
            return "stdin"
        return f"{self.kind}:{self.host}:{self.port}"


def _is_csv(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(".csv") or lower.endswith(".csv.gz")


def _parse_network(spec: str) -> SourceSpec:
    scheme = spec.split("://", 1)[0].lower()
    if scheme not in _SCHEMES:
        raise SourceError(f"unknown source scheme {scheme!r} in {spec!r}: {_USAGE}")
    parts = urlsplit(spec)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SourceError(f"unexpected path or query in source {spec!r}: {_USAGE}")
    try:
        port = parts.port
    except ValueError:
        raise SourceError(
            f"bad port in source {spec!r}: the port must be a number from 1 to 65535"
        ) from None
    if port is None or port == 0:
        raise SourceError(f"source {spec!r} needs a port from 1 to 65535, e.g. {scheme}://:10110")
    host = parts.hostname
    if scheme == "tcp":
        if not host:
            raise SourceError(
                f"source {spec!r} needs the receiver's host, e.g. tcp://192.168.1.20:{port}"
            )
    else:
        host = host or DEFAULT_LISTEN_HOST
    kinds: dict[str, SourceKind] = {"tcp": "tcp", "tcp-listen": "tcp-listen", "udp": "udp"}
    kind = kinds[scheme]
    return SourceSpec(kind=kind, text=spec, host=host, port=port)


def parse_source(spec: str) -> SourceSpec:
    """Parse and check a source spec; raise ``SourceError`` saying how to fix a bad one.

    Files must exist when parsed, so a missing capture is reported before a long run starts.
    """
    text = spec.strip()
    if not text:
        raise SourceError(f"empty source: {_USAGE}")
    if text == "-":
        return SourceSpec(kind="stdin", text=text)
    if "://" in text:
        return _parse_network(text)
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceError(f"no such file: {text} ({_USAGE})")
    if not path.is_file():
        raise SourceError(f"not a regular file: {text}; give one capture file per source")
    return SourceSpec(kind="csv" if _is_csv(path.name) else "file", text=text, path=path)
