"""A beat's context: its recording and its rhythm, as one layer over any detector.

- :class:`ContextDetector` wraps a beat detector and adds the recording-template and rhythm
  parts to its score (:mod:`~beatdetect.context.detector`);
- :func:`template_distances`, :func:`rhythm_anomaly` and :class:`ScoreReference` compute
  and scale those parts (:mod:`~beatdetect.context.parts`);
- :func:`check_groups` and :func:`check_rr` check the context arguments, one rule for every
  method (:mod:`~beatdetect.context.inputs`).
"""

from .detector import MIN_RECORDING_BEATS, ContextDetector
from .inputs import check_groups, check_rr
from .parts import ScoreReference, rhythm_anomaly, template_distances

__all__ = [
    "MIN_RECORDING_BEATS",
    "ContextDetector",
    "ScoreReference",
    "check_groups",
    "check_rr",
    "rhythm_anomaly",
    "template_distances",
]
