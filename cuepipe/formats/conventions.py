"""Which cue points are chapters and which are slides: Kaltura's own conventions, in one place.

* Thumb cue points (``thumbCuePoint.Thumb``) carry ``subType``: ``1`` SLIDE, ``2`` CHAPTER
  (``ThumbCuePointSubType`` in the server's thumb cue point plugin). The Kaltura player's chapters
  and slides navigation and the KMC chapters editor create and show these. A chapter's name is its
  ``title``, its longer text its ``description``.
* Before thumb cue points, the player's chapters module used annotations tagged ``chaptering``:
  the server still special-cases ``tagsLike=chaptering`` in ``KalturaAnnotationFilter``
  (``CHAPTERS_PUBLIC_TAG``) for it. Such a chapter's name is its ``text``.

Every chapter-shaped format (WebVTT chapters, YouTube, FFmpeg, Podcasting 2.0, foreign OTIO
markers) asks :class:`Conventions` which records it carries and what their titles are, and uses it
to build the records it reads. Pass your own ``Conventions(...)`` as ``conventions=`` to change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .. import vocabulary as voc
from ..tabular import CHAPTER_TAG
from ..values import is_missing

Role = Literal["chapter", "slide"]

THUMB = voc.CuePointType.THUMB.value
ANNOTATION = voc.CuePointType.ANNOTATION.value
AD = voc.CuePointType.AD.value


@dataclass(frozen=True)
class Conventions:
    """What counts as a chapter or a slide, and what readers create.

    ``chapter_sub_types`` / ``slide_sub_types``: thumb cue point sub-types of each role.
    ``chapter_annotation_tags``: an annotation carrying any of these tags is a chapter (empty: none).
    ``thumbs_without_sub_type``: the role of a thumb cue point without ``subType`` (None: neither).
    ``read_chapters_as``: what readers create from a format's chapters: ``"thumb"`` (sub-type
    CHAPTER, the current convention) or ``"annotation"`` (tagged with the first chapter tag, with
    an end time, as the older player module expects).
    """

    chapter_sub_types: tuple[int, ...] = (int(voc.ThumbCuePointSubType.CHAPTER),)
    slide_sub_types: tuple[int, ...] = (int(voc.ThumbCuePointSubType.SLIDE),)
    chapter_annotation_tags: tuple[str, ...] = (CHAPTER_TAG,)
    thumbs_without_sub_type: Role | None = None
    read_chapters_as: Literal["thumb", "annotation"] = "thumb"

    def role(self, record: Mapping[str, Any]) -> Role | None:
        """``"chapter"``, ``"slide"`` or None for one record."""
        kind = record.get("cuePointType")
        if kind == THUMB:
            sub = record.get("subType")
            if sub is None or is_missing(sub):
                return self.thumbs_without_sub_type
            if int(sub) in self.chapter_sub_types:
                return "chapter"
            if int(sub) in self.slide_sub_types:
                return "slide"
            return None
        if kind == ANNOTATION and self.chapter_annotation_tags:
            tags = record.get("tags")
            if isinstance(tags, str) and set(tags.split(",")) & set(self.chapter_annotation_tags):
                return "chapter"
        return None

    def title_field(self, record: Mapping[str, Any]) -> str:
        """The column holding a chapter's or slide's name: ``title`` (thumb) or ``text`` (annotation)."""
        return "text" if record.get("cuePointType") == ANNOTATION else "title"

    def title(self, record: Mapping[str, Any]) -> str | None:
        value = record.get(self.title_field(record))
        return None if value is None or is_missing(value) else str(value)

    def chapter_record(
        self,
        *,
        start: int,
        title: str,
        entry: str | None,
        end: int | None = None,
        role: Role = "chapter",
        system_name: str | None = None,
    ) -> dict[str, Any]:
        """The record a reader creates for one chapter (or slide) of a format."""
        rec: dict[str, Any] = {}
        if role == "chapter" and self.read_chapters_as == "annotation":
            rec = {"cuePointType": ANNOTATION, "startTime": start, "text": title}
            if self.chapter_annotation_tags:
                rec["tags"] = self.chapter_annotation_tags[0]
            if end is not None:
                rec["endTime"] = end
        else:
            sub = self.chapter_sub_types[0] if role == "chapter" else self.slide_sub_types[0]
            # description is required by the ingest schema; a chapter format has none to give
            rec = {"cuePointType": THUMB, "startTime": start, "title": title, "description": "", "subType": sub}
        if entry is not None:
            rec["entryId"] = entry
        if system_name is not None:
            rec["systemName"] = system_name
        return rec


#: The conventions used when none are given.
DEFAULT = Conventions()
