"""Report parsing's pyarrow fast paths give exactly what the general pandas path gives.

`reference_integer` and `reference_datetime` are the previous `_parse_integer` and
`_parse_datetime` (pandas `to_numeric` / `to_datetime`, one Python object per value). Each case
parses a column made of plain values (the fast path) and the same column with one odd value in it
(the general path for the whole column), and compares values, dtypes, rejected rows and reasons.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from include.walkme_sync.config.catalog import ColumnDef
from include.walkme_sync.report import parse
from include.walkme_sync.report.parse import _NS_MAX, _NS_MIN, _Parsed, parse_column

PLAIN_INTEGERS = ["0", "7", "-3", "007", "-0", "42", "999999999999999", "-999999999999999", ""]
ODD_INTEGERS = [
    "+5",
    "42.0",
    "42.5",
    "1e3",
    "1000000000000000",
    "9223372036854775808",
    "abc",
    "١٢",
    "\uff14\uff12",  # full-width digits
    "1_000",
    "0x1A",
    "inf",
    "nan",
    " 12 ",
    "--1",
]
PLAIN_DATETIMES = [
    "2026-11-24 09:15:02",
    "2025-01-15 00:30:48",
    "2024-02-29 23:59:59",
    "1700-01-01 00:00:00",
    "2199-12-31 23:59:59",
    "",
    "  2026-11-24 09:15:02  ",
]
ODD_DATETIMES = [
    "2026-02-30 10:00:00",
    "2025-02-29 10:00:00",
    "2026-11-24 24:00:00",
    "2026-11-24 23:59:60",
    "2026-13-01 00:00:00",
    "2026-11-24T09:15:02",
    "2026-11-24T09:15:02Z",
    "2026-11-24 09:15:02+02:00",
    "2026-11-24 09:15",
    "2026-11-24",
    "2026-11-24 09:15:02.5",
    "24/11/2026 09:15:02",
    "1677-09-21 00:00:00",
    "1699-12-31 23:59:59",
    "2200-01-01 00:00:00",
    "2262-04-12 00:00:00",
    "9999-12-31 00:00:00",
    "0000-01-01 00:00:00",
    "never",
    "\uff12\uff10\uff12\uff16-11-24 09:15:02",
]


def reference_integer(text: pd.Series) -> _Parsed:
    numbers = pd.to_numeric(text, errors="coerce")
    integral = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 2**63)
    values = numbers.where(integral).astype("Float64").astype("Int64")
    return _Parsed(values, text.notna() & ~integral, "an integer")


def reference_datetime(text: pd.Series) -> _Parsed:
    stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    in_range = stamps.notna() & (stamps >= _NS_MIN) & (stamps <= _NS_MAX)
    values = stamps.where(in_range).astype("datetime64[ns, UTC]")
    return parse._with_day_first_hint(
        _Parsed(values, text.notna() & ~in_range, parse._DATETIME_EXPECTED), text
    )


def cleaned(values: list[str | None], dtype: str) -> pd.Series:
    """What `parse_column` hands a parser: stripped text, null where empty."""
    text = pd.Series(values, dtype=dtype).astype("string").str.strip()
    return text.mask(text == "")


def assert_same(got: _Parsed, want: _Parsed) -> None:
    pd.testing.assert_series_equal(got.values, want.values)
    pd.testing.assert_series_equal(got.bad, want.bad)
    assert got.expected == want.expected


def columns(plain: list[str], odd: list[str]) -> list[list[str | None]]:
    base: list[str | None] = [*plain, None, *plain]
    return [base, [None, None], [], *([*base, value] for value in odd)]


@pytest.mark.parametrize("dtype", ["string", "str", "object"])
@pytest.mark.parametrize("values", columns(PLAIN_INTEGERS, ODD_INTEGERS))
def test_integers_parse_as_before(values: list[str | None], dtype: str) -> None:
    text = cleaned(values, dtype)
    assert_same(parse._parse_integer(text), reference_integer(text))


@pytest.mark.parametrize("dtype", ["string", "str", "object"])
@pytest.mark.parametrize("values", columns(PLAIN_DATETIMES, ODD_DATETIMES))
def test_datetimes_parse_as_before(values: list[str | None], dtype: str) -> None:
    text = cleaned(values, dtype)
    assert_same(parse._parse_datetime(text), reference_datetime(text))


def test_dates_and_whole_columns_parse_as_before() -> None:
    raw = pd.Series([*PLAIN_DATETIMES, None], dtype="string")
    for kind in ("date", "datetime"):
        got = parse_column(raw, ColumnDef(name="When", type=kind))
        text = cleaned(list(raw), "string")
        want = reference_datetime(text)
        if kind == "date":
            want = _Parsed(want.values.dt.floor("D"), want.bad, "a date (2026-11-24)")
        assert_same(got, want)


def test_the_fast_paths_are_taken_for_plain_columns() -> None:
    assert parse._plain_integers(cleaned(PLAIN_INTEGERS, "string")) is not None
    assert parse._plain_datetimes(cleaned(PLAIN_DATETIMES, "string"), "x") is not None
    for odd in ODD_INTEGERS:
        if odd.strip() not in {"42", "12"}:
            column = cleaned([*PLAIN_INTEGERS, odd], "string")
            assert parse._plain_integers(column) is None, odd


WHITESPACE = [chr(code) for code in range(0x3001) if chr(code).isspace()] + ["\u200b", "\ufeff"]
TEXTS: list[object] = [
    "plain",
    "",
    " ",
    "  padded  ",
    "\t\n tabbed \r\n",
    "ÜBER straße",
    "名前 ",
    "a\x00b",
    "\x1c\x1d\x1e\x1f",
    *(f"{space}x{space}" for space in WHITESPACE),
    *WHITESPACE,
    None,
]


def reference_stripped(raw: pd.Series) -> pd.Series:
    """The previous `parse_column` preparation: pandas' strip, then `mask` of the empty text."""
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


