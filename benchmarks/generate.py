"""Seeded generator of realistic, mixed cue point records, and the cached benchmark inputs built from them.

``generate(n, seed)`` returns ``n`` serve-shaped records (API field names, see format.md §1/§3): every
XML type (annotations with parents by system name and by id, ads, code, thumbs, quiz questions with
optional answers and quiz answers, sessions), unicode text (accents, CJK, emoji, RTL, ``& < > " '``),
tags, custom metadata on some, millisecond times under 24 h. ``ingest_view`` turns one into what the
ingest format carries. ``ensure_data`` writes, once per (n, seed), under ``benchmarks/data/``:

* ``cues-<n>-seed<seed>-v<V>.ingest.xml``  ingest document (``cuepipe.write_xml(kind="ingest")``)
* ``cues-<n>-seed<seed>-v<V>.serve.xml``   serve document (``kind="serve"``)
* ``cues-<n>-seed<seed>-v<V>.frame.pkl``   the ingest records as a DataFrame (``records_to_frame``)

``python -m benchmarks.generate --n 10000 [--seed 7]`` builds them ahead of time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cuepipe import vocabulary as voc

#: Bump when the generated data changes shape, so stale cached files are not reused.
GENERATOR_VERSION = 2
DEFAULT_SEED = 20240601
DATA_DIR = Path(__file__).resolve().parent / "data"
DAY_MS = 86_400_000
METADATA_PROFILE_ID = 12

T = voc.CuePointType

# Text fragments: accents, CJK, emoji (incl. ZWJ and skin tones), RTL scripts, XML-special characters.
SNIPPETS: tuple[str, ...] = (
    "Introduction to the course",
    "Café déjà vu — naïve façade, crème brûlée",
    "Übergrößenträger in Zürich",
    "日本語の字幕テキストです",
    "中文注释：第一章",
    "한국어 자막 예시",
    "Emoji time 🎬🎉👍🏽 👩‍💻",
    "שלום עולם, זהו טקסט מימין לשמאל",
    "مرحبا بالعالم، هذا نص عربي",
    "Tom & Jerry <b>not a tag</b> \"double\" and 'single' quotes",
    'if (a < b && c > d) { return "x"; }',
    "Ελληνικά κείμενα και σύμβολα ±∞",
    "Русский текст с ё и й",
    "Q&A: what's <next>?",
    "Line one\nline two of a multi-line note",
    "   leading and trailing spaces   ",
    "Numbers 1 < 2 > 0 & 3 ≥ 2",
    "Summary of key points",
    "Let's review the results so far",
    "Slide: quarterly figures (Q3) — 12% ↑",
)
SHORT: tuple[str, ...] = (
    "Intro",
    "Chapter 1",
    "Résumé",
    "第二章",
    "🎯 Goal",
    "פרק ג",
    "Q&A",
    "<Summary>",
    '"Quoted"',
    "Wrap-up",
    "Demo time",
    "Español: sección",
    "Øresund",
    "Agenda",
    "Conclusión",
)
TAGS: tuple[str, ...] = (
    "intro",
    "chapter",
    "slide",
    "música",
    "日本",
    "中文",
    "emoji🎬",
    "R&D",
    "x<y",
    "a>b",
    '"q"',
    "it's",
    "עברית",
    "عربي",
    "keynote",
    "quiz",
    "ad-break",
    "summary",
    "lecture",
    "naïve",
)
USERS: tuple[str, ...] = (
    "admin",
    "jane.doe@example.com",
    "José Álvarez",
    "李雷",
    "partner_1001",
    "ops&qa",
    "عمر",
)
URLS: tuple[str, ...] = (
    "https://ads.example.com/vast.xml?slot=pre&cb=1",
    "https://ads.example.com/vpaid/ad.js?a=1&b=<2>",
    "http://example.org/vast2",
)

# Relative frequency of each record shape in random position (after the coverage prefix).
_SHAPES: tuple[tuple[str, int], ...] = (
    ("chapter", 12),
    ("note", 14),
    ("child", 14),
    ("ad", 10),
    ("code", 10),
    ("thumb", 14),
    ("question", 8),
    ("answer", 12),
    ("session", 6),
)
# Every shape, in an order that lets children find their parents: the start of every data set.
_COVERAGE: tuple[str, ...] = (
    "chapter+",
    "child-last",
    "chapter-",
    "child-last",
    "note",
    "ad",
    "code",
    "thumb",
    "question",
    "answer",
    "session",
)


def _base36(n: int, width: int = 8) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(reversed(out))


def _cue_id(i: int) -> str:
    """Unique, random-looking Kaltura-style id (``0_xxxxxxxx``): a bijection of i modulo 36**8."""
    return "0_" + _base36((i * 2654435761 + 12345) % 36**8)


class _Gen:
    """The generator's state: one random stream, the current entry, parents seen on it."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.i = 0
        self.entry_no = 0
        self.entry_id = ""
        self.duration = 0
        self.left_on_entry = 0
        self.parents: list[tuple[str, str | None]] = []  # (id, systemName or None)
        self.questions: list[tuple[str, list[str]]] = []  # (id, answer keys)

    # -- values ---------------------------------------------------------------------------------
    def text(self, max_len: int | None = None, parts: tuple[int, int] = (1, 3)) -> str:
        rng = self.rng
        s = " ".join(rng.choice(SNIPPETS) for _ in range(rng.randint(*parts)))
        return s[:max_len] if max_len else s

    def short(self) -> str:
        return f"{self.rng.choice(SHORT)} {self.rng.randint(1, 999)}"

    def tags(self) -> str | None:
        k = self.rng.choice((0, 0, 1, 2, 3, 4))
        return ",".join(self.rng.sample(TAGS, k)) if k else None

    def times(self, end: bool) -> tuple[int, int | None]:
        start = self.rng.randrange(0, self.duration)
        if not end:
            return start, None
        return start, min(start + self.rng.randint(500, 300_000), DAY_MS - 1000)

    def custom_data(self) -> list[dict[str, Any]] | None:
        rng = self.rng
        if rng.random() >= 0.2:
            return None
        items = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            note = escape(self.text(120, (1, 2)))
            items.append(
                {
                    "metadataId": rng.randint(1, 2**31 - 1),
                    "metadataVersion": rng.randint(1, 9),
                    "metadataProfileId": METADATA_PROFILE_ID,
                    "metadataProfileVersion": 3,
                    "metadataProfileName": "Cue notes & ratings",
                    "xml": f"<metadata><Note>{note}</Note><Rating>{rng.randint(1, 5)}</Rating></metadata>",
                }
            )
        return items

    # -- records --------------------------------------------------------------------------------
    def next_entry(self) -> None:
        rng = self.rng
        self.entry_no += 1
        self.entry_id = "1_" + _base36(self.entry_no * 40503 + 7)
        # mostly videos under two hours; some long recordings up to just under 24 h
        hi = 7_200_000 if rng.random() < 0.8 else DAY_MS - 400_000
        self.duration = rng.randint(60_000, hi)
        self.left_on_entry = rng.randint(50, 400)
        self.parents = []
        self.questions = []

    def record(self, shape: str) -> dict[str, Any]:
        """One serve-shaped record of the given shape (falls back when a parent is missing)."""
        rng = self.rng
        if self.left_on_entry <= 0:
            self.next_entry()
        self.left_on_entry -= 1
        if shape.startswith("child") and not self.parents:
            shape = "chapter"
        if shape == "answer" and not self.questions:
            shape = "question"
        cue_id = _cue_id(self.i)
        self.i += 1
        rec: dict[str, Any] = {"id": cue_id, "entryId": self.entry_id}
        custom = False
        if shape in ("chapter", "chapter+", "chapter-", "note", "child", "child-last"):
            start, end = self.times(True)
            rec.update(cuePointType=T.ANNOTATION, startTime=start, endTime=end, text=self.text())
            if shape.startswith("chapter"):
                named = shape == "chapter+" or (shape == "chapter" and rng.random() < 0.7)
                system_name = f"chapter-{self.i}-{rng.choice(SHORT)}" if named else None
                if system_name:
                    rec["systemName"] = system_name
                self.parents.append((cue_id, system_name))
            elif shape.startswith("child"):
                last = shape == "child-last"
                parent_id, parent_name = self.parents[-1] if last else rng.choice(self.parents)
                if parent_name is not None:
                    rec["parentSystemName"] = parent_name
                rec["parentId"] = parent_id
            custom = True
        elif shape == "ad":
            start, end = self.times(rng.random() < 0.7)
            rec.update(
                cuePointType=T.AD,
                startTime=start,
                endTime=end,
                title=self.text(250, (1, 1)),
                sourceUrl=rng.choice(URLS),
                adType=rng.choice("12"),
                protocolType=rng.choice("0123"),
            )
            custom = True
        elif shape == "code":
            start, end = self.times(rng.random() < 0.5)
            rec.update(
                cuePointType=T.CODE,
                startTime=start,
                endTime=end,
                code=f"trigger_{rng.randint(1, 50)}&mode=<{rng.choice(('a', 'b'))}>",
                description=self.text() if rng.random() < 0.7 else "",
            )
            custom = True
        elif shape == "thumb":
            start, _ = self.times(False)
            rec.update(
                cuePointType=T.THUMB,
                startTime=start,
                title=self.short(),
                description=self.text(),
                subType=rng.choice((1, 2)),
            )
            custom = True
        elif shape == "question":
            start, _ = self.times(False)
            keys = [str(k) for k in range(1, rng.randint(2, 4) + 1)]
            correct = rng.choice(keys)
            rec.update(
                cuePointType=T.QUIZ_QUESTION,
                startTime=start,
                question=self.text(None, (1, 2)) + "?",
                optionalAnswers=[
                    {
                        "key": k,
                        "text": self.short(),
                        "weight": rng.choice((1.0, 0.5, 2.0)),
                        "isCorrect": int(k == correct),
                    }
                    for k in keys
                ],
            )
            if rng.random() < 0.5:
                rec["hint"] = self.text(None, (1, 1))
            if rng.random() < 0.5:
                rec["explanation"] = self.text(None, (1, 2))
            self.questions.append((cue_id, keys))
        elif shape == "answer":
            question_id, keys = rng.choice(self.questions)
            start, _ = self.times(False)
            rec.update(
                cuePointType=T.QUIZ_ANSWER,
                startTime=start,
                answerKey=rng.choice(keys),
                quizUserEntryId="1_qu" + _base36(rng.randrange(36**6), 6),
                parentId=question_id,
            )
        elif shape == "session":
            start, end = self.times(True)
            rec.update(cuePointType=T.SESSION, startTime=start, endTime=end, name=self.short())
            custom = True
        else:
            raise ValueError(f"unknown shape {shape!r}")
        if rec.get("endTime", 0) is None:
            del rec["endTime"]
        tags = self.tags()
        if tags:
            rec["tags"] = tags
        if rng.random() < 0.3:
            rec["userId"] = rng.choice(USERS)
        if custom:
            cd = self.custom_data()
            if cd:
                rec["customData"] = cd
        return rec


