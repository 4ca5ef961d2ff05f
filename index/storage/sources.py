"""What the last local build read (``INDEX/sources.json``, beside the versions): the fingerprint of its sources
and settings, the version it left current and the inputs it skipped or repaired. A rebuild of unchanged sources
finds the same fingerprint for the same version and says "nothing changed", with the same notices, without
reading an article or loading the model. Any other publish (an HTTP write, a Ray build) moves ``current`` on,
so the record no longer applies and the next build reads its sources again."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..models import Notices, Repaired, Skipped, count

SOURCES_FILE = "sources.json"
_TMP_FILE = ".tmp-sources.json"  # the ``.tmp-`` prefix: a crashed build's copy is removed with its work folders


@dataclass(frozen=True)
class SourceRecord:
    """One build's reading: the version it left current, the fingerprint of its inputs, and its notices (the
    first MAX_NOTICES of each kind by name, all of them counted)."""

    version: str
    fingerprint: str
    skipped: list[Skipped] = field(default_factory=list)
    repaired: list[Repaired] = field(default_factory=list)

    def save(self, index_dir: Path) -> None:
        """Write the record beside the versions, atomically (the caller holds the build lock)."""
        data = {
            "version": self.version,
            "fingerprint": self.fingerprint,
            "skipped": [[s.path, s.reason] for s in self.skipped],
            "skipped_total": count(self.skipped),
            "repaired": [[r.path, r.what] for r in self.repaired],
            "repaired_total": count(self.repaired),
        }
        tmp = index_dir / _TMP_FILE
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, index_dir / SOURCES_FILE)

    @classmethod
    def load(cls, index_dir: Path) -> SourceRecord | None:
        """The record of ``index_dir``; None when there is none or it cannot be read (the build reads again)."""
        try:
            data = json.loads((index_dir / SOURCES_FILE).read_text(encoding="utf-8"))
            skipped: Notices[Skipped] = Notices()
            for path, reason in data["skipped"]:
                skipped.append(Skipped(str(path), str(reason)))
            repaired: Notices[Repaired] = Notices()
            for path, what in data["repaired"]:
                repaired.append(Repaired(str(path), str(what)))
            skipped.total, repaired.total = int(data["skipped_total"]), int(data["repaired_total"])
            return cls(str(data["version"]), str(data["fingerprint"]), skipped, repaired)
        except (OSError, ValueError, KeyError, TypeError):
            return None
