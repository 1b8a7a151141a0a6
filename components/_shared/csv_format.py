"""How a CSV file is written: its text encoding and its delimiter, declared or detected.

Encoding (``encoding=""`` detects it):

1. a byte-order mark decides: UTF-8 (``utf-8-sig``) or UTF-16;
2. otherwise the whole file is checked as strict UTF-8 (streamed, in C: about 1 GB/s);
3. a file that is not UTF-8 is read as Western single-byte text: ``cp1252`` (what Windows and
   Excel write in Western Europe and the Americas), or ``latin-1`` when a byte that cp1252 leaves
   undefined occurs. The two agree on every letter (0xA0-0xFF); they differ only on 0x80-0x9F,
   where latin-1 holds control characters that no real text uses. The choice is reported with
   the first line and byte that were not UTF-8, so a file in another encoding (cp1250, KOI8-R,
   Shift-JIS) is seen and declared.

A statistical detector (charset-normalizer) was tried and not used: on a Telco file with Polish
text in cp1250 it answered cp1252, the same guess as rule 3 but without a reason a user can check.
A declared encoding is decoded strictly: a byte it cannot decode is an error naming the line, the
byte and the file offset. Text is never kept as bytes.

Delimiter (``delimiter=""`` sniffs it): among ``,`` ``;`` tab and ``|``, the one that splits the
first records (up to 64 KiB, quotes respected) into the same number of fields, more than one;
the widest such split wins, then that order. When none splits consistently, ``,``.

Decimal mark (``decimal=""`` detects it): a point, unless the delimiter is not a comma, some
column of the first records holds numbers written with a decimal comma (``70,35``), and no
field holds a number with a decimal point; then a comma, as Excel writes in most of Europe.
Numbers that arrive as text (blank cells, as in Telco's ``TotalCharges``) get the same reading.
"""

from __future__ import annotations

import codecs
import csv
import io as stdlib_io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from components._shared.errors import ConfigError, DataReadError, expected_got

