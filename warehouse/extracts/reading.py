"""Turning a landing file into numbered rows of cells, whatever its container.

The container is detected from the bytes, not the extension: files named ``.xls`` are often
HTML tables or .xlsx workbooks, and a CNKI ``.xls`` may be encrypted with Excel's default
password. Workbooks (BIFF8 ``.xls``, ``.xlsx``, ``.ods``) are read through python-calamine;
workbooks encrypted with the default password ``VelvetSweatshop`` are decrypted in memory by
msoffcrypto-tool (any other password is refused). Text files are decoded and parsed as a
stream (constant memory, whatever the file size): UTF-8 with or without BOM, else GBK (as its
superset GB18030); the delimiter is a comma, or a tab for a tab-separated file.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from warehouse.errors import ExtractError
from warehouse.extracts.cells import blank_row

CHUNK = 1 << 20
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
DEFAULT_EXCEL_PASSWORD = "VelvetSweatshop"  # what Excel uses when a workbook is "protected" without one

Row = tuple[int, list]


def sha256_of(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Sheet:
    """One sheet of a workbook (or one HTML table): its rows numbered from 1."""

    name: str
    rows: list[Row]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def sniff_container(path: Path) -> str:
    """'ole' (BIFF8 .xls or an encrypted workbook), 'zip' (.xlsx/.ods), 'html' or 'text'."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    probe = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if probe.startswith(b"<") and (b"<table" in head.lower() or b"<html" in probe[:200]):
        return "html"
    return "text"


# --------------------------------------------------------------------------- text

def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'gbk' (decoded as GB18030), validated over the whole file in a
    stream; an undecodable byte raises ExtractError naming its offset and line."""
    with open(path, "rb") as fh:
        bom = fh.read(3) == b"\xef\xbb\xbf"
    if bom:
        _validate(path, "utf-8", 3, "UTF-8 (it starts with a UTF-8 BOM)")
        return "utf-8-sig"
    utf8_error = _first_error(path, "utf-8", 0)
    if utf8_error is None:
        return "utf-8"
    _validate(path, "gb18030", 0, "UTF-8 or GBK/GB18030", f" (the first invalid UTF-8 byte is at offset {utf8_error[0]})")
    return "gbk"


def _first_error(path: Path, encoding: str, skip: int) -> tuple[int, int, int] | None:
    """(byte offset, byte, line) of the first undecodable byte, else None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines = skip, 1
    with open(path, "rb") as fh:
        fh.seek(skip)
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's pending bytes followed by this chunk
                pos, pending = exc.start, len(exc.object) - len(chunk)
                bad = offset - pending + pos
                return bad, exc.object[pos], lines + exc.object[:pos].count(b"\n")
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            pending = len(exc.object)
            return offset - pending + exc.start, exc.object[exc.start], lines
    return None


def _validate(path: Path, encoding: str, skip: int, what: str, extra: str = "") -> None:
    error = _first_error(path, encoding, skip)
    if error is not None:
        offset, byte, line = error
        raise ExtractError(str(path), f"undecodable encoding: not valid {what}; byte 0x{byte:02x} at byte "
                                      f"offset {offset}{extra}", line)


def sniff_delimiter(path: Path, encoding: str) -> str:
    """',' unless the file's table lines hold tabs and no commas (a tab-separated file)."""
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(65536)
    lines = [ln for ln in sample.splitlines() if ln.strip()][:40]
    commas = sum(ln.count(",") for ln in lines)
    tabs = sum(ln.count("\t") for ln in lines)
    return "\t" if tabs and not commas else ","


def iter_text_rows(path: Path, encoding: str, delimiter: str = ",") -> Iterator[Row]:
    """Numbered rows of a delimited text file, read as a stream. A ragged row stays short
    (truncation is detected by the parsers); a malformed quote raises ExtractError."""
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        start = 1
        try:
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ExtractError(str(path), f"malformed CSV ({exc}); is the file truncated?", start) from None


# --------------------------------------------------------------------------- workbooks

def read_workbook(path: Path, container: str) -> tuple[str, list[Sheet]]:
    """``(kind, sheets)`` of a workbook file; kind is 'xls', 'xlsx', 'ods' or 'html', plus
    '-encrypted' when it was decrypted with Excel's default password."""
    data = Path(path).read_bytes()
    encrypted = False
    if container == "ole":
        data, encrypted = _decrypt_if_needed(path, data)
        if encrypted and data.startswith(ZIP_MAGIC):
            container = "zip"
    if container == "html":
        return "html", _html_sheets(path, data)
    kind = "xls" if container == "ole" else _zip_kind(data)
    from python_calamine import CalamineWorkbook  # lazy: only workbooks need it

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for index, name in enumerate(wb.sheet_names):
            sheet = wb.get_sheet_by_index(index)
            values = sheet.to_python(skip_empty_area=False)
            rows = [(i, [None if c == "" else c for c in cells]) for i, cells in enumerate(values, start=1)]
            while rows and blank_row(rows[-1][1]):
                rows.pop()
            merged = list(sheet.merged_cell_ranges or [])
            _spread_merged(rows, merged)
            sheets.append(Sheet(name, rows, merged))
    except ExtractError:
        raise
    except Exception as exc:  # calamine raises its own errors for corrupt or truncated workbooks
        raise ExtractError(str(path), f"not a readable .{kind} workbook ({type(exc).__name__}); "
                                      "is the file truncated?") from None
    return kind + ("-encrypted" if encrypted else ""), sheets


