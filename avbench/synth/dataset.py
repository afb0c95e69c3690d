"""The synthetic talking-head dataset: plan, render and write it in a real layout.

Identities are split like NVFAIR (about 2/3 train, 1/9 validation, 2/9 test) and
named like NVFAIR's (``id001``, ``Actor_01``, ``1001`` for its three sources).
Each identity has a target appearance and, independently, a driver signature
from which any number of utterances (its "driving videos") are drawn.  Every
target is self-reenacted with its own utterances (also written as originals) and
cross-reenacted by drivers of its own split, by each generator, so a target's
videos differ only in who drives them: the situation of the real benchmark.
Every cross-reenactment has an utterance of its own, so two videos never share a
motion sequence: what links a driver's videos is their motor style.

Everything is seeded from ``(seed, names)``, so the same seed writes the same
decoded frames on any machine, in any order and with any number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

SYNTH_VERSION = "3"  # bump whenever the written data would change
LAYOUTS = ("nvfair", "avaprintdb")
SOURCES = ("NVIDIA-VC-subset", "RAVDESS", "CREMA-D")
AVAPRINT_GEN = {"facevid2vid": "LIVE", "tps": "HUNY", "lia": "GAGA", "original": "ORIG"}
_EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")


@dataclass(frozen=True)
class SynthConfig:
    """What to generate; the defaults are the embedded default dataset."""

    identities: int = 108  # 75 train drivers: with 49 (72 identities) F5C overfits them (README)
    seed: int = 0
    layout: str = "nvfair"
    size: int = 128  # frame side in pixels (decoded at 128 anyway)
    self_per_generator: int = 3  # self-reenactments per target and generator (3 positive pairs)
    cross_per_generator: int = 2  # cross-reenactments per target and generator
    min_frames: int = 160  # > 128: a T = 128 clip never repeats a last frame
    max_frames: int = 176
    generators: tuple[str, ...] = ("facevid2vid", "tps", "lia")

    @property
    def utterances(self) -> int:
        """Self-reenactment utterances per identity (written as its originals): each
        generator self-reenacts with its own ones, so no two self-reenactments of a target
        share a motion sequence (otherwise a single frame would match them).  Cross-
        reenactments draw further utterances, one per video."""
        return self.self_per_generator * len(self.generators)


@dataclass(frozen=True)
class Identity:
    name: str
    source: str
    split: str
    clips: tuple[str, ...]  # driving-video (utterance) names
    frames: tuple[int, ...]  # length of each utterance


@dataclass(frozen=True)
class Video:
    """One file to write: ``target`` rendered with ``driver``'s utterance ``clip``."""

    path: str  # relative to the dataset root
    generator: str
    target: str
    driver: str
    clip: int
    landmarks: str  # relative path of its landmark file


@dataclass
class Plan:
    config: SynthConfig
    identities: dict[str, Identity]
    videos: list[Video] = field(default_factory=list)


def stable_rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator that depends only on the seed and the names, never on call order."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(np.random.SeedSequence([seed, int.from_bytes(digest[:8], "little")]))


def split_counts(n: int) -> dict[str, int]:
    """NVFAIR-like proportions (111/15/35 of 161), at least 2 identities per split."""
    if n < 6:
        raise ValueError(f"--identities {n}: need at least 6 (2 per split) for cross-reenactments")
    test = max(2, round(n * 35 / 161))
    val = max(2, round(n * 15 / 161))
    return {"train": n - val - test, "val": val, "test": test}


def _names(n: int, layout: str) -> list[tuple[str, str]]:
    """(identity, source) pairs, cycling the sources like NVFAIR's three corpora."""
    out = []
    counters = {s: 0 for s in SOURCES}
    sources = SOURCES if layout == "nvfair" else ("CREMA-D", "RAVDESS")
    if layout == "avaprintdb" and n > 91 + 24:
        raise ValueError(f"--identities {n}: AVAPrintDB has at most 115 identities (C1001..C1091, "
                         "Actor_01..Actor_24)")
    for i in range(n):
        src = sources[i % len(sources)]
        if layout == "avaprintdb" and src == "RAVDESS" and counters[src] == 24:
            src = "CREMA-D"  # AVAPrintDB's RAVDESS ids stop at Actor_24
        counters[src] += 1
        k = counters[src]
        if src == "NVIDIA-VC-subset":
            out.append((f"id{k:03d}", src))
        elif src == "RAVDESS":
            out.append((f"Actor_{k:02d}", src))
        else:
            out.append((f"{'C' if layout == 'avaprintdb' else ''}{1000 + k}", src))
    return out


def _clip_name(identity: str, source: str, k: int) -> str:
    """The k-th recording's name in its corpus' convention (unique per identity)."""
    if source == "RAVDESS":  # emotion 1-8, intensity 1-2, statement 1-2, repetition 1-2
        if k >= 64:
            raise ValueError(f"{identity}: RAVDESS-style names allow 64 clips per actor, need {k + 1}")
        actor = int(identity.split("_")[1])
        return f"01-01-{k % 8 + 1:02d}-{k // 8 % 2 + 1:02d}-{k // 16 % 2 + 1:02d}-{k // 32 + 1:02d}-{actor:02d}"
    if source == "CREMA-D":  # 12 sentences x 6 emotions
        if k >= len(_SENTENCES) * len(_EMOTIONS):
            raise ValueError(f"{identity}: CREMA-D-style names allow 72 clips per actor, need {k + 1}")
        num = identity.lstrip("C")
        return f"{num}_{_SENTENCES[k % len(_SENTENCES)]}_{_EMOTIONS[k // len(_SENTENCES)]}_XX"
    return f"{identity}_utt{k:02d}"


