"""Figures of beatdetect.plotting: the axes and artists they promise, saved as PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from beatdetect import SIBeatGANDetector  # noqa: E402
from beatdetect.datasets import make_synthetic_beats  # noqa: E402
from beatdetect.plotting import (  # noqa: E402
    plot_explanation,
    plot_history,
    plot_record_strip,
    plot_roc_pr,
    plot_score_histogram,
    plot_scored_record,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def detector():
    train = make_synthetic_beats(n_normal=256, n_anomalous=0, random_state=0)
    return SIBeatGANDetector(base_filters=8, latent_dim=16, lr=1e-3, max_epochs=2,
                             batch_size=32, mixed_precision=False, device="cpu",
                             random_state=0).fit(train.X)


@pytest.fixture(scope="module")
def test_beats():
    return make_synthetic_beats(n_normal=60, n_anomalous=12, random_state=1)


def _save(fig, path):
    fig.savefig(path)
    assert path.stat().st_size > 5_000  # a real image, not an empty canvas
    return path


def test_plot_explanation_lines_strips_and_scores(detector, test_beats, tmp_path):
    beats = test_beats.X[:3]
    fig = plot_explanation(detector, beats, titles=["a", "b", "c"], fs=360.0)
    line_axes, strips = fig.axes[0:6:2], fig.axes[1:6:2]
    assert len(fig.axes) == 7  # three beats x (lines + strip) + colour bar
    scores = -detector.score_samples(beats)
    for i, ax in enumerate(line_axes):
        beat_line, recon_line = ax.get_lines()
        np.testing.assert_allclose(beat_line.get_ydata(), beats[i, 0])
        expected = detector.reconstruct(beats[i:i + 1])[0, 0]
        np.testing.assert_allclose(recon_line.get_ydata(), expected, rtol=1e-5, atol=1e-6)
        assert ax.get_title().startswith(["a", "b", "c"][i])
        assert f"anomaly score {scores[i]:.3g}" in ax.get_title()
        assert beat_line.get_xdata()[-1] == pytest.approx(319 * 1000 / 360.0)  # in ms
    for i, strip in enumerate(strips):
        (image,) = strip.get_images()
        assert isinstance(image, AxesImage)
        np.testing.assert_allclose(image.get_array(), detector.explain(beats[i:i + 1])[0],
                                   rtol=1e-5, atol=1e-7)
        assert strip.get_xlabel() == "time (ms)"
    _save(fig, tmp_path / "explanation.png")


def test_plot_explanation_multi_lead_and_max_beats(tmp_path):
    data = make_synthetic_beats(n_normal=64, n_anomalous=0, n_leads=2, random_state=0)
    det = SIBeatGANDetector(base_filters=8, latent_dim=8, max_epochs=1, device="cpu",
                            mixed_precision=False, random_state=0).fit(data.X)
    fig = plot_explanation(det, data.X[:10], max_beats=2, lead_names=["II", "V1"])
    assert len(fig.axes) == 5
    assert fig.axes[1].get_images()[0].get_array().shape == (2, 320)
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["II", "V1"]
    assert fig.axes[1].get_xlabel() == "sample"
    _save(fig, tmp_path / "multi.png")


def test_plot_explanation_rejects_mismatched_titles(detector, test_beats):
    with pytest.raises(ValueError, match="2 titles for 3 beats"):
        plot_explanation(detector, test_beats.X[:3], titles=["a", "b"])


def test_plot_explanation_shows_the_scores_and_flags_it_is_given(detector, test_beats):
    # Scores computed in a recording's context (groups=, rr=) differ from the context-free
    # score_samples(beats): the titles must show the caller's, as in the rest of a report.
    beats = test_beats.X[:2]
    fig = plot_explanation(detector, beats, scores=[-1.5, -42.0], flags=[1, -1])
    titles = [ax.get_title() for ax in fig.axes[0:4:2]]
    assert titles == ["anomaly score 1.5 (normal)", "anomaly score 42 (flagged)"]
    fig = plot_explanation(detector, beats, scores=[-1.5, -42.0])  # no context-free verdict
    assert [ax.get_title() for ax in fig.axes[0:4:2]] == ["anomaly score 1.5",
                                                          "anomaly score 42"]
    with pytest.raises(ValueError, match="1 scores for 2 beats"):
        plot_explanation(detector, beats, scores=[0.0])
    with pytest.raises(ValueError, match="3 flags for 2 beats"):
        plot_explanation(detector, beats, flags=[1, 1, -1])


@pytest.fixture(scope="module")
def scored(detector):
    from beatdetect.datasets import beats_from_signal
    from beatdetect.record_scoring import score_beats

    test = make_synthetic_beats(n_normal=40, n_anomalous=4, random_state=3)
    signal = test.X[:, 0, :].reshape(-1)  # beats end to end, R peak 140 samples in
    beats = beats_from_signal(signal, 360.0, r_peaks=140 + 320 * np.arange(len(test.X)),
                              symbols=np.where(test.y == 1, "N", "V"), name="syn")
    return score_beats(beats, detector, signal=signal)


def test_plot_scored_record_strip_and_most_anomalous_beat(scored, detector, tmp_path):
    fig = plot_scored_record(scored, detector, duration=6.0)
    strip, explanation = fig.subfigs
    worst = int(np.argmax(scored.anomaly_score))
    t_worst = scored.beats.sample[worst] / 360.0
    lead_ax, score_ax = strip.axes
    x0, x1 = score_ax.get_xlim()
    assert x1 - x0 == pytest.approx(6.0, abs=0.01) and x0 <= t_worst <= x1
    title = explanation.axes[0].get_title()
    assert title.startswith(f"most anomalous beat: {t_worst:.2f} s, reference "
                            f"{scored.beats.aami[worst]}")
    flagged = "(flagged)" if scored.flags[worst] == -1 else "(normal)"
    assert f"anomaly score {scored.anomaly_score[worst]:.3g} {flagged}" in title
    n_flagged = int((scored.flags == -1).sum())
    assert fig._suptitle.get_text() == f"Record syn: {n_flagged} of 44 beats flagged"
    _save(fig, tmp_path / "scored.png")


def test_plot_scored_record_needs_the_signal(scored, detector):
    with pytest.raises(ValueError, match="scored has no signal"):
        plot_scored_record({**scored, "signal": None}, detector)


def test_plot_roc_pr_curves_and_legends(tmp_path):
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(200), -np.ones(40)]
    good = np.r_[rng.normal(0, 1, 200), rng.normal(-3, 1, 40)]  # anomalies score low
    fig = plot_roc_pr(y, {"good": good, "random": rng.normal(size=240)})
    roc, pr = fig.axes
    assert len(roc.get_lines()) == 3 and len(pr.get_lines()) == 3  # 2 models + chance
    texts = [t.get_text() for t in roc.get_legend().get_texts()]
    from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc

    assert texts[0] == f"good (AUC {anomaly_roc_auc(y, good):.3f})"
    assert anomaly_roc_auc(y, good) > 0.95  # negated scores: anomaly-positive
    pr_texts = [t.get_text() for t in pr.get_legend().get_texts()]
    assert pr_texts[0] == f"good (AP {anomaly_average_precision(y, good):.3f})"
    assert pr_texts[-1] == "chance (0.17)"
    _save(fig, tmp_path / "roc_pr.png")


def test_plot_roc_pr_needs_both_classes():
    with pytest.raises(ValueError, match="both normal and anomalous"):
        plot_roc_pr(np.ones(5), {"m": np.zeros(5)})


def test_plot_score_histogram_per_aami_class_and_threshold(tmp_path):
    rng = np.random.default_rng(0)
    scores = -np.r_[rng.lognormal(-6, 0.3, 300), rng.lognormal(-2, 0.5, 30),
                    rng.lognormal(-1, 0.5, 10)]
    labels = np.r_[["N"] * 300, ["V"] * 30, ["S"] * 10]
    fig = plot_score_histogram(scores, labels, offset=-0.05)
    (ax,) = fig.axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["N (n=300)", "S (n=10)", "V (n=30)", "threshold (offset_)"]
    assert ax.get_xscale() == "log"  # positive anomaly scores over > 2 decades
    threshold = ax.get_lines()[0]
    assert threshold.get_xdata()[0] == pytest.approx(0.05)
    _save(fig, tmp_path / "hist.png")


def test_plot_score_histogram_plus_minus_labels_linear():
    fig = plot_score_histogram([0.1, 0.2, -1.0], [1, 1, -1], anomaly_score=False)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["normal (n=2)", "anomalous (n=1)"]
    assert fig.axes[0].get_xscale() == "linear"


def test_plot_record_strip_highlights_flagged_beats(tmp_path):
    fs = 360.0
    signal = np.sin(np.arange(int(30 * fs)) / fs * 2 * np.pi)[:, None] * [1.0, 0.5]
    samples = np.arange(100, len(signal), 300)
    flags = np.ones(len(samples), dtype=int)
    flags[[3, 5, 30]] = -1  # the third is after the 10 s strip
    scores = -np.linspace(0.1, 1, len(samples))
    fig = plot_record_strip(signal, fs, samples, flags, scores=scores, start=0.0, duration=10.0,
                            lead_names=["MLII", "V5"])
    lead0, lead1, score_ax = fig.axes
    in_view = samples < 10 * fs
    spans = [p for p in lead0.patches]  # axvspan of flagged beats in the 10 s window
    assert len(spans) == 2
    normal_markers, flagged_markers = lead0.get_lines()[1:]
    assert len(flagged_markers.get_xdata()) == 2
    assert len(normal_markers.get_xdata()) == in_view.sum() - 2
    assert lead0.get_ylabel() == "MLII" and lead1.get_ylabel() == "V5"
    assert isinstance(score_ax.collections[0], LineCollection)
    assert len(score_ax.collections[0].get_segments()) == in_view.sum()
    assert score_ax.get_xlim() == pytest.approx((0.0, 10.0), abs=0.01)
    _save(fig, tmp_path / "strip.png")


def test_plot_record_strip_accepts_boolean_flags():
    fig = plot_record_strip(np.zeros(3600), 360.0, [100, 500], [False, True], duration=5)
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 1


def test_plot_record_strip_past_the_end():
    with pytest.raises(ValueError, match="past the end"):
        plot_record_strip(np.zeros(360), 360.0, [100], [1], start=5.0)


def test_plot_history_two_panels(detector, tmp_path):
    fig = plot_history(detector.history_)
    gen, disc = fig.axes
    assert gen.get_title() == "generator" and disc.get_title() == "discriminator"
    assert {line.get_label() for line in gen.get_lines()} >= {"rec", "adv", "loss_g"}
    assert {line.get_label() for line in disc.get_lines()} == {"d_real", "d_fake", "loss_d"}
    rec = next(line for line in gen.get_lines() if line.get_label() == "rec")
    np.testing.assert_allclose(rec.get_ydata(), [h["rec"] for h in detector.history_])
    _save(fig, tmp_path / "history.png")


def test_plot_history_one_panel_for_autoencoder_history():
    fig = plot_history([{"epoch": 1, "train_loss": 0.5, "dur": 1.0},
                        {"epoch": 2, "train_loss": 0.2, "dur": 1.0}])
    assert len(fig.axes) == 1


def test_functions_draw_into_a_given_subfigure(detector, test_beats):
    from matplotlib.figure import Figure

    fig = Figure()
    top, bottom = fig.subfigures(2, 1)
    assert plot_roc_pr(test_beats.y, {"m": detector.score_samples(test_beats.X)}, fig=top) is top
    assert plot_explanation(detector, test_beats.X[:1], fig=bottom) is bottom
    assert len(top.axes) == 2 and len(bottom.axes) == 3 and len(fig.get_axes()) == 5