@pytest.mark.parametrize("dtype", ["string", "str", "object"])
@pytest.mark.parametrize(
    "values",
    [TEXTS, [], [None, None], [""] * 3, ["x"], [" ", "a", None, "", "a"]],
)
def test_stripped_text_as_before(values: list[object], dtype: str) -> None:
    raw = pd.Series(values, dtype=dtype, name="Column", index=range(10, 10 + len(values)))
    pd.testing.assert_series_equal(parse.stripped_text(raw), reference_stripped(raw))


def test_stripped_text_of_other_values_as_before() -> None:
    """Numbers, NaN and mixed objects (a SQL source) take pandas' own text conversion."""
    import numpy as np

    raw = pd.Series([1, 2.5, None, np.nan, pd.NA, " x ", True], dtype=object)
    pd.testing.assert_series_equal(parse.stripped_text(raw), reference_stripped(raw))


def test_a_report_without_rejections_keeps_every_row_in_order() -> None:
    """`coerce_report` returns its frame as built when nothing is rejected: the same frame the
    previous filter (`frame.loc[~rejected].reset_index(drop=True)`) gave."""
    from include.walkme_sync.config.catalog import ReportDefinition
    from include.walkme_sync.frames import ROW

    report = ReportDefinition(
        name="r",
        title="R",
        columns=(
            ColumnDef(name="Key", type="string"),
            ColumnDef(name="Count", type="integer"),
            ColumnDef(name="When", type="datetime"),
        ),
    )
    raw = pd.DataFrame(
        {"Key": [" a ", "b", ""], "Count": ["1", "", "3"], "When": PLAIN_DATETIMES[:3]},
        index=[7, 8, 9],
    )
    typed, outcomes = parse.coerce_report(raw, report, required=["Key"], key_column="Key")
    assert len(outcomes) == 0
    assert isinstance(typed.index, pd.RangeIndex)
    assert typed[ROW].tolist() == [1, 2, 3]
    assert typed["Key"].tolist() == ["a", "b", pd.NA]
    assert typed["Count"].tolist() == [1, pd.NA, 3]
    with_bad = raw.assign(Count=["1", "x", "3"])
    typed_bad, rejected = parse.coerce_report(
        with_bad, report, required=["Key", "Count"], key_column="Key"
    )
    assert rejected[ROW].tolist() == [2]
    assert typed_bad[ROW].tolist() == [1, 3]
    assert isinstance(typed_bad.index, pd.RangeIndex)


