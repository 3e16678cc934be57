import numpy as np
import pytest

from beatdetect.datasets import make_synthetic_beats
from beatdetect.exceptions import DataError
from beatdetect.metrics import anomaly_roc_auc


def test_layout_matches_mitbih_beats():
    data = make_synthetic_beats(n_normal=200, n_anomalous=30, random_state=0)
    assert data.X.shape == (230, 1, 320) and data.X.dtype == np.float32
    assert data.X.min() == -1.0 and data.X.max() == 1.0
    assert int((data.y == 1).sum()) == 200 and int((data.y == -1).sum()) == 30
    assert data.y.dtype == np.int64
    assert {"kind", "aami", "record", "fs", "lead_names", "window", "length"} <= set(data)
    assert "synthetic" in data.DESCR.lower() and set(data.record) == {"synthetic"}


def test_anomaly_kinds_are_split_evenly_and_mapped_to_aami():
    data = make_synthetic_beats(n_normal=10, n_anomalous=30, random_state=0)
    kinds, counts = np.unique(data.kind, return_counts=True)
    assert dict(zip(kinds.tolist(), counts.tolist())) == {
        "noisy": 10, "normal": 10, "premature": 10, "wide_qrs": 10
    }
    mapping = dict(zip(data.kind.tolist(), data.aami.tolist()))
    assert mapping == {"normal": "N", "premature": "S", "wide_qrs": "V", "noisy": "Q"}
    assert ((data.kind == "normal") == (data.y == 1)).all()


def test_same_seed_same_beats_other_seed_other_beats():
    a = make_synthetic_beats(100, 10, random_state=42)
    b = make_synthetic_beats(100, 10, random_state=42)
    c = make_synthetic_beats(100, 10, random_state=43)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.kind, b.kind)
    assert not np.array_equal(a.X, c.X)


def test_r_peak_sits_at_sample_140_of_normal_beats():
    data = make_synthetic_beats(300, 0, random_state=0)
    assert np.median(np.argmax(data.X[:, 0], axis=1)) == 140


@pytest.mark.parametrize(("n_leads", "length"), [(1, 320), (2, 320), (3, 128)])
def test_leads_and_length(n_leads, length):
    data = make_synthetic_beats(20, 5, n_leads=n_leads, length=length, random_state=0)
    assert data.X.shape == (25, n_leads, length)
    assert len(data.lead_names) == n_leads
    np.testing.assert_allclose(data.X.min(axis=-1), -1.0)


@pytest.mark.parametrize("kind", ["premature", "wide_qrs", "noisy"])
def test_each_anomaly_kind_is_detectable(kind):
    # Distance to the mean normal beat ranks every kind of anomaly above the normal beats.
    data = make_synthetic_beats(500, 100, anomaly_kinds=[kind], random_state=0)
    template = data.X[data.y == 1].mean(axis=0)
    distance = np.square(data.X - template).mean(axis=(1, 2))
    assert anomaly_roc_auc(data.y, -distance) > 0.95


def test_only_normal_beats():
    data = make_synthetic_beats(50, 0, anomaly_kinds=(), random_state=0)
    assert (data.y == 1).all() and set(data.kind) == {"normal"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_normal": -1}, "n_normal must be an integer >= 0"),
        ({"n_anomalous": 2.5}, "n_anomalous must be an integer >= 0"),
        ({"n_leads": 0}, "n_leads must be an integer >= 1"),
        ({"length": 4}, "length must be an integer >= 8"),
        ({"n_normal": 0, "n_anomalous": 0}, "at least one beat"),
        ({"anomaly_kinds": ["flutter"]}, "anomaly_kinds must be a non-empty subset"),
        ({"anomaly_kinds": []}, "anomaly_kinds must be a non-empty subset"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match):
        make_synthetic_beats(**{"n_normal": 10, "n_anomalous": 2, **kwargs})