def generate(n: int, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """``n`` serve-shaped records (every XML type among the first eleven), deterministic for ``seed``.

    The records for a smaller ``n`` are a prefix of those for a larger one.
    """
    gen = _Gen(seed)
    gen.next_entry()
    names = [s for s, _ in _SHAPES]
    cum = list(itertools.accumulate(w for _, w in _SHAPES))
    choices = gen.rng.choices
    out = []
    for i in range(n):
        shape = _COVERAGE[i] if i < len(_COVERAGE) else choices(names, cum_weights=cum)[0]
        out.append(gen.record(shape))
    return out


_CUSTOM_KEYS: dict[voc.Kind, frozenset[str]] = {
    kind: frozenset(f.column for f in voc.CUSTOM_DATA_ATTRIBUTES if f.occurs(kind) is not None)
    | {voc.CUSTOM_DATA_XML_KEY}
    for kind in voc.KINDS
}
_INGEST_COLUMNS: dict[str, frozenset[str]] = {
    t.api_type.value: frozenset(f.column for f in t.fields_for("ingest")) | {"cuePointType"} for t in voc.XML_TYPES
}


def ingest_view(rec: dict[str, Any], index: int) -> dict[str, Any]:
    """What the ingest format carries of a serve record, per the vocabulary.

    Drops serve-only fields (``userId``) and custom metadata keys; keeps one of ``parentSystemName`` /
    ``parentId`` (the ingest choice); keeps ``id`` on every tenth record (updates), drops it elsewhere.
    """
    api_type = voc.type_info(rec["cuePointType"]).api_type.value
    allowed = _INGEST_COLUMNS[api_type]
    out = {k: v for k, v in rec.items() if k in allowed}
    if index % 10 and "id" in out:
        del out["id"]
    if api_type == T.ANNOTATION and "parentSystemName" in out and "parentId" in out:
        del out["parentId"]
    if "customData" in out:
        keys = _CUSTOM_KEYS["ingest"]
        out["customData"] = [{k: v for k, v in item.items() if k in keys} for item in out["customData"]]
    return out


@dataclass(frozen=True)
class DataFiles:
    """Paths of the cached inputs for one (n, seed)."""

    n: int
    seed: int
    ingest_xml: Path
    serve_xml: Path
    frame: Path

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "seed": self.seed,
            "ingest_xml": str(self.ingest_xml),
            "serve_xml": str(self.serve_xml),
            "frame": str(self.frame),
        }


