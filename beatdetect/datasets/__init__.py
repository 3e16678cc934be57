"""ECG data for beatdetect: WFDB records, MIT-BIH, beat extraction, AAMI labels, splits.

Data flows one way: a WFDB record (:func:`read_record`) or a numpy signal is band-pass
filtered (:func:`bandpass_filter`), cut into beats around annotated or detected R peaks
(:func:`extract_beats`, :func:`detect_r_peaks`) and scaled per beat, with the RR intervals
of each beat (:func:`rr_intervals`); :func:`beats_from_record`
and :func:`beats_from_signal` run the whole chain, :func:`load_mitbih` runs it over the
MIT-BIH Arrhythmia Database with caching, :func:`load_qtdb` over the QT Database's
excerpts of other databases (the transfer protocol's second database), and
:func:`training_beats` gathers the normal beats of several recordings (MIT-BIH records
or a folder of WFDB records) with their context for fitting. Labels (AAMI classes, +1/-1)
travel beside ``X`` for evaluation with :func:`intra_patient_split` or :func:`inter_patient_split`.
:func:`make_synthetic_beats` makes small labelled data for tests and examples.
"""

from ._home import get_data_home
from .aami import (
    AAMI_CLASSES,
    NORMAL_AAMI_CLASS,
    SYMBOL_TO_AAMI,
    aami_class,
    aami_to_y,
    anomaly_indicator,
    is_beat,
)
from .beats import ALIGN_OPTIONS, beats_from_record, beats_from_signal
from .detection import align_to_r_peaks, detect_r_peaks
from .mitbih import MITBIH_RECORDS, PACED_RECORDS, load_mitbih
from .preprocessing import (
    BEAT_LENGTH,
    BEAT_WINDOW,
    FILTER_BAND,
    bandpass_filter,
    extract_beats,
    scale_beats_minmax,
    window_samples,
)
from .qtdb import QTDB_SOURCES, QTDB_TRANSFER_RECORDS, load_qtdb
from .records import choose_leads, training_beats
from .rhythm import LOCAL_RR_BEATS, LOCAL_RR_QUANTILE, RR_COLUMNS, rr_intervals
from .splits import DS1_RECORDS, DS2_RECORDS, inter_patient_split, intra_patient_split
from .synthetic import make_synthetic_beats
from .wfdb_io import Recording, read_lead_names, read_record

__all__ = [
    "ALIGN_OPTIONS",
    "QTDB_SOURCES",
    "QTDB_TRANSFER_RECORDS",
    "align_to_r_peaks",
    "load_qtdb",
    "AAMI_CLASSES",
    "NORMAL_AAMI_CLASS",
    "LOCAL_RR_BEATS",
    "LOCAL_RR_QUANTILE",
    "RR_COLUMNS",
    "BEAT_LENGTH",
    "BEAT_WINDOW",
    "DS1_RECORDS",
    "DS2_RECORDS",
    "FILTER_BAND",
    "MITBIH_RECORDS",
    "PACED_RECORDS",
    "SYMBOL_TO_AAMI",
    "Recording",
    "aami_class",
    "aami_to_y",
    "anomaly_indicator",
    "bandpass_filter",
    "beats_from_record",
    "beats_from_signal",
    "choose_leads",
    "detect_r_peaks",
    "extract_beats",
    "get_data_home",
    "inter_patient_split",
    "intra_patient_split",
    "is_beat",
    "load_mitbih",
    "make_synthetic_beats",
    "read_lead_names",
    "read_record",
    "rr_intervals",
    "scale_beats_minmax",
    "training_beats",
    "window_samples",
]
