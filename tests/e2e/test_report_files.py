"""`reports submit` takes only a regular file of an accepted type and size, stores exactly
the bytes it hashed, and `db check` finds what does not match the rows."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import CHEF, LEADER, dump, run_cli

FINSAM = str(Path(sys.executable).with_name("finsam"))
ACCEPTED = (
    "accepted: PDF, Word (DOCX), Excel (XLSX), OpenDocument text/spreadsheet (ODT/ODS), "
    "plain text, CSV"
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(16)


def _zip(entries: list[tuple[str, str]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, text) in enumerate(entries):
            plain = stored_first and i == 0  # ODF: `mimetype` first and uncompressed
            archive.writestr(
                name, text, compress_type=zipfile.ZIP_STORED if plain else zipfile.ZIP_DEFLATED
            )
    return buffer.getvalue()


def _types(part: str, content_type: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/content-types"><Override PartName="/{part}" ContentType="{content_type}"/>'
        "</Types>"
    )


def docx(*, late_main_part: bool = False) -> bytes:
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    filler = [(f"customXml/item{i}.xml", "<x/>") for i in range(6)] if late_main_part else []
    return _zip(
        [
            ("[Content_Types].xml", _types("word/document.xml", main)),
            ("_rels/.rels", "<Relationships/>"),
            *filler,  # the main part after the first entries: only the central directory tells
            ("word/document.xml", "<w:document/>"),
        ]
    )


def xlsx() -> bytes:
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    return _zip(
        [
            ("[Content_Types].xml", _types("xl/workbook.xml", main)),
            ("_rels/.rels", "<Relationships/>"),
            ("xl/workbook.xml", "<workbook/>"),
        ]
    )


def odf(mime: str) -> bytes:
    return _zip(
        [("mimetype", mime), ("content.xml", "<office:document-content/>")], stored_first=True
    )


@pytest.fixture
def reports(year_db: str) -> list[int]:
    """The ids of Mariamottagningen's three pending reports, the earliest due first."""
    page = json.loads(run_cli("reports", "status", "--year", "2027", "--json").stdout)
    return [r["id"] for r in reversed(page["obligations"])]


def _store(year_db: str) -> Path:
    return Path(year_db.removeprefix("sqlite:///")).parent / "finsam-files"


def _stored_files(store: Path) -> list[Path]:
    return sorted(p for p in store.rglob("*") if p.is_file() or p.is_symlink())


def _submit(report: int, path: Path, code: int = 0) -> dict:
    out = run_cli(
        "reports", "submit", str(report), "--file", str(path), "--as", LEADER, "--json", code=code
    )
    return json.loads(out.stdout) if code == 0 else {"stderr": out.stderr}


def _comments(report: int) -> list[str]:
    page = json.loads(run_cli("audit", "log", "--subject", f"obligation:{report}", "--json").stdout)
    return [r["comment"] for r in reversed(page["rows"]) if r["action"] == "submit"]


CASES = [
    # name on disk, bytes, the MIME type recorded: the name may lie, the content decides
    ("rapport.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"),
    ("rapport.docx", docx(), DOCX),
    ("libreoffice.docx", docx(late_main_part=True), DOCX),
    ("budget.xlsx", xlsx(), XLSX),
    ("rapport.odt", odf(ODT), ODT),
    ("budget.ods", odf(ODS), ODS),
    ("named-a-pdf.pdf", docx(), DOCX),
    ("mariamottagningen-t1.txt", b"Tertialrapport 1 2027, Mariamottagningen\n", "text/plain"),
    ("siffror.csv", "år;belopp\r\nå;1\r\n".encode(), "text/csv; charset=utf-8"),
    ("excel.csv", "år;belopp\r\nå;1\r\n".encode("cp1252"), "text/csv; charset=windows-1252"),
    ("bom.txt", "\ufeffText\tmed tabb\n".encode(), "text/plain; charset=utf-8"),
]


