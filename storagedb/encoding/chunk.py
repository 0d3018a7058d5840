"""Column chunks: the encoded values of one column for a run of rows.

:func:`encode_chunk` analyses the values, encodes them with the smallest (or
the requested) encoding, compresses the payload when that pays and writes the
header; :func:`decode_chunk` reads a chunk back. The byte layout is in
:mod:`.header` and in each encoding's module; :class:`.view.ChunkView` reads
chunks lazily.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError, UnsupportedError
from . import analyser, bitpack, delta, dictionary, frame_of_reference, plain, rle
from .analyser import ChunkStats, Choice
from .compression import COMPRESSIONS, MAX_PAYLOAD_BYTES, compress
from .header import ENCODINGS, FLAG_NULLS, FORMAT_VERSION, HEADER, INTEGER_ONLY_ENCODINGS, MAX_CHUNK_ROWS
from .kinds import Kind, get_kind
from .view import ChunkView

__all__ = ["AUTO_COMPRESSION_MIN_SAVING", "AUTO_COMPRESSION_MIN_SAVING_ENCODED", "encode_chunk", "decode_chunk"]

#: ``compression="auto"`` keeps zstd only when it saves at least this share
#: of the payload; below that the decompression time is not worth it.
AUTO_COMPRESSION_MIN_SAVING = 0.10
#: The same for a payload that a lightweight encoding (dictionary, runs,
#: bit-packing, frame-of-reference, delta) already shrank. zstd over such a
#: payload costs a whole-chunk decompression on every scan and rules out
#: reading single values, so it must save more. With 0.10, TPC-H's
#: l_discount in 16,384-row PAX chunks took zstd for a 12% saving, and Q6
#: ran about 30% slower than on the same data uncompressed.
AUTO_COMPRESSION_MIN_SAVING_ENCODED = 0.25

# -- encoding ----------------------------------------------------------------


def encode_chunk(
    values: np.ndarray,
    nulls: np.ndarray | None,
    kind: str,
    *,
    encoding: str = "auto",
    compression: str = "auto",
    max_dictionary_entries: int = 65536,
) -> bytes:
    """Encode one column's values for a run of rows as a column chunk.

    Args:
        values: one entry per row. Fixed-width kinds take a numeric array
            (bool for ``"uint8"`` is fine); ``"text"`` takes ``str`` and
            ``"blob"`` bytes-like values, as an object array or a list.
            Entries at NULL rows are ignored and may be anything.
        nulls: bool array, True where the row is NULL, or None.
        kind: ``"int8"``, ``"int16"``, ``"int32"``, ``"int64"``, ``"float32"``,
            ``"float64"``, ``"uint8"``, ``"text"`` or ``"blob"``.
        encoding: ``"auto"`` to let the analyser pick the smallest, or one of
            ``"plain"``, ``"dictionary"``, ``"rle"``, ``"bitpack"``,
            ``"delta"``, ``"for"``.
        compression: ``"none"``, ``"zstd"``, ``"lz4"``, or ``"auto"``: zstd
            level 1, kept only when it saves at least 10% of the payload.
        max_dictionary_entries: ``"auto"`` never picks a dictionary with more
            entries; a forced ``"dictionary"`` above it raises.

    Returns:
        The chunk as bytes; ``decode_chunk`` or ``ChunkView`` read it back.

    Raises:
        InvalidInputError: unknown kind, encoding or compression, values of
            the wrong type or shape, more than MAX_CHUNK_ROWS rows, or a
            payload above MAX_PAYLOAD_BYTES.
        UnsupportedError: the forced encoding cannot store this kind
            (``bitpack``, ``delta`` and ``for`` take integer kinds only), or a
            forced dictionary would exceed ``max_dictionary_entries``.

    Example:
        >>> chunk = encode_chunk(np.array([5, 5, 7], dtype=np.int32), None, "int32")
        >>> decode_chunk(chunk)[0].tolist()
        [5, 5, 7]
    """
    kind_info = get_kind(kind)
    _check_options(kind_info, encoding, compression, max_dictionary_entries)
    values = _as_row_array(values, kind_info)
    null_mask = _normalise_nulls(nulls, len(values))
    non_null = values[~null_mask] if null_mask is not None else values
    if not kind_info.is_variable:
        non_null = _cast_fixed(non_null, kind_info)

    stats = ChunkStats(non_null, kind_info)
    if stats.plain_size > MAX_PAYLOAD_BYTES:
        raise InvalidInputError(
            f"{kind} values take {stats.plain_size} bytes, above the chunk limit of "
            f"{MAX_PAYLOAD_BYTES} bytes; encode fewer rows per chunk"
        )
    if encoding == "dictionary" and len(stats.dictionary) > max_dictionary_entries:
        raise UnsupportedError(
            f"dictionary encoding would need {len(stats.dictionary)} entries, above "
            f"max_dictionary_entries={max_dictionary_entries}; raise the limit or "
            "choose another encoding"
        )
    if encoding == "auto":
        choice = analyser.choose(stats, max_dictionary_entries)
    else:
        choice = analyser.plan_forced(stats, encoding)
    payload = _encode_payload(stats, choice)
    saving = AUTO_COMPRESSION_MIN_SAVING if choice.encoding == "plain" else AUTO_COMPRESSION_MIN_SAVING_ENCODED
    compression_name, stored = _compress(payload, compression, saving)
    if max(len(payload), len(stored)) > MAX_PAYLOAD_BYTES:
        raise InvalidInputError(
            f"encoded payload of {max(len(payload), len(stored))} bytes exceeds the chunk limit "
            f"of {MAX_PAYLOAD_BYTES} bytes; encode fewer rows per chunk"
        )

    null_count = int(np.count_nonzero(null_mask)) if null_mask is not None else 0
    header = HEADER.pack(
        FORMAT_VERSION,
        kind_info.kind_id,
        ENCODINGS[choice.encoding],
        ENCODINGS[choice.code_encoding] if choice.code_encoding else 0,
        COMPRESSIONS[compression_name],
        FLAG_NULLS if null_count else 0,
        0,
        len(values),
        null_count,
        stats.plain_size,
        len(payload),
        len(stored),
    )
    if null_count:
        bitmap = np.packbits(null_mask, bitorder="little").tobytes()
        return b"".join((header, bitmap, stored))
    return header + stored


def _check_options(kind: Kind, encoding: str, compression_name: str, max_entries: int) -> None:
    if encoding != "auto" and encoding not in ENCODINGS:
        known = ", ".join(["auto", *ENCODINGS])
        raise InvalidInputError(f"unknown encoding {encoding!r}; expected one of: {known}")
    if encoding in INTEGER_ONLY_ENCODINGS and not kind.is_integer:
        raise UnsupportedError(
            f"encoding {encoding!r} stores integer kinds only, not {kind.name}; "
            "use 'plain', 'dictionary' or 'rle'"
        )
    if compression_name != "auto" and compression_name not in COMPRESSIONS:
        known = ", ".join(["auto", *COMPRESSIONS])
        raise InvalidInputError(f"unknown compression {compression_name!r}; expected one of: {known}")
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
        raise InvalidInputError(f"max_dictionary_entries must be a positive int, not {max_entries!r}")


def _as_row_array(values, kind: Kind) -> np.ndarray:
    """Return ``values`` as a 1-D array, of dtype object for text and blob."""
    if kind.is_variable and not (isinstance(values, np.ndarray) and values.dtype == object):
        items = values.tolist() if isinstance(values, np.ndarray) else list(values)
        array = np.empty(len(items), dtype=object)
        array[:] = items
    else:
        array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInputError(f"values must be one-dimensional, got shape {array.shape}")
    if len(array) > MAX_CHUNK_ROWS:
        raise InvalidInputError(
            f"{len(array)} rows exceed the chunk limit of {MAX_CHUNK_ROWS}; split the rows into several chunks"
        )
    return array


def _cast_fixed(array: np.ndarray, kind: Kind) -> np.ndarray:
    """Return non-null fixed-width values in the kind's dtype, or raise if that loses data."""
    if array.dtype == kind.dtype:
        return array
    if np.can_cast(array.dtype, kind.dtype, "safe") or array.size == 0:
        return array.astype(kind.dtype)
    if kind.is_integer and array.dtype.kind in "iub":
        low, high = int(array.min()), int(array.max())
        if kind.min_value <= low and high <= kind.max_value:
            return array.astype(kind.dtype)
        raise InvalidInputError(
            f"values range {low}..{high} does not fit kind {kind.name} "
            f"({kind.min_value}..{kind.max_value})"
        )
    raise InvalidInputError(
        f"values of dtype {array.dtype} cannot be stored as {kind.name} without loss; "
        f"convert them with .astype({kind.dtype.name!r}) first"
    )


