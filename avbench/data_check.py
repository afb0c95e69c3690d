"""``avbench data check``: everything wrong with a dataset, in one table, before a run.

A real dataset's mess shows up in three places, and this checks all of them:

* the split files (missing, malformed, an identity in two splits): the index refuses
  to build, so nothing else can be trusted;
* files the index skips (names that match no layout rule, identities outside the
  splits, cross-split reenactments, non-video files, unreadable folders, symlinks that
  are dangling or loop, zero-byte files), by reason;
* videos that are indexed but unusable: truncated or corrupt (every video is
  decoded, filling the frame cache on the way; one emptied since it was indexed
  joins the index's zero-byte count) or shorter than the clip length;
* with a landmark extractor, videos without a face in any frame (a landmark run
  leaves them out and counts them) and frames without a face (filled by the policy
  of :mod:`avbench.landmarks.fill`); the landmarks are cached for the run.

``avbench run`` follows the same policy (see the README): index skips are counted and
reported, an undecodable video stops the run naming the file, a short video is
padded by repeating its last frame, a video without a face is left out of a landmark
run and counted in its results row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from avbench.data.index import DatasetIndex, SkipReason
from avbench.data.prepare import prepare_frames
from avbench.errors import DatasetError
from avbench.specs import LandmarkExtractorSpec

ADVICE = {
    "split_files": "fix or restore the split files the message names; nothing can run until then",
    SkipReason.UNPARSABLE_NAME.value: "rename to the layout's rule (README, Datasets) or move out of the tree",
    SkipReason.UNKNOWN_IDENTITY.value: "add the identity to the split files, or remove its videos",
    SkipReason.CROSS_SPLIT.value: "expected: target and driver in different splits are never used",
    SkipReason.FOLDER_MISMATCH.value: "move the file to the folder its name says",
    SkipReason.NOT_A_VIDEO.value: "remove it from the video tree (a landmark file left by a skipped "
                                  "video: fix or remove that video)",
    SkipReason.UNREADABLE.value: "fix the permissions (chmod) so this user can read it",
    SkipReason.BROKEN_SYMLINK.value: "point the link at an existing video, or remove it",
    SkipReason.ZERO_BYTE.value: "re-download or re-generate the file",
    "undecodable": "truncated or corrupt: re-download or re-generate it; a run stops on it",
    "shorter_than_T": "usable: clips repeat the last frame; check the video if many are short",
    "no_face": "landmark runs leave it out and count it; re-generate it or try another extractor",
    "frames_without_face": "usable: filled from the nearest frames with a face; check the video if "
                           "many are missing",
}


NOT_PROBLEMS = {SkipReason.CROSS_SPLIT.value, "shorter_than_T", "frames_without_face"}


@dataclass(frozen=True)
class Finding:
    check: str
    count: int
    example: str
    advice: str


@dataclass
class CheckReport:
    dataset: str
    root: str
    videos: int
    usable: int
    findings: list[Finding]

    @property
    def problems(self) -> int:
        """Files that need fixing (expected skips and short-but-usable videos are not)."""
        return sum(f.count for f in self.findings if f.check not in NOT_PROBLEMS)


def check_dataset(open_index: Callable[[], DatasetIndex], cache_root: Path, clip_length: int = 64,
                  workers: int | None = None, engine: str = "local",
                  progress: Callable[[int, int], None] | None = None,
                  extractor: LandmarkExtractorSpec | None = None) -> CheckReport:
    try:
        index = open_index()
    except DatasetError as exc:
        return CheckReport("?", "?", 0, 0, [Finding("split_files", 1, str(exc), ADVICE["split_files"])])
    findings = []
    for reason, group in index.skipped.groupby("reason", sort=True):
        first = group.iloc[0]
        findings.append(Finding(reason, len(group), f"{first['path']}: {first['detail']}",
                                ADVICE.get(reason, "")))
    videos = index.videos[~index.videos["is_original"]]
    report = prepare_frames(index.root, videos, cache_root, engine, workers, progress=progress)
    # A file emptied in place since the index was built keeps its cached index (a folder's
    # time changes only when names do): it is counted with the index's own zero-byte skips.
    empty = [_is_empty(Path(index.root) / p) for p, _ in report.failed]
    zero = [f for f, e in zip(report.failed, empty) if e]
    broken = [f for f, e in zip(report.failed, empty) if not e]
    if zero:
        name = SkipReason.ZERO_BYTE.value
        at = next((i for i, f in enumerate(findings) if f.check == name), None)
        if at is None:
            findings.append(Finding(name, len(zero), f"{zero[0][0]}: {zero[0][1]}", ADVICE[name]))
        else:
            findings[at] = replace(findings[at], count=findings[at].count + len(zero))
    if broken:
        findings.append(Finding("undecodable", len(broken), f"{broken[0][0]}: {broken[0][1]}",
                                ADVICE["undecodable"]))
    short = sorted((p, n) for p, n in report.lengths.items() if n < clip_length)
    if short:
        findings.append(Finding("shorter_than_T", len(short),
                                f"{short[0][0]}: {short[0][1]} frames < T = {clip_length}",
                                ADVICE["shorter_than_T"]))
    unusable = len(report.failed)
    if extractor is not None:
        decoded = videos[~videos["path"].isin({p for p, _ in report.failed})]
        no_face = _landmark_findings(index.root, decoded, extractor, cache_root, workers, engine, progress)
        findings += no_face
        unusable += sum(f.count for f in no_face if f.check == "no_face")
    return CheckReport(index.dataset, str(index.root), len(videos), len(videos) - unusable, findings)


def _is_empty(path: Path) -> bool:
    """True for a zero-byte file; a file that is gone or unreadable is not "empty" but
    undecodable, and its decode error already says why."""
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return False


def _landmark_findings(root: Path, videos, extractor: LandmarkExtractorSpec, cache_root: Path,
                       workers: int | None, engine: str, progress) -> list[Finding]:
    from avbench.landmarks.extract import extract_landmarks

    _, report = extract_landmarks(root, videos, extractor, cache_root, workers=workers,
                                  progress=progress, engine=engine)
    findings = []
    skipped = report.skipped
    if skipped:
        findings.append(Finding("no_face", len(skipped), f"{skipped[0].path}: {skipped[0].skipped}",
                                ADVICE["no_face"]))
    partial = [r for r in report.records if r.missing and not r.skipped]
    if partial:
        worst = max(partial, key=lambda r: r.missing / r.frames)
        findings.append(Finding("frames_without_face", sum(r.missing for r in partial),
                                f"{worst.path}: {worst.missing} of {worst.frames} frames "
                                f"({extractor.name}); {len(partial)} video(s) in all",
                                ADVICE["frames_without_face"]))
    return findings
