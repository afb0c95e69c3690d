"""``multi_clip``: the overall model scored from k = 1, 2, 4 and 8 clips per video.

Every other protocol embeds one centred clip of T frames per video; a video holds more
motion than that.  This protocol measures what the rest of it adds: AUC as a function of
k, the number of clips per video, for each way of folding k clips into one score
(:func:`avbench.embed.aggregate_clips`):

* ``k1``: the single centred clip -- exactly the ``overall`` row's scores for the same model.
* ``k<k>_embedding``: the mean of the k clips' unit embeddings, re-normalised; a pair's
  score is the cosine of its two videos' mean embeddings.
* ``k<k>_score``: the mean cosine over all k x k pairs of clips of the two videos.

The k clips are spread evenly over each video (:func:`avbench.data.clips.spread_starts`):
the first at frame 0, the last ending on the last frame.  The one cell, ``all``, trains
exactly as ``overall``'s does (every generator, real videos left out), so the two share a
training key and one model: ``avbench run --protocol multi_clip`` after ``overall``
evaluates the model overall trained, and ``avbench evaluate --protocol multi_clip`` scores
any saved overall model.  Methods that embed videos whole (``embeds_whole_videos``) are
refused: they already average over every window of a video.
"""

from __future__ import annotations

from avbench.specs import Cell, EvalGroup

from .common import keeps_originals

CLIPS = (1, 2, 4, 8)
AGGREGATES = ("embedding", "score")


def groups(generators: tuple[str, ...], originals: bool,
           clips: tuple[int, ...] = CLIPS) -> tuple[EvalGroup, ...]:
    """``k1`` (the plain single clip), then each aggregation of each larger k, k ascending:
    the order the board shows them in, so AUC reads as a function of k from left to right."""
    out = []
    for k in clips:
        if k == 1:
            out.append(EvalGroup("k1", generators, originals=originals))
            continue
        out.extend(EvalGroup(f"k{k}_{how}", generators, originals=originals, clips=k, aggregate=how)
                   for how in AGGREGATES)
    return tuple(out)


def cells(generators: tuple[str, ...], originals: str = "drop") -> list[Cell]:
    keep = keeps_originals(originals)
    return [Cell(name="all", train_generators=generators, originals=keep, evals=groups(generators, keep))]