def test_each_accepted_type_is_stored_exactly_as_hashed(
    year_db: str, reports: list[int], tmp_path: Path
) -> None:
    store = _store(year_db)
    report = reports[1]
    for name, content, mime in CASES:
        doc = tmp_path / name
        doc.write_bytes(content)
        data = _submit(report, doc)
        sha = hashlib.sha256(content).hexdigest()
        assert (data["state"], data["file_sha256"], data["file_size"]) == (
            "submitted",
            sha,
            len(content),
        ), name
        kept = Path(data["stored_at"])
        assert kept == store / sha[:2] / sha
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha, name
        assert _comments(report)[-1].startswith(f"{name} ({len(content)} bytes, {mime}"), name
        run_cli("reports", "return", str(report), "--as", CHEF, "--comment", "Nästa")
    assert len(_stored_files(store)) == len({c for _, c, _ in CASES})
    assert not list((store / ".staging").iterdir())
    assert run_cli("db", "check").stdout.strip().endswith("every named file is there.")


def test_the_same_bytes_twice_are_kept_once(
    year_db: str, reports: list[int], tmp_path: Path
) -> None:
    doc = tmp_path / "T1.txt"
    doc.write_text("Samma rapport\n")
    first, second = _submit(reports[0], doc), _submit(reports[1], doc)
    assert first["stored_at"] == second["stored_at"]
    assert len(_stored_files(_store(year_db))) == 1


