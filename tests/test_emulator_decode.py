"""The emulator's plain ingest decoder against its reference (the ``xmlschema`` decode).

``cuepipe.emulator.ingest.decode`` decodes a validated plain document straight from the lxml tree
and hands anything else to ``xmlschema``; both must give the same :class:`Node` tree, or both refuse
with ``XML_INVALID``. Documents are generated over every cue point type with the awkward parts the
format allows (empty and whitespace-only values, numbers in every lexical form, comments and
processing instructions, namespaces, custom data), plus the real server's files when present.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe.emulator import ingest
from cuepipe.emulator.errors import XML_INVALID, ApiError

_HERE = Path(__file__).resolve()
FIXTURE_DIRS = [p / "shared" / "kaltura" / "fixtures" for p in (_HERE.parents[2], _HERE.parents[3])]


def reference(data: bytes) -> ingest.Node:
    """The old path: parse, libxml2 validation, then the xmlschema decode for every document."""
    if not data or not data.strip():
        raise ApiError(XML_INVALID)
    root = ingest._hardened_parse(data)
    if not ingest._libxml_schema().validate(root):
        raise ApiError(XML_INVALID)
    return ingest._decode_reference(root)


def outcome(fn: Callable[[bytes], object], data: bytes) -> object:
    try:
        return fn(data)
    except ApiError as err:
        return ("error", err.code)


def same(data: bytes) -> tuple[str, str]:
    """Both outcomes as reprs (a NaN weight is not equal to itself, its repr is)."""
    return repr(outcome(ingest.decode, data)), repr(outcome(reference, data))


# ---------------------------------------------------------------------------- generated documents

texts = st.one_of(
    st.just(""),
    st.sampled_from([" ", "  x  ", "\n", "a&b", "<tag>", "0", "tab\there", "café 日本 🎬", "]]>"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
times = st.sampled_from(
    [
        "00:00:01",
        "00:00:01.5",
        "12:34:56.789",
        "00:00:02",
        "00:10:00.25",
        "00:00:05Z",
        "00:00:05+01:00",
        " 00:00:01",
        "1:2:3",
        "25:00:00",
        "x",
    ]
)
ints = st.sampled_from(["1", "2", "1", "2", "+2", "02", " 1 ", "-0", "3", "x", "１", "1_0", ""])
floats = st.sampled_from(["1", "0.5", "-0", "1e3", ".5", "5.", "INF", "-INF", "NaN", " 1 ", "+1.5E-2", "inf", "x", ""])
answer_ints = st.sampled_from(["1", "0", "007", "-0", " 1", "x"])


def el(tag: str, text: str | None) -> str:
    return f"<{tag}/>" if text is None else f"<{tag}>{escape(text)}</{tag}>"


@st.composite
def junk(draw: st.DrawFn) -> str:
    """Something between elements: nothing, whitespace, a comment or a processing instruction."""
    return draw(st.sampled_from(["", "", "", "\n  ", "<!-- note -->", "<?pi data?>"]))


@st.composite
def scene(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            [
                "annotation",
                "ad-cue-point",
                "code-cue-point",
                "thumb-cue-point",
                "question-cue-point",
                "answer-cue-point",
                "session-cue-point",
                "bogus",
            ]
        )
    )
    attrs = ' entryId="0_abc"'
    if draw(st.booleans()):
        attrs += f" systemName={quoteattr(draw(texts))}"
    if draw(st.booleans()):
        attrs += f" sceneId={quoteattr(draw(texts))}"
    if draw(st.integers(0, 9)) == 0:
        attrs += ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    j = draw(junk())
    parts = [el("sceneStartTime", draw(times))]
    if draw(st.booleans()):
        parts.append("<tags>" + j.join(el("tag", draw(texts)) for _ in range(draw(st.integers(1, 3)))) + "</tags>")
    maybe = lambda: draw(st.booleans())  # noqa: E731
    if kind == "annotation":
        parts.append(el("sceneEndTime", draw(times)))
        if maybe():
            parts.append(el("sceneText", draw(texts)))
        if maybe():
            parts.append(el(draw(st.sampled_from(["parent", "parentId"])), draw(texts)))
    elif kind == "ad-cue-point":
        if maybe():
            parts.append(el("sceneEndTime", draw(times)))
        if maybe():
            parts.append(el("sceneTitle", draw(texts)))
        if maybe():
            parts.append(el("sourceUrl", draw(texts)))
        parts += [el("adType", draw(st.sampled_from(["1", "2", " 1", "3"]))), el("protocolType", draw(ints))]
    elif kind == "code-cue-point":
        if maybe():
            parts.append(el("sceneEndTime", draw(times)))
        if maybe():
            parts.append(el("code", draw(texts)))
        if maybe():
            parts.append(el("description", draw(texts)))
    elif kind == "thumb-cue-point":
        parts += [el("title", draw(texts)), el("description", draw(texts))]
        if maybe():
            parts.append(el("subType", draw(ints)))
    elif kind == "question-cue-point":
        parts.append(el("question", draw(texts)))
        if maybe():
            parts.append(el("hint", draw(texts)))
        for _ in range(draw(st.integers(0, 2))):
            answers = []
            for _ in range(draw(st.integers(0, 3))):
                inner = []
                if maybe():
                    inner.append(el("key", draw(texts)))
                if maybe():
                    inner.append(el("text", draw(texts)))
                if maybe():
                    inner.append(el("weight", draw(floats)))
                if maybe():
                    inner.append(el("isCorrect", draw(answer_ints)))
                answers.append("<optionalAnswer>" + "".join(inner) + "</optionalAnswer>")
            parts.append("<optionalAnswers>" + "".join(answers) + "</optionalAnswers>")
    elif kind == "answer-cue-point":
        parts += [el("answerKey", draw(texts)), el("quizUserEntryId", draw(texts)), el("parentId", draw(texts))]
    elif kind == "session-cue-point":
        if maybe():
            parts.append(el("sceneEndTime", draw(times)))
        if maybe():
            parts.append(el("sceneTitle", draw(texts)))
    if kind in ("annotation", "ad-cue-point", "code-cue-point") and draw(st.integers(0, 4)) == 0:
        meta = draw(st.sampled_from(["", ' metadataProfileId="12"', ' metadataId=" 5"']))
        parts.append(
            f"<scene-customData{meta}><metadata><weight>abc</weight><x a='1'>t<y/>z</x></metadata></scene-customData>"
        )
    if kind in ("annotation", "code-cue-point", "session-cue-point") and draw(st.integers(0, 9)) == 0:
        parts.append(
            draw(
                st.sampled_from(
                    [
                        "<scene-extension/>",
                        "<scene-extension>1.5</scene-extension>",
                        '<scene-extension a="1"><weight>x</weight></scene-extension>',
                    ]
                )
            )
        )
    if draw(st.integers(0, 19)) == 0:  # a comment or PI inside a simple value
        i = draw(st.integers(0, len(parts) - 1))
        parts[i] = parts[i].replace("</", "<!--c--></", 1)
    return f"<scene-{kind}{attrs}>{j.join(parts)}</scene-{kind}>"


@st.composite
def document(draw: st.DrawFn) -> bytes:
    scenes = draw(st.lists(scene(), min_size=0, max_size=4))
    j = draw(junk())
    root_attrs = draw(st.sampled_from(["", ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"']))
    body = j + j.join(scenes) + j
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<scenes{root_attrs}>{body}</scenes>\n'.encode()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_plain_decoder_matches_the_reference(data: bytes) -> None:
    new, old = same(data)
    assert new == old


@pytest.mark.parametrize(
    "body",
    [
        # one valid scene of every type with every element, values in their plain forms
        '<scene-annotation entryId="0_a" systemName="n1" sceneId="0_x"><sceneStartTime>00:00:01.5</sceneStartTime>'
        "<tags><tag>a</tag><tag/><tag> </tag></tags><sceneEndTime>00:00:02</sceneEndTime><sceneText>t &amp; u"
        "</sceneText><parent>p</parent></scene-annotation>",
        '<scene-ad-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><sceneEndTime>00:00:03'
        "</sceneEndTime><sceneTitle>ad</sceneTitle><sourceUrl>http://x/?a=1&amp;b=2</sourceUrl><adType>1</adType>"
        "<protocolType>2</protocolType></scene-ad-cue-point>",
        '<scene-code-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><code><![CDATA[a<b]]></code>'
        "<description>  d  </description></scene-code-cue-point>",
        '<scene-thumb-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><title/><description>d'
        "</description><subType>+02</subType></scene-thumb-cue-point>",
        '<scene-question-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><question>q</question>'
        "<hint>h</hint><explanation>e</explanation><optionalAnswers><optionalAnswer><key>1</key><text>t</text>"
        "<weight>1e3</weight><isCorrect>007</isCorrect></optionalAnswer><optionalAnswer><weight>-0</weight>"
        "</optionalAnswer></optionalAnswers><optionalAnswers/></scene-question-cue-point>",
        '<scene-answer-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><answerKey>1</answerKey>'
        "<quizUserEntryId>u</quizUserEntryId><parentId>0_q</parentId></scene-answer-cue-point>",
        '<scene-session-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><sceneEndTime>00:00:02'
        "</sceneEndTime><sceneTitle>s</sceneTitle></scene-session-cue-point>",
    ],
)
def test_every_type_decodes_on_the_plain_path_as_the_reference_does(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = f"<scenes>\n{body}\n</scenes>".encode()
    calls: list[object] = []
    real = ingest._decode_reference

    def spy(root: object) -> ingest.Node:
        calls.append(root)
        return real(root)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_decode_reference", spy)
    decoded = ingest.decode(data)
    assert calls == []  # the plain path decoded it
    assert decoded == reference(data)
    assert isinstance(decoded.children[0], ingest.Node)


@pytest.mark.parametrize(
    "body",
    [
        '<!-- c --><scene-code-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime>'
        "</scene-code-cue-point>",
        '<scene-code-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><code>a<!--c-->b</code>'
        "</scene-code-cue-point>",
        '<scene-question-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime><question>q</question>'
        "<optionalAnswers><optionalAnswer><weight>INF</weight></optionalAnswer></optionalAnswers>"
        "</scene-question-cue-point>",
        '<scene-code-cue-point entryId="0_a"><sceneStartTime>00:00:01</sceneStartTime>'
        '<scene-customData metadataProfileId="3"><metadata><a>1</a></metadata></scene-customData>'
        "</scene-code-cue-point>",
    ],
)
def test_unusual_documents_go_to_the_reference(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = f"<scenes>{body}</scenes>".encode()
    calls: list[object] = []
    real = ingest._decode_reference

    def spy(root: object) -> ingest.Node:
        calls.append(root)
        return real(root)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_decode_reference", spy)
    new = outcome(ingest.decode, data)
    assert len(calls) == 1
    assert new == outcome(reference, data)


def _fixture_files() -> list[Path]:
    for folder in FIXTURE_DIRS:
        if folder.is_dir():
            return sorted(folder.glob("ingest*.xml"))
    return []


@pytest.mark.skipif(not _fixture_files(), reason="the real server's files are not available")
@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_real_server_ingest_files_decode_as_the_reference_does(path: Path) -> None:
    data = path.read_bytes()
    new, old = same(data)
    assert new == old
    assert not new.startswith("('error'")  # the server's own files are valid