EXPORTS: list[bytes] = [
    b"User ID,N\na@b.co,1\n",
    '\ufeff"User ID","N"\n"a@b.co","x, y"\n'.encode(),
    "\ufeffUser ID,N\r\na@b.co,\r\n,\r\n".encode(),
    "User ID,Name\n名前@例え.テスト,José Müller\n\ufeffx,y\n".encode(),
    "User ID,N\na@b.co,\U0010ffff\x00\n".encode(),
    b"User ID,N\n",
    "\ufeffUser ID\n".encode(),
    b"",
    b"\xef\xbb\xbf",
    "User ID,Name\na@b.co,José\n".encode("latin-1"),
    "User ID,Nämé\na,b\n".encode("latin-1"),
    b"User ID,N\nx,\xed\xa0\x80\n",  # a surrogate
    b"User ID,N\nx,\xc0\x80\n",  # an overlong NUL
    b"User ID,N\nx,\xf4\x90\x80\x80\n",  # beyond U+10FFFF
    b"User ID,N\na,1\nb,2,3\n",  # a broken line
    b'User ID,N\n"a,1\n',  # an open quote
    b"User ID,N,N\na,1,2\n",  # a repeated header
]


def reference_export(file: object, encoding: str = "utf-8-sig", where: str = "x") -> pd.DataFrame:
    """The previous `files.read_export_csv` (pyarrow decoding `utf-8-sig` through Python's
    codec, a second pass over the whole file)."""
    from include.walkme_sync.errors import SourceError
    from include.walkme_sync.report import files

    encoding = files._utf16_if_marked(file, encoding)  # type: ignore[arg-type]
    try:
        frame = pd.read_csv(
            file,  # type: ignore[call-overload]
            engine="pyarrow",
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
        )
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"Report export {where} is empty (no header row).") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(
            f"Report export {where} is not a readable CSV file: {exc}",
            action="Check the export (a broken line, or the encoding: set report.source.encoding).",
        ) from exc
    frame.columns = [str(column).removeprefix("\ufeff") for column in frame.columns]
    files._reject_duplicate_headers(frame, where)
    return frame


@pytest.mark.parametrize("data", EXPORTS)
@pytest.mark.parametrize("source", ["path", "seekable", "stream"])
def test_exports_read_as_before(data: bytes, source: str, tmp_path: Path) -> None:
    """A `utf-8-sig` export read as UTF-8 bytes as they are gives the frame, or the error, that
    decoding it through Python's codec gave (from a path, a seekable stream or not)."""
    import io

    from include.walkme_sync.errors import SourceError
    from include.walkme_sync.report import files

    class Stream(io.BytesIO):
        def seekable(self) -> bool:
            return source == "seekable"

    def opened() -> object:
        if source == "path":
            path = tmp_path / "export.csv"
            path.write_bytes(data)
            return path
        return Stream(data)

    def outcome(read: object, file: object) -> tuple[str, object]:
        try:
            return "frame", read(file, where="x")  # type: ignore[operator]
        except SourceError as exc:
            return "error", (str(exc), exc.action)

    want = outcome(reference_export, opened())
    got = outcome(files.read_export_csv, opened())
    assert got[0] == want[0], (got, want)
    if got[0] == "frame":
        pd.testing.assert_frame_equal(got[1], want[1])  # type: ignore[arg-type]
    else:
        assert got[1] == want[1]


@pytest.mark.parametrize("dtype", ["string", "str"])
def test_stripped_text_of_chunked_and_sliced_columns_as_before(dtype: str) -> None:
    """Arrow text in several chunks, some of them slices (an offset into their buffers), as a
    CSV reader or a Parquet file gives it: the new validity bitmap lines up with each chunk."""
    import pyarrow as pa

    texts = [t if t is None else str(t) for t in TEXTS] * 3
    whole = pa.array(texts, type=pa.large_string())
    chunked = pa.chunked_array([whole.slice(0, 5), whole.slice(7, 40), whole.slice(47)])
    raw = pd.Series(pd.array(chunked, dtype=dtype))
    got = parse.stripped_text(raw)
    pa.array(got.array).validate(full=True)
    pd.testing.assert_series_equal(got, reference_stripped(raw))
    unsliced = pa.chunked_array([pa.array(texts[:9]), pa.array(texts[9:])])
    raw = pd.Series(pd.array(unsliced, dtype=dtype))
    pd.testing.assert_series_equal(parse.stripped_text(raw), reference_stripped(raw))