def _refusals(tmp_path: Path) -> list[tuple[str, Path, str]]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    secret = elsewhere / "secret.txt"
    secret.write_text("root:x:0:0\n")
    (tmp_path / "link.txt").symlink_to(secret)
    (tmp_path / "folder").mkdir()
    files = {
        "bild.pdf": PNG,
        "arkiv.docx": _zip([("hello.txt", "hej")]),
        "tom.txt": b"",
        "binar.txt": b"Text\x00med NUL\n",
        "esc.txt": b"Rapport \x1b[31mr\xc3\xb6d\n",
        "c1.txt": "Rapport \x85 slut\n".encode(),  # NEL, a C1 control
        "latin.txt": b"Rapport \x81 slut\n",  # neither UTF-8 nor Windows-1252
        "rad\nBcc: x@y.txt": b"Rapport\n",  # the name is shown and mailed: one line only
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return [
        ("symlink", tmp_path / "link.txt", "link.txt: is a symbolic link; only a regular file"),
        ("directory", tmp_path / "folder", "folder: is a directory; only a regular file is read"),
        ("device", Path("/dev/zero"), "/dev/zero: is a character device"),
        ("missing", tmp_path / "none.pdf", "none.pdf: no such file"),
        ("png", tmp_path / "bild.pdf", f"looks like a PNG image (image/png); {ACCEPTED}"),
        ("zip", tmp_path / "arkiv.docx", f"looks like a ZIP archive (application/zip); {ACCEPTED}"),
        ("empty", tmp_path / "tom.txt", "tom.txt: is empty"),
        ("nul", tmp_path / "binar.txt", "nor text (byte 5 is the control character 0x00)"),
        ("esc", tmp_path / "esc.txt", "nor text (byte 9 is the control character 0x1B)"),
        ("c1", tmp_path / "c1.txt", "looks like UTF-8 text with a control character (U+0085)"),
        ("latin", tmp_path / "latin.txt", "text in an encoding finsam does not read"),
        (
            "name",
            tmp_path / "rad\nBcc: x@y.txt",
            "--file (the file's name) contains a control character, a line break (LF)",
        ),
    ]


def test_refusals_store_nothing(year_db: str, reports: list[int], tmp_path: Path) -> None:
    store = _store(year_db)
    before = dump(year_db)
    for what, path, message in _refusals(tmp_path):
        err = _submit(reports[0], path, code=2)["stderr"]
        assert message in err, (what, err)
        assert "Traceback" not in err
    assert dump(year_db) == before
    assert not store.exists()  # not even the folders a refused submission made


def test_a_file_over_the_limit_is_refused_while_read(
    year_db: str, reports: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "stor.txt"
    big.write_bytes(b"rad med text\n" * (1_500_000 // 13))  # 1.5 MB of good text
    before = dump(year_db)
    monkeypatch.setenv("FINSAM_MAX_UPLOAD_MB", "1")
    err = _submit(reports[0], big, code=2)["stderr"]
    assert "stor.txt: is larger than 1 MB, the most a report may be (FINSAM_MAX_UPLOAD_MB)" in err
    for bad in ("0", "-3", "lots", "nan", "1e9"):
        monkeypatch.setenv("FINSAM_MAX_UPLOAD_MB", bad)
        err = _submit(reports[0], big, code=2)["stderr"]
        assert f"FINSAM_MAX_UPLOAD_MB={bad!r} is not a size in MB" in err
    assert dump(year_db) == before
    assert not _store(year_db).exists()
    monkeypatch.setenv("FINSAM_MAX_UPLOAD_MB", "2")
    assert _submit(reports[0], big)["file_size"] == big.stat().st_size


def test_a_fifo_is_refused_without_waiting_for_a_writer(
    year_db: str, reports: list[int], tmp_path: Path
) -> None:
    fifo = tmp_path / "rapport.pdf"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    env.update(FINSAM_DATABASE_URL=year_db, FINSAM_NOW="2027-01-10T09:00")
    result = subprocess.run(
        [FINSAM, "reports", "submit", str(reports[0]), "--file", str(fifo), "--as", LEADER],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails here instead of blocking the run
    )
    assert result.returncode == 2, result.stderr
    assert "rapport.pdf: is a FIFO (named pipe); only a regular file is read" in result.stderr


def test_db_check_finds_orphans_dangling_references_and_stale_staging(
    year_db: str, reports: list[int], tmp_path: Path
) -> None:
    store = _store(year_db)
    docs = []
    for i, report in enumerate(reports[:2]):
        doc = tmp_path / f"r{i}.txt"
        doc.write_text(f"Rapport {i}\n")
        docs.append(_submit(report, doc))
    assert json.loads(run_cli("db", "check", "--json").stdout)["clean"] is True
    gone, altered = (Path(d["stored_at"]) for d in docs)
    gone.unlink()
    altered.write_text("ändrad\n")
    orphan = store / "ab" / ("ab" + "0" * 62)
    orphan.parent.mkdir(mode=0o700)
    orphan.write_text("nobody's\n")
    (store / ".staging" / "dead.part").write_text("half a rapport")  # nobody holds its lock
    found = json.loads(run_cli("db", "check", "--json", code=1).stdout)
    assert found["orphans"] == [f"ab/{orphan.name}"]
    assert found["staging"] == [".staging/dead.part"]
    assert {(d["sha256"], d["problem"], tuple(d["referenced_by"])) for d in found["dangling"]} == {
        (docs[0]["file_sha256"], "missing", (f"obligation:{reports[0]}",)),
        (docs[1]["file_sha256"], "altered", (f"obligation:{reports[1]}",)),
    }
    human = run_cli("db", "check", code=1).stdout
    assert f"orphan: ab/{orphan.name}" in human and "stale: .staging/dead.part" in human
    repaired = json.loads(run_cli("db", "check", "--repair", "--json", code=1).stdout)
    assert sorted(repaired["repaired"]) == [
        "removed .staging/dead.part (no row names it: its submission never committed)",
        f"removed ab/{orphan.name} (no row names it)",
    ]
    assert (repaired["orphans"], repaired["staging"]) == ([], [])
    assert len(repaired["dangling"]) == 2 and altered.exists()  # a named file is never removed
    gone.write_text("Rapport 0\n")
    altered.write_text("Rapport 1\n")
    assert run_cli("db", "check").stdout.strip().startswith(f"Report files in {store}")