def _spread_merged(rows: list[Row], merged) -> None:
    """Give every cell of a merged range the value of its top-left cell (a yearbook's group
    header over several columns, or 地区 over two header rows)."""
    for (r1, c1), (r2, c2) in merged:
        if r1 >= len(rows) or c1 >= len(rows[r1][1]):
            continue
        value = rows[r1][1][c1]
        for r in range(r1, min(r2, len(rows) - 1) + 1):
            cells = rows[r][1]
            if len(cells) <= c2:
                cells.extend([None] * (c2 + 1 - len(cells)))
            for c in range(c1, c2 + 1):
                if cells[c] is None:
                    cells[c] = value


def _zip_kind(data: bytes) -> str:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if "mimetype" in zf.namelist() and b"opendocument.spreadsheet" in zf.read("mimetype"):
                return "ods"
    except zipfile.BadZipFile:
        pass
    return "xlsx"


def _decrypt_if_needed(path: Path, data: bytes) -> tuple[bytes, bool]:
    import msoffcrypto
    from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        if not office.is_encrypted():
            return data, False
    except (FileFormatError, Exception):  # not an Office file msoffcrypto knows: let calamine try
        return data, False
    out = io.BytesIO()
    try:
        office.load_key(password=DEFAULT_EXCEL_PASSWORD)
        office.decrypt(out)
    except (InvalidKeyError, DecryptionError):
        raise ExtractError(str(path), "the workbook is encrypted with a password other than Excel's default; "
                                      "open it in Excel or LibreOffice, remove the password and save it again") from None
    except Exception as exc:
        raise ExtractError(str(path), f"cannot decrypt the workbook ({type(exc).__name__}); open it in Excel or "
                                      "LibreOffice and save it again without a password") from None
    return out.getvalue(), True


class _TableParser(HTMLParser):
    """Cell texts of every <table> in an HTML page, with colspan/rowspan spread out.

    Our own code: pandas.read_html needs lxml or html5lib and returns frames without the
    source row numbers and with guessed headers; yearbook HTML copies need the raw grid."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._stack.append({"rows": [], "spans": {}, "row": None, "cell": None})
        elif not self._stack:
            return
        elif tag == "tr":
            self._stack[-1]["row"] = []
        elif tag in ("td", "th"):
            t = self._stack[-1]
            if t["row"] is None:
                t["row"] = []
            t["cell"] = {"text": [], "colspan": _span(attrs.get("colspan")), "rowspan": _span(attrs.get("rowspan"))}
        elif tag == "br" and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"]["text"].append("\n")

    def handle_endtag(self, tag):
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("td", "th") and t["cell"] is not None:
            self._place(t)
        elif tag == "tr" and t["row"] is not None:
            if t["cell"] is not None:
                self._place(t)
            self._finish_row(t)
        elif tag == "table":
            if t["row"]:
                self._finish_row(t)
            self.tables.append(self._stack.pop()["rows"])

    def handle_data(self, data):
        if self._stack and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"]["text"].append(data)

    def _place(self, t):
        cell, t["cell"] = t["cell"], None
        value = "".join(cell["text"]).replace("\xa0", " ").strip()
        row, r = t["row"], len(t["rows"])
        for _ in range(cell["colspan"]):
            while (r, len(row)) in t["spans"]:
                row.append(t["spans"].pop((r, len(row))))
            col = len(row)
            row.append(value)  # a spanned cell repeats its value, like a merged range (_spread_merged)
            for k in range(1, cell["rowspan"]):
                t["spans"][(r + k, col)] = value

    def _finish_row(self, t):
        r, row = len(t["rows"]), t["row"]
        while (r, len(row)) in t["spans"]:
            row.append(t["spans"].pop((r, len(row))))
        t["rows"].append(row)
        t["row"] = None


def _span(value) -> int:
    try:
        return max(1, min(int(value), 200))
    except (TypeError, ValueError):
        return 1


def _html_sheets(path: Path, data: bytes) -> list[Sheet]:
    head = data[:4096].decode("ascii", errors="replace")
    m = re.search(r"charset=[\"']?([A-Za-z0-9_-]+)", head)
    encodings = [m.group(1)] if m else []
    for enc in [*encodings, "utf-8", "gb18030"]:
        try:
            html = data.decode(enc)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    else:
        raise ExtractError(str(path), "HTML table file in an unknown encoding")
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    sheets = []
    for n, table in enumerate(parser.tables, start=1):
        rows = [(i, [c if c else None for c in cells]) for i, cells in enumerate(table, start=1)]
        sheets.append(Sheet(f"table {n}", rows))
    if not sheets:
        raise ExtractError(str(path), "an HTML file without a <table>")
    return sheets
