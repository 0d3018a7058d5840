"""Fast, strict reading of delimited text files into typed numpy columns.

``DelimitedReader`` reads CSV (RFC 4180), TSV and TPC-H ``.tbl`` files in
batches of storage-form arrays, ready for a bulk load::

    reader = DelimitedReader("lineitem.csv")
    print(reader.names, [ctype.name for ctype in reader.types])
    for batch in reader:
        ...  # batch.arrays, batch.nulls, batch.line_numbers

Accepted input:

* Fields are separated by one ASCII delimiter. Lines end with LF or CR LF,
  and the last line may lack its line end. A UTF-8 byte order mark is
  skipped.
* A field may be quoted with ``"``. A quoted field may contain delimiters,
  line ends and doubled quotes (``""`` for one ``"``), so a row can span
  lines. ``Batch.line_numbers`` gives the line where each row starts.
* An empty unquoted field is NULL. A quoted empty field (``""``) is an
  empty string in a text column, empty bytes in a blob column, and NULL in
  any other column.
* Values are not trimmed, so `` 12`` is not an integer.
* Blank lines are skipped when a line has more than one field; in a file
  of one column a blank line is a NULL.
* Text must be valid UTF-8. Blob values are hex digits, optionally after
  ``\\x``.

Anything else raises ``storagedb.errors.LoadError``. Its message has the
form ``<file>:<line>: column '<name>': <problem>: <value>``, followed by
what to do where that is not obvious, and ``<line>`` is the line on which
the row starts.

How it works: ``tokenizer`` splits the file into chunks of about 2 MiB that
end at a row boundary, finding every delimiter, line end and quote of a
chunk at once with numpy. ``numbers``, ``datetimes`` and ``text`` then
convert each column of the chunk as a whole. ``infer`` guesses the types
from the first batch, and the reader joins chunks into batches of about
``batch_bytes``.

Shortcomings: a quote inside an unquoted field is an error rather than a
literal character. The only quote character is ``"``, with no escape
character, and CR-only line ends are rejected.
"""

from .reader import Batch, DelimitedReader

__all__ = ["DelimitedReader", "Batch"]