def make_plan(config: SynthConfig) -> Plan:
    if config.layout not in LAYOUTS:
        raise ValueError(f"--layout {config.layout!r}: choose one of {', '.join(LAYOUTS)}")
    if config.min_frames < 2 or config.max_frames < config.min_frames:
        raise ValueError("need 2 <= min_frames <= max_frames")
    counts = split_counts(config.identities)
    names = _names(config.identities, config.layout)
    sources = dict(names)
    order = stable_rng(config.seed, "split").permutation(len(names))
    splits = ["train"] * counts["train"] + ["val"] * counts["val"] + ["test"] * counts["test"]
    split_of = {names[i][0]: splits[rank] for rank, i in enumerate(order)}
    if config.layout == "avaprintdb":
        # AVAPrintDB has DEV and TEST only; its reader splits DEV by a fixed rule, so use
        # that rule here, or cross-reenactments would straddle train and val.
        from avbench.data.avaprintdb import assign_dev_splits

        split_of.update(assign_dev_splits([n for n, s in split_of.items() if s != "test"]))
    # Cross-reenactments first: each gets a fresh utterance of its driver (clip numbers after
    # the self-reenactment ones), so no motion sequence is shared between two videos and a
    # model cannot match drivers by recognising a recording instead of a motor style.
    n_clips = dict.fromkeys(split_of, config.utterances)
    cross: dict[str, list[tuple[str, str, int]]] = {}  # target -> (generator, driver, clip)
    for target in sorted(split_of):
        peers = sorted(p for p, s in split_of.items() if s == split_of[target] and p != target)
        n = config.cross_per_generator
        drivers = _spread(peers, n * len(config.generators), stable_rng(config.seed, target, "cross"))
        for g, gen in enumerate(config.generators):
            for driver in drivers[g * n:(g + 1) * n]:
                cross.setdefault(target, []).append((gen, driver, n_clips[driver]))
                n_clips[driver] += 1
    identities = {}
    for name in sorted(split_of):
        source = sources[name]
        frames = tuple(int(stable_rng(config.seed, name, "clip", k).integers(config.min_frames,
                                                                              config.max_frames + 1))
                       for k in range(n_clips[name]))
        clips = tuple(_clip_name(name, source, k) for k in range(n_clips[name]))
        identities[name] = Identity(name, source, split_of[name], clips, frames)
    plan = Plan(config, identities)
    for ident in identities.values():
        # Originals: the identity's own recordings used for its self-reenactments.  (The cross
        # drivers' recordings are not written: no protocol trains or tests on originals.)
        for k in range(config.utterances):
            plan.videos.append(_video(config, ident, ident, k, "original"))
        for g, gen in enumerate(config.generators):
            for j in range(config.self_per_generator):
                plan.videos.append(_video(config, ident, ident, g * config.self_per_generator + j, gen))
            for gen_, driver, k in cross.get(ident.name, []):
                if gen_ == gen:
                    plan.videos.append(_video(config, ident, identities[driver], k, gen))
    return plan