def data_files(n: int, seed: int = DEFAULT_SEED, data_dir: Path | str = DATA_DIR) -> DataFiles:
    stem = Path(data_dir) / f"cues-{n}-seed{seed}-v{GENERATOR_VERSION}"
    return DataFiles(n, seed, Path(f"{stem}.ingest.xml"), Path(f"{stem}.serve.xml"), Path(f"{stem}.frame.pkl"))


def ensure_data(n: int, seed: int = DEFAULT_SEED, data_dir: Path | str = DATA_DIR, verbose: bool = False) -> DataFiles:
    """Build the cached inputs for (n, seed) if any is missing; return their paths."""
    files = data_files(n, seed, data_dir)
    if files.ingest_xml.is_file() and files.serve_xml.is_file() and files.frame.is_file():
        return files
    import cuepipe

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    serve = generate(n, seed)
    ingest = [ingest_view(r, i) for i, r in enumerate(serve)]
    cuepipe.write_xml(serve, files.serve_xml, kind="serve")
    cuepipe.write_xml(ingest, files.ingest_xml, kind="ingest")
    frame = cuepipe.records_to_frame(ingest)
    tmp = files.frame.with_suffix(".pkl.tmp")
    frame.to_pickle(tmp)
    os.replace(tmp, files.frame)
    if verbose:
        mb = (files.serve_xml.stat().st_size + files.ingest_xml.stat().st_size) / 1e6
        print(f"generated n={n:,} seed={seed} in {time.perf_counter() - t0:.1f}s ({mb:.0f} MB of XML)")
    return files


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, action="append", help="number of cue points (repeatable)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--data", type=Path, default=DATA_DIR, help="output directory")
    args = p.parse_args(argv)
    for n in args.n or [10_000, 100_000]:
        files = ensure_data(n, args.seed, args.data, verbose=True)
        print(f"  {files.ingest_xml}\n  {files.serve_xml}\n  {files.frame}")


if __name__ == "__main__":
    main()