AUTO: Final = ""
UTF8: Final = "utf-8"
UTF8_BOM: Final = "utf-8-sig"
WESTERN: Final = ("cp1252", "latin-1")
# Encodings whose bytes pyarrow reads as they are (ASCII is a subset of UTF-8).
ARROW_NATIVE: Final = frozenset({"utf-8", "ascii"})
DELIMITERS: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DELIMITER_WORDS: Final = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
DECIMAL_MARKS: Final = {".": "point", ",": "comma"}
DECIMAL_WORDS: Final = {"point": ".", "dot": ".", "comma": ","}
COMMA_NUMBER: Final = re.compile(r"\s*[+-]?\d+,\d+\s*")
POINT_NUMBER: Final = re.compile(r"\s*[+-]?\d*\.\d+(?:[eE][+-]?\d+)?\s*")
WHOLE_NUMBER: Final = re.compile(r"\s*[+-]?\d+\s*")
SNIFF_CHARS: Final = 1 << 16
SNIFF_RECORDS: Final = 50
CHUNK_BYTES: Final = 1 << 20
_BOMS: Final = (
    (codecs.BOM_UTF8, UTF8_BOM),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Encoding:
    """The codec a file is read with, whether it was detected, and why (for the report)."""

    name: str
    detected: bool
    note: str = ""

    @property
    def needs_transcoding(self) -> bool:
        """True when pyarrow cannot read the bytes as they are (not plain UTF-8, or a BOM)."""
        return self.name not in ARROW_NATIVE


@dataclass(frozen=True)
class DecodeFailure:
    """The first byte a codec could not decode, located for a person."""

    offset: int
    line: int
    byte: int
    context: bytes
    reason: str

    def describe(self) -> str:
        return (
            f"line {self.line}, byte 0x{self.byte:02X} at file offset {self.offset} "
            f"({self.reason}; near {self.context!r})"
        )


def normalise_encoding(declared: str) -> str:
    """The canonical codec name of a declared encoding ("" stays ""); ConfigError when unknown."""
    if declared == AUTO:
        return AUTO
    try:
        return codecs.lookup(declared.strip()).name
    except LookupError:
        raise ConfigError(
            expected_got(
                "encoding",
                'a Python codec name such as "utf-8", "cp1252" or "latin-1" ("" to detect)',
                repr(declared),
            )
        ) from None


def normalise_delimiter(declared: str) -> str:
    """The one delimiter character of a declared delimiter (``tab`` and ``\\t`` for a tab)."""
    if declared == AUTO:
        return AUTO
    value = DELIMITER_WORDS.get(declared.lower(), declared)
    if len(value) != 1 or value in '"\r\n':
        raise ConfigError(
            expected_got(
                "delimiter",
                'one character such as ",", ";", "|" or "tab" ("" to detect)',
                repr(declared),
            )
        )
    return value


def normalise_decimal(declared: str) -> str:
    """The decimal mark of a declared one (``"."``, ``","``, ``point``, ``comma``; "" stays "")."""
    if declared == AUTO:
        return AUTO
    value = DECIMAL_WORDS.get(declared.strip().lower(), declared.strip())
    if value not in DECIMAL_MARKS:
        raise ConfigError(
            expected_got("decimal", '"." or "," ("point", "comma"; "" to detect)', repr(declared))
        )
    return value


def detect_encoding(
    uri: str, open_chunks: Callable[[], Iterator[bytes]], declared: str
) -> Encoding:
    """The encoding of the file whose bytes ``open_chunks()`` yields, in order.

    Raises:
        DataReadError: a declared encoding (or the one a BOM names) does not decode the file;
            the message names the line, the byte and its offset.
    """
    first = next(open_chunks(), b"")
    bom = next((name for mark, name in _BOMS if first.startswith(mark)), None)
    name = normalise_encoding(declared)
    if name == UTF8 and bom == UTF8_BOM:
        name = UTF8_BOM  # utf-8 with a BOM: the BOM is not data
    wanted = name or bom or UTF8
    failure = first_failure(open_chunks(), wanted)
    if failure is None:
        return Encoding(wanted, detected=not name)
    if name or bom:
        source = "declared" if name else "named by its byte-order mark"
        raise DataReadError(
            f"{uri!r} is not {wanted} text ({source}): {failure.describe()}; "
            'declare the file\'s encoding with the encoding parameter (e.g. "cp1252")'
        )
    # cp1252 when it decodes every byte, else latin-1 (which decodes any byte).
    chosen = WESTERN[0] if first_failure(open_chunks(), WESTERN[0]) is None else WESTERN[1]
    note = (
        f"not UTF-8 (first at {failure.describe()}): read as {chosen}, the Western single-byte "
        'encoding; if the file is in another one, declare it (encoding="...")'
    )
    return Encoding(chosen, detected=True, note=note)


def first_failure(chunks: Iterable[bytes], encoding: str) -> DecodeFailure | None:
    """The first byte ``encoding`` cannot decode in the concatenated ``chunks``, or None."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    fed = 0  # bytes handed to the decoder before this chunk
    lines = 0  # newlines in the text decoded so far
    for chunk in chunks:
        pending = len(decoder.getstate()[0])
        try:
            lines += decoder.decode(chunk).count("\n")
        except UnicodeDecodeError as exc:
            data = exc.object
            line = lines + data[: exc.start].count(b"\n") + 1
            start = max(0, exc.start - 20)
            context = bytes(data[start : exc.start + 20])
            offset = fed - pending + exc.start
            return DecodeFailure(offset, line, data[exc.start], context, str(exc.reason))
        fed += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        tail = bytes(exc.object)
        offset = fed - len(tail) + exc.start
        return DecodeFailure(
            offset, lines + 1, tail[exc.start], tail[-40:], "file ends mid-character"
        )
    return None


def transcode(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """The chunks decoded from ``encoding`` (already checked to decode) as UTF-8 bytes."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    for chunk in chunks:
        yield decoder.decode(chunk).encode(UTF8)
    yield decoder.decode(b"", final=True).encode(UTF8)


def head_text(chunks: Iterable[bytes], encoding: str, limit: int = SNIFF_CHARS) -> str:
    """Up to ``limit`` characters from the start of the file, decoded (a cut character dropped)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="ignore")
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        text = decoder.decode(chunk)
        parts.append(text)
        size += len(text)
        if size >= limit:
            break
    return "".join(parts)[:limit]


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``,`` ``;`` tab ``|`` that splits ``sample``'s records evenly."""
    best, best_width = ",", 1
    for candidate in DELIMITERS:
        width = _even_width(sample, candidate)
        if width > best_width:
            best, best_width = candidate, width
    return best


def _even_width(sample: str, delimiter: str) -> int:
    """Fields per record when every complete record of ``sample`` has as many; else 0."""
    reader = csv.reader(stdlib_io.StringIO(sample), delimiter=delimiter)
    try:
        records = [r for _, r in zip(range(SNIFF_RECORDS + 1), reader, strict=False) if r]
    except csv.Error:
        return 0
    if len(records) > 1 and len(sample) >= SNIFF_CHARS:
        records = records[:-1]  # the sample may cut the last record
    widths = {len(r) for r in records}
    return widths.pop() if len(widths) == 1 else 0


def sniff_decimal(sample: str, delimiter: str) -> str:
    """``","`` when ``sample``'s numbers use a decimal comma (see the module doc), else ``"."``."""
    if delimiter == ",":
        return "."
    reader = csv.reader(stdlib_io.StringIO(sample), delimiter=delimiter)
    try:
        records = [r for _, r in zip(range(SNIFF_RECORDS + 1), reader, strict=False) if r]
    except csv.Error:
        return "."
    fields = [field for record in records[1:] for field in record]
    if any(POINT_NUMBER.fullmatch(field) for field in fields):
        return "."
    return "," if any(COMMA_NUMBER.fullmatch(field) for field in fields) else "."


def comma_numbers(values: Iterable[str | None]) -> bool:
    """True when every non-blank value is a number and at least one has a decimal comma."""
    seen_comma = False
    for value in values:
        if value is None or not value.strip():
            continue
        if COMMA_NUMBER.fullmatch(value):
            seen_comma = True
        elif not WHOLE_NUMBER.fullmatch(value):
            return False
    return seen_comma


def delimiter_hint(columns: list[str], delimiter: str) -> str:
    """A hint when a table read as one column has a header holding another delimiter."""
    if len(columns) != 1:
        return ""
    header = str(columns[0])
    held = [d for d in DELIMITERS if d != delimiter and d in header]
    if not held:
        return ""
    symbol = held[0]
    return (
        f"the file was read as one column {header[:60]!r} whose name holds {DELIMITERS[symbol]} "
        f"{symbol!r}: if {DELIMITERS[symbol]}s separate the fields, set delimiter={symbol!r}"
        if symbol != "\t"
        else f"the file was read as one column {header[:60]!r} whose name holds tabs: if tabs "
        'separate the fields, set delimiter="tab"'
    )


def describe_delimiter(delimiter: str) -> str:
    """``semicolon ';'`` for messages and reports."""
    word = DELIMITERS.get(delimiter, "character")
    return f"{word} {delimiter!r}"
