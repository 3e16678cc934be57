"""A beat's context beyond its window: the other beats of its recording, and its rhythm.

Two label-free scores that every detector can add to its own (see
:class:`~beatdetect.base.BaseBeatDetector`):

- **recording template**: the squared distance of a beat to the element-wise median beat of
  its own recording. Most beats of a recording are normal, so its median beat is the
  patient's normal beat, whatever the patient's morphology or lead;
- **rhythm**: how early a beat comes, from its RR intervals
  (:func:`~beatdetect.datasets.rr_intervals`): ``log(post_rr / pre_rr) +
  log(local_rr / pre_rr)``, large for a premature beat followed by a pause.

Scores of different kinds are put on one scale by :class:`ScoreReference`: the median and
the interquartile range of the scores of normal (training) beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ScoreReference",
    "check_groups",
    "check_rr",
    "rhythm_anomaly",
    "template_distances",
]


def check_groups(groups, n_beats: int) -> np.ndarray | None:
    """``groups`` as a 1-D array of one recording id per beat (None passes through)."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n_beats:
        raise ValueError(
            f"groups must hold one recording id per beat: expected shape ({n_beats},), got "
            f"{groups.shape}."
        )
    if groups.dtype.kind == "f" and not np.isfinite(groups).all():
        raise ValueError("groups holds NaN or infinite values; use one id per recording.")
    return groups


def check_rr(rr, n_beats: int) -> np.ndarray | None:
    """``rr`` as a float64 (n_beats, 3) array of pre, post and local RR (None passes through).

    Rows of NaN (a recording of one beat) are allowed and carry no rhythm evidence; any other
    value must be a positive finite interval.
    """
    if rr is None:
        return None
    try:
        rr = np.asarray(rr, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"rr must be an array of RR intervals: {err}") from None
    if rr.shape != (n_beats, 3):
        raise ValueError(
            "rr must hold the pre-RR, post-RR and local RR interval of each beat (see "
            f"beatdetect.datasets.rr_intervals): expected shape ({n_beats}, 3), got {rr.shape}."
        )
    known = ~np.isnan(rr).all(axis=1)
    values = rr[known]
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError("rr must hold positive, finite intervals (a row of NaN for a beat "
                         "without neighbours).")
    return rr


def rhythm_anomaly(rr: np.ndarray) -> np.ndarray:
    """Prematurity of each beat: ``log(post / pre) + log(local / pre)``; 0 without RR.

    A beat on the local cycle followed by another scores about 0; a premature beat (short
    pre-RR against the local cycle) followed by a compensatory pause scores high; a late
    (escape) beat scores below 0.

    Parameters
    ----------
    rr : ndarray of shape (n_beats, 3)
        Pre-RR, post-RR and local RR intervals, in any one unit.

    Returns
    -------
    score : ndarray of shape (n_beats,), float64

    Examples
    --------
    >>> import numpy as np
    >>> rhythm_anomaly(np.array([[1.0, 1.0, 1.0], [0.5, 1.5, 1.0]])).round(3).tolist()
    [0.0, 1.792]
    """
    pre, post, local = rr[:, 0], rr[:, 1], rr[:, 2]
    with np.errstate(invalid="ignore"):
        score = np.log(post / pre) + np.log(local / pre)
    return np.nan_to_num(score, nan=0.0)


def template_distances(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Mean squared distance of each beat to the element-wise median beat of its group.

    Parameters
    ----------
    X : ndarray of shape (n_beats, n_leads, n_samples)
    groups : ndarray of shape (n_beats,)
        Recording of each beat.

    Returns
    -------
    distance : ndarray of shape (n_beats,), float64

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((4, 1, 3), dtype=np.float32); X[3] = 1.0
    >>> template_distances(X, np.array(["a", "a", "a", "a"])).tolist()
    [0.0, 0.0, 0.0, 1.0]
    """
    out = np.empty(len(X), dtype=np.float64)
    for group in np.unique(groups):
        index = np.flatnonzero(groups == group)
        template = np.median(X[index], axis=0)  # (C, L)
        out[index] = np.mean((X[index] - template) ** 2, axis=(1, 2), dtype=np.float64)
    return out


@dataclass(frozen=True)
class ScoreReference:
    """Robust location and scale of one kind of anomaly score on normal beats.

    ``standardize(s) = (s - center) / scale`` puts scores of different kinds (reconstruction
    error, nearest-neighbour distance, template distance, prematurity) on one scale, where
    the middle half of normal beats spans one unit. Median and interquartile range, not
    mean and standard deviation: the scores are heavy-tailed and the training beats may hold
    a few anomalies.

    Examples
    --------
    >>> import numpy as np
    >>> ref = ScoreReference.from_scores(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    >>> ref.center, ref.scale
    (3.0, 2.0)
    >>> ref.standardize(np.array([7.0])).tolist()
    [2.0]
    """

    center: float
    scale: float

    @classmethod
    def from_scores(cls, scores) -> ScoreReference:
        scores = np.asarray(scores, dtype=np.float64)
        scores = scores[np.isfinite(scores)]
        if scores.size == 0:
            return cls(0.0, 1.0)
        q1, center, q3 = np.percentile(scores, [25.0, 50.0, 75.0])
        scale = q3 - q1
        if not scale > 0:  # constant scores: fall back on the spread, then on 1
            scale = float(np.std(scores)) or 1.0
        return cls(float(center), float(scale))

    def standardize(self, scores) -> np.ndarray:
        return (np.asarray(scores, dtype=np.float64) - self.center) / self.scale

    def to_dict(self) -> dict:
        return {"center": self.center, "scale": self.scale}