def _spread(peers: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` drivers among ``peers``, each as often as the others (round robin, shuffled)."""
    if not peers:
        return []
    out: list[str] = []
    while len(out) < n:
        lap = list(peers)
        rng.shuffle(lap)
        out += lap
    return out[:n]


def _video(config: SynthConfig, target: Identity, driver: Identity, k: int, gen: str) -> Video:
    clip = driver.clips[k]
    if config.layout == "nvfair":
        if gen == "original":
            rel = f"{target.source}/originals/{target.name}/{clip}.mp4"
        else:
            rel = f"{target.source}/{gen}-generated/{target.name}/{target.name}--{clip}--{driver.name}.mp4"
        lm = rel[:-4] + ".npy"
    else:
        folder = "TEST" if target.split == "test" else "DEV"
        uid = uuid.UUID(bytes=hashlib.sha256(f"{config.seed}/{target.name}/{clip}/{gen}".encode()).digest()[:16])
        stem = f"{target.name}--{driver.name}--{uid}--{AVAPRINT_GEN[gen]}"
        rel = f"database/data/videos/{folder}/{stem}.mp4"
        lm = f"database/data/landmarks/{folder}/{stem}.npy"
    return Video(rel, gen, target.name, driver.name, k, lm)


# --- rendering -------------------------------------------------------------------------

def render_video(config: SynthConfig, plan_ids: dict[str, Identity], video: Video, target_cache: dict
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, H, W, 3) uint8 and ground-truth landmarks (T, 68, 2) of one video."""
    from avbench.synth.face import random_appearance
    from avbench.synth.generators import REGISTRY, make_target
    from avbench.synth.motion import random_signature, utterance

    if video.target not in target_cache:
        app = random_appearance(stable_rng(config.seed, video.target, "appearance"))
        target_cache[video.target] = make_target(app, config.size)
    target = target_cache[video.target]
    driver = plan_ids[video.driver]
    signature = random_signature(stable_rng(config.seed, driver.name, "signature"))
    motion = utterance(signature, driver.frames[video.clip],
                       stable_rng(config.seed, driver.name, "utterance", video.clip))
    generator = REGISTRY[video.generator]
    return generator.frames(target, motion, stable_rng(config.seed, video.path, "render"))


def _render_target(args: tuple[SynthConfig, dict, list[Video], str]) -> list[dict]:
    """Worker: write every video of one target; returns per-video facts for the manifest."""
    from avbench.data.video import write_gray_video

    config, ids, videos, root = args
    import cv2

    cv2.setNumThreads(1)  # one worker per core already
    cache: dict = {}
    out = []
    extractor = _AvaprintLandmarks() if config.layout == "avaprintdb" else None
    for v in videos:
        frames, landmarks = render_video(config, ids, v, cache)
        path = Path(root) / v.path
        path.parent.mkdir(parents=True, exist_ok=True)
        write_gray_video(path, frames, fps=25, crf=18, preset="ultrafast", threads=1)
        lm_path = Path(root) / v.landmarks
        lm_path.parent.mkdir(parents=True, exist_ok=True)
        if extractor is not None:
            np.save(lm_path, extractor(frames))
        else:
            np.save(lm_path, landmarks.astype(np.float32))
        out.append({**asdict(v), "n_frames": int(len(frames))})
    return out


class _AvaprintLandmarks:
    """AVAPrintDB ships MediaPipe landmarks (frames x 109 x 3): make the same, NaN where none."""

    def __init__(self):
        try:
            import mediapipe as mp
        except ImportError as exc:
            raise RuntimeError("--layout avaprintdb needs MediaPipe for its 109-point landmarks: "
                               "pip install 'avbench[landmarks]'") from exc
        from importlib import resources

        ids = (resources.files("avbench.data") / "resources" / "avaprintdb_landmark_ids_109.txt").read_text()
        self.ids = np.array([int(x) for x in ids.split()])
        self.mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                    refine_landmarks=True)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.full((len(frames), len(self.ids), 3), np.nan, np.float32)
        for t, f in enumerate(frames):
            r = self.mesh.process(f)
            if r.multi_face_landmarks:
                pts = r.multi_face_landmarks[0].landmark
                out[t] = [(pts[i].x, pts[i].y, pts[i].z) for i in self.ids]
        return out


def _write_split_files(plan: Plan, root: Path) -> None:
    by_split = {s: [i.name for i in plan.identities.values() if i.split == s] for s in ("train", "val", "test")}
    heads = {"train": "identities in train set:", "val": "identities in validation set:",
             "test": "identities in test set:"}
    (root / "train_val_test_splits.txt").write_text(
        "\n\n".join(heads[s] + "\n" + "\n".join(by_split[s]) for s in heads) + "\n")
    by_source = {s: [i.name for i in plan.identities.values() if i.source == s] for s in SOURCES}
    (root / "subject_sources.txt").write_text("\n\n".join(
        f"The following subjects are a part of the {s}{'' if s == 'NVIDIA-VC-subset' else ' dataset'}:\n"
        + "\n".join(names) for s, names in by_source.items() if names) + "\n")


def synthesize(config: SynthConfig, out: Path, workers: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the dataset to ``out`` (which must not exist or be empty), atomically.

    Files are written into a sibling folder that is renamed to ``out`` at the end,
    so an interrupted run never leaves a half dataset that looks complete.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose a new --out folder or delete it")
    plan = make_plan(config)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    by_target: dict[str, list[Video]] = {}
    for v in plan.videos:
        by_target.setdefault(v.target, []).append(v)
    tasks = [(config, plan.identities, vids, str(tmp)) for vids in by_target.values()]
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    records: list[dict] = []
    done = 0
    try:
        if n_workers == 1:
            results = map(_render_target, tasks)
            for r in results:
                records += r
                done += len(r)
                if progress:
                    progress(done, len(plan.videos))
        else:
            # spawn, not fork: FFmpeg and OpenCV threads do not survive a fork.
            with ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")) as pool:
                for r in pool.map(_render_target, tasks):
                    records += r
                    done += len(r)
                    if progress:
                        progress(done, len(plan.videos))
        if config.layout == "nvfair":
            _write_split_files(plan, tmp)
        manifest = {
            "synth_version": SYNTH_VERSION, "config": asdict(config),
            "identities": [asdict(i) for i in plan.identities.values()],
            "videos": sorted(records, key=lambda r: r["path"]),
        }
        (tmp / "synth_manifest.json").write_text(json.dumps(manifest, indent=1))
        if out.exists():
            out.rmdir()
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def count_videos(config: SynthConfig) -> int:
    return len(make_plan(config).videos)


__all__ = ["SynthConfig", "make_plan", "synthesize", "split_counts", "stable_rng"]