def test_blank_values_of_a_many_chunk_column_become_null_without_copying_the_text() -> None:
    """Arrow's mask of the blank values comes in one chunk for a column of many (a CSV read):
    it is cut to the column's chunks, so the new validity bitmaps sit over the same text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = ["a", "", None, "b", "", "c", "d", None, ""] * 4
    values = pa.chunked_array(
        [pa.array(texts[:7], pa.large_string()), pa.array(texts[7:], pa.large_string())]
    )
    empty = pc.equal(pc.binary_length(values), 0)
    for mask in (empty, empty.combine_chunks(), pa.chunked_array([empty.combine_chunks()])):
        got = parse._null_where(values, mask)
        assert [len(chunk) for chunk in got.chunks] == [len(chunk) for chunk in values.chunks]
        for new, old in zip(got.chunks, values.chunks, strict=True):
            new.validate(full=True)
            assert new.buffers()[2].address == old.buffers()[2].address  # the same text
        assert got.to_pylist() == [None if t in ("", None) else t for t in texts]
    raw = pd.Series(pd.array(values, dtype="string"))
    pd.testing.assert_series_equal(parse.stripped_text(raw), reference_stripped(raw))


def reference_column(raw: pd.Series, kind: str) -> _Parsed:
    """The previous `parse_column`: strip, then the pandas parser of the type, row by row."""
    text = reference_stripped(raw)
    if kind == "integer":
        return reference_integer(text)
    want = reference_datetime(text)
    if kind == "date":
        return _Parsed(want.values.dt.floor("D"), want.bad, "a date (2026-11-24)")
    return want


RAW_INTEGERS = [p for p in PLAIN_INTEGERS if p] + ["", "  ", "\t"]
RAW_DATETIMES = [p for p in PLAIN_DATETIMES if p.strip() == p and p] + ["", " "]


def raw_columns(plain: list[str], odd: list[str]) -> list[list[str | None]]:
    """Columns of raw (unstripped) text: plain with empties and nulls, then one odd value each,
    then a plain value with spaces around it."""
    base: list[str | None] = [*plain, None, "", *plain]
    padded = [f" {plain[0]} ", f"{plain[0]}\n", f"\u3000{plain[0]}"]
    return [base, [""] * 3, [None, ""], [], *([*base, value] for value in [*odd, *padded])]


@pytest.mark.parametrize("dtype", ["string", "str", "object"])
@pytest.mark.parametrize(
    ("kind", "values"),
    [
        *(("integer", column) for column in raw_columns(RAW_INTEGERS, ODD_INTEGERS)),
        *(("datetime", column) for column in raw_columns(RAW_DATETIMES, ODD_DATETIMES)),
        *(("date", column) for column in raw_columns(RAW_DATETIMES, ODD_DATETIMES[:6])),
    ],
)
def test_raw_columns_parse_as_before(kind: str, values: list[str | None], dtype: str) -> None:
    """A column whose raw values are all plain, empty or null is parsed without being stripped
    first: the same values, bad rows and reasons as the previous strip-then-parse."""
    raw = pd.Series(values, dtype=dtype, index=range(3, 3 + len(values)))
    assert_same(parse_column(raw, ColumnDef(name="Column", type=kind)), reference_column(raw, kind))


@pytest.mark.parametrize("kind", ["integer", "datetime", "date"])
def test_raw_chunked_columns_parse_as_before(kind: str) -> None:
    """Arrow text in chunks (a CSV read), some of them slices, empties among the plain values."""
    import pyarrow as pa

    plain = [t for t in (RAW_INTEGERS if kind == "integer" else RAW_DATETIMES) if t == t.strip()]
    texts = [*plain, None, *plain] * 3
    assert "" in texts
    whole = pa.array(texts, type=pa.large_string())
    chunked = pa.chunked_array([whole.slice(0, 4), whole.slice(4, 9), whole.slice(13)])
    raw = pd.Series(pd.array(chunked, dtype="str"))
    assert parse._plain_as_is(raw, kind) is not None  # no stripping for this column
    assert_same(parse_column(raw, ColumnDef(name="C", type=kind)), reference_column(raw, kind))
    padded = pd.Series(pd.array(pa.chunked_array([whole, pa.array([" 1 "], pa.large_string())])))
    assert parse._plain_as_is(padded, kind) is None  # stripped first, as before