def _normalise_nulls(nulls, row_count: int) -> np.ndarray | None:
    if nulls is None:
        return None
    mask = np.asarray(nulls)
    if mask.dtype != bool:
        raise InvalidInputError(f"nulls must be a bool array, got dtype {mask.dtype}")
    if mask.shape != (row_count,):
        raise InvalidInputError(f"nulls has shape {mask.shape}, expected ({row_count},) to match values")
    return mask if mask.any() else None


def _encode_payload(stats: ChunkStats, choice: Choice) -> bytes:
    kind = stats.kind
    if choice.encoding == "plain":
        if kind.is_variable:
            return plain.write_variable(stats.variable)
        return plain.encode(stats.values, kind)
    if choice.encoding == "dictionary":
        runs = stats.runs if choice.code_encoding == "rle" else None
        return dictionary.encode(stats.dictionary, choice.code_encoding, runs)
    if choice.encoding == "rle":
        return rle.encode(stats.values, kind, stats.runs)
    if choice.encoding == "bitpack":
        return bitpack.encode(stats.int_values, kind)
    if choice.encoding == "for":
        return frame_of_reference.encode(stats.int_values, *stats.bounds)
    return delta.encode(stats.int_values, stats.deltas)


def _compress(payload: bytes, requested: str, min_saving: float) -> tuple[str, bytes]:
    if requested in ("none", "zstd", "lz4"):
        return requested, compress(payload, requested)
    if not payload:
        return "none", payload
    compressed = compress(payload, "zstd")
    if len(compressed) <= len(payload) * (1 - min_saving):
        return "zstd", compressed
    return "none", payload


# -- decoding ----------------------------------------------------------------


def decode_chunk(buf: bytes | memoryview | np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode a column chunk into ``(values, nulls)``.

    ``values`` has one entry per row, with 0, ``""`` or ``b""`` at NULL rows.
    ``nulls`` is a bool array (True at NULL rows), or None when the chunk has
    no NULLs. Neither shares memory with ``buf``.

    Raises:
        CorruptChunkError: the chunk is damaged; the message names the field
            and the expected and found values.
    """
    view = ChunkView(buf)
    return view.values(), view.nulls()
