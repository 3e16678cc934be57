"""A beat's context beyond its window: the other beats of its recording, and its rhythm.

Two label-free scores that :class:`~beatdetect.context.ContextDetector` adds to any
detector's own:

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

__all__ = ["ScoreReference", "rhythm_anomaly", "template_distances"]

#: Spreads of scores below this are round-off, not a ranking (a model that reconstructs its
#: training beats exactly scores them around 1e-31): they are not used as a scale, which would
#: blow the round-off up into differences of order one.
SCALE_FLOOR = 1e-12


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
    if len(X) == 0:
        return out
    # One sort, then each recording's beats as a contiguous slice: linear in the number of
    # recordings (a mask per recording was quadratic with one beat per recording).
    _, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    for index in np.split(order, bounds):
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
        if not scale > SCALE_FLOOR:  # constant scores: fall back on the spread, then on 1
            scale = float(np.std(scores))
            scale = scale if scale > SCALE_FLOOR else 1.0
        return cls(float(center), float(scale))

    def standardize(self, scores) -> np.ndarray:
        return (np.asarray(scores, dtype=np.float64) - self.center) / self.scale

    def to_dict(self) -> dict:
        return {"center": self.center, "scale": self.scale}
