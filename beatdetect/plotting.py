"""Figures for beat anomaly detection: explanations, ROC / PR curves, scores, ECG strips.

matplotlib is imported inside each function, so ``import beatdetect`` never pays for it and
nothing here picks a backend: the functions work under ``Agg`` (headless servers, tests) as
well as in notebooks. Each function returns the :class:`matplotlib.figure.Figure` it drew
on; pass ``fig=`` (a Figure or a SubFigure) to draw into an existing one, e.g. to put an
ECG strip and an explanation in one PNG.

Scores follow the library's conventions: ``score_samples`` is higher for more normal beats,
labels are +1 (normal) / -1 (anomaly) or AAMI classes, and curves treat the *anomaly* class
as positive (:func:`beatdetect.datasets.anomaly_indicator`).
"""

from __future__ import annotations

import numpy as np

from .datasets.aami import anomaly_indicator

__all__ = [
    "plot_explanation",
    "plot_history",
    "plot_record_strip",
    "plot_roc_pr",
    "plot_score_histogram",
    "plot_scored_record",
]

#: Colours of beats and classes: normal in a neutral blue, anomalies in red.
NORMAL_COLOR, ANOMALY_COLOR, RECONSTRUCTION_COLOR = "tab:blue", "tab:red", "tab:orange"
#: Colours of the AAMI classes in histograms (N, S, V, F, Q).
CLASS_COLORS = {"N": "tab:blue", "S": "tab:orange", "V": "tab:red", "F": "tab:purple",
                "Q": "tab:gray"}


def _new_figure(fig, figsize):
    """Return ``fig`` or a new pyplot figure (so ``plt.show()`` and notebooks display it)."""
    if fig is not None:
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def _as_beats(beats) -> np.ndarray:
    beats = np.asarray(beats, dtype=np.float32)
    if beats.ndim == 1:
        beats = beats[None, None, :]
    elif beats.ndim == 2:
        beats = beats[:, None, :]
    if beats.ndim != 3:
        raise ValueError(
            "beats must have shape (n_samples,), (n_beats, n_samples) or "
            f"(n_beats, n_leads, n_samples); got {beats.shape}."
        )
    return beats


def plot_explanation(detector, beats, *, titles=None, max_beats=6, fs=None, lead_names=None,
                     scores=None, flags=None, fig=None):
    """Show where beats are anomalous: beat, reconstruction and per-tick residual.

    One column per beat. The upper panel of a column overlays each lead of the beat and
    its reconstruction (``detector.reconstruct``); beneath it a heat strip shows the
    squared residual ``(x - G(x))**2`` of each tick (``detector.explain``), one row per
    lead, sharing the time axis. The anomaly score (``-score_samples``, higher = more
    anomalous) and the detector's verdict are in the title.

    Parameters
    ----------
    detector : fitted detector with ``reconstruct``, ``explain`` and ``score_samples``
        E.g. a fitted :class:`~beatdetect.SIBeatGANDetector`.
    beats : array-like of shape (n_samples,), (n_beats, n_samples) or (n_beats, n_leads, n_samples)
        Beats to explain (one to a few).
    titles : sequence of str, optional
        A title per beat, shown above its score (e.g. the AAMI class).
    max_beats : int, default=6
        Only the first ``max_beats`` beats are drawn.
    fs : float, optional
        Sampling rate of the beats in Hz: the time axis is in ms. Default: in samples.
    lead_names : sequence of str, optional
        Names of the leads (legend and strip rows).
    scores : array-like of shape (n_beats,), optional
        ``score_samples`` of the beats as already computed, e.g. in their recording's
        context (``groups=``, ``rr=``) by :func:`beatdetect.record_scoring.score_record`, so that
        the titles show the same score as the rest of a report. Default:
        ``detector.score_samples(beats)``, without context.
    flags : array-like of shape (n_beats,), optional
        ``predict`` output (+1 / -1) for the beats, computed with the same context as
        ``scores``. Default: ``detector.predict(beats)`` when ``scores`` is not given and the
        detector has a threshold; with ``scores`` alone the titles show no verdict, rather
        than one computed without the scores' context.
    fig : Figure or SubFigure, optional
        Where to draw; default a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure or SubFigure
        Axes: for each beat a line panel then a residual strip, then the colour bar
        (``2 * n_beats + 1`` axes).

    Examples
    --------
    >>> from beatdetect import SIBeatGANDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.plotting import plot_explanation
    >>> data = make_synthetic_beats(n_normal=128, n_anomalous=4, random_state=0)
    >>> det = SIBeatGANDetector(max_epochs=1, base_filters=8, random_state=0).fit(data.X)
    >>> fig = plot_explanation(det, data.X[data.y == -1][:2], titles=["a", "b"])
    >>> len(fig.axes)  # a line panel and a residual strip per beat, and a colour bar
    5
    """
    beats = _as_beats(beats)
    if len(beats) == 0:
        raise ValueError("No beats to explain: pass at least one beat.")
    given = {}
    for name, values in (("scores", scores), ("flags", flags)):
        if values is not None:
            values = np.asarray(values).reshape(-1)
            if len(values) != len(beats):
                raise ValueError(f"{len(values)} {name} for {len(beats)} beats.")
            given[name] = values[:max_beats]
    beats = beats[:max_beats]
    n_beats, n_leads, length = beats.shape
    if titles is not None:
        titles = list(titles)[:n_beats]
        if len(titles) != n_beats:
            raise ValueError(f"{len(titles)} titles for {n_beats} beats.")
    if lead_names is None:
        lead_names = [f"lead {k}" for k in range(n_leads)]
    reconstruction = np.asarray(detector.reconstruct(beats)).reshape(beats.shape)
    residual = np.asarray(detector.explain(beats)).reshape(beats.shape)
    if "scores" in given:
        anomaly_score = -given["scores"].astype(np.float64)
    else:
        anomaly_score = -np.asarray(detector.score_samples(beats), dtype=np.float64)
    if "flags" in given:
        flags = given["flags"]
    elif "scores" in given or not hasattr(detector, "offset_"):
        flags = None
    else:
        flags = detector.predict(beats)

    if fs is None:
        t, unit = np.arange(length, dtype=float), "sample"
    else:
        t, unit = np.arange(length) * 1000.0 / float(fs), "time (ms)"
    extent = (t[0], t[-1], n_leads - 0.5, -0.5)
    vmax = float(residual.max()) or 1.0

    fig = _new_figure(fig, (3.2 * n_beats + 0.8, 3.6))
    grid = fig.add_gridspec(2, n_beats, height_ratios=[3, max(1, n_leads)])
    image, strips = None, []
    for i in range(n_beats):
        ax = fig.add_subplot(grid[0, i])
        strip = fig.add_subplot(grid[1, i], sharex=ax)
        strips.append(strip)
        for k in range(n_leads):
            name = lead_names[k] if n_leads > 1 else ""
            ax.plot(t, beats[i, k], color=NORMAL_COLOR, lw=1.2,
                    alpha=1.0 if k == 0 else 0.6, label=f"beat {name}".strip())
            ax.plot(t, reconstruction[i, k], color=RECONSTRUCTION_COLOR, lw=1.0, ls="--",
                    alpha=1.0 if k == 0 else 0.6, label=f"reconstruction {name}".strip())
        verdict = ""
        if flags is not None:
            verdict = " (flagged)" if flags[i] == -1 else " (normal)"
        head = f"{titles[i]}\n" if titles is not None else ""
        ax.set_title(f"{head}anomaly score {anomaly_score[i]:.3g}{verdict}", fontsize=9)
        ax.tick_params(labelbottom=False)
        if i == 0:
            ax.set_ylabel("amplitude")
            ax.legend(fontsize=7, loc="upper right")
        image = strip.imshow(residual[i], aspect="auto", cmap="magma", extent=extent,
                             vmin=0.0, vmax=vmax, interpolation="nearest")
        strip.set_yticks(range(n_leads))
        strip.set_yticklabels(lead_names if i == 0 else [""] * n_leads, fontsize=7)
        strip.set_xlabel(unit)
    fig.colorbar(image, ax=strips, label="squared residual", shrink=0.9, pad=0.01)
    return fig


def plot_roc_pr(y_true, scores_by_model, *, fig=None):
    """ROC and precision-recall curves of several detectors, anomalies as the positive class.

    Parameters
    ----------
    y_true : array-like of shape (n_beats,)
        Labels: +1 / -1, 0 / 1, booleans or AAMI classes
        (:func:`~beatdetect.datasets.anomaly_indicator`).
    scores_by_model : dict of str to array-like of shape (n_beats,)
        ``score_samples`` of each detector (higher = more normal); negated for the curves.
    fig : Figure or SubFigure, optional
        Where to draw; default a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure or SubFigure
        Two axes, ROC then precision-recall, one line per model (plus the chance line)
        and the AUC / AP of each in the legends.

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect.plotting import plot_roc_pr
    >>> y = np.array([1, 1, 1, -1, -1])
    >>> fig = plot_roc_pr(y, {"good": [0.9, 0.8, 0.7, 0.1, 0.2], "bad": [0.1, 0.5, 0.2, 0.9, 0.3]})
    >>> [ax.get_title() for ax in fig.axes]
    ['ROC (anomaly = positive)', 'Precision-recall (anomaly = positive)']
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'good (AUC 1.000)'
    """
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    is_anomaly = anomaly_indicator(y_true)
    if is_anomaly.all() or not is_anomaly.any():
        raise ValueError("ROC and PR curves need both normal and anomalous beats in y_true.")
    if not scores_by_model:
        raise ValueError("scores_by_model is empty: pass {name: score_samples}.")
    fig = _new_figure(fig, (10, 4.2))
    roc_ax, pr_ax = fig.subplots(1, 2)
    for name, scores in scores_by_model.items():
        anomaly_score = -np.asarray(scores, dtype=np.float64)
        if anomaly_score.shape != is_anomaly.shape:
            raise ValueError(
                f"Scores of {name!r} have shape {anomaly_score.shape}; y_true has "
                f"{is_anomaly.shape}."
            )
        fpr, tpr, _ = roc_curve(is_anomaly, anomaly_score)
        precision, recall, _ = precision_recall_curve(is_anomaly, anomaly_score)
        auc = roc_auc_score(is_anomaly, anomaly_score)
        ap = average_precision_score(is_anomaly, anomaly_score)
        (line,) = roc_ax.plot(fpr, tpr, lw=1.5, label=f"{name} (AUC {auc:.3f})")
        pr_ax.plot(recall, precision, lw=1.5, color=line.get_color(),
                   label=f"{name} (AP {ap:.3f})", drawstyle="steps-post")
    prevalence = float(is_anomaly.mean())
    roc_ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="chance")
    pr_ax.axhline(prevalence, color="0.6", lw=1, ls=":", label=f"chance ({prevalence:.2f})")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1),
               ylim=(0, 1.01), title="ROC (anomaly = positive)")
    pr_ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01),
              title="Precision-recall (anomaly = positive)")
    roc_ax.legend(fontsize=8, loc="lower right")
    pr_ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_score_histogram(scores, labels, *, offset=None, anomaly_score=True, log_scale="auto",
                         bins=60, title=None, fig=None):
    """Histograms of the scores of each class, with the detector's threshold.

    Parameters
    ----------
    scores : array-like of shape (n_beats,)
        ``score_samples`` of the beats (higher = more normal).
    labels : array-like of shape (n_beats,)
        AAMI classes (one histogram per class, in N, S, V, F, Q order) or +1 / -1 (normal /
        anomalous).
    offset : float, optional
        The detector's ``offset_`` (threshold on ``score_samples``), drawn as a vertical line.
    anomaly_score : bool, default=True
        Plot the anomaly score ``-scores`` (higher = more anomalous), which reads more
        naturally; False plots ``scores`` as given.
    log_scale : "auto" or bool, default="auto"
        Logarithmic score axis. "auto": when plotting positive anomaly scores that span more
        than two decades, as reconstruction errors do.
    bins : int, default=60
    title : str, optional
    fig : Figure or SubFigure, optional

    Returns
    -------
    fig : matplotlib.figure.Figure or SubFigure
        One axes; one histogram per class present (the fraction of the class's beats per
        bin, labelled with its count).

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect.plotting import plot_score_histogram
    >>> rng = np.random.default_rng(0)
    >>> scores = np.r_[rng.normal(-1, 0.2, 100), rng.normal(-3, 0.5, 10)]
    >>> labels = np.r_[["N"] * 100, ["V"] * 10]
    >>> fig = plot_score_histogram(scores, labels, offset=-2.0)
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'N (n=100)'
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 1 or labels.shape != scores.shape:
        raise ValueError(
            f"scores and labels must be 1-D of the same length; got {scores.shape} and "
            f"{labels.shape}."
        )
    values = -scores if anomaly_score else scores
    threshold = None if offset is None else (-offset if anomaly_score else offset)
    if labels.dtype.kind in "USO":
        labels = labels.astype(str)
        order = [c for c in CLASS_COLORS if c in set(labels)]
        order += sorted(set(labels) - set(order))
        groups = [(c, labels == c, CLASS_COLORS.get(c)) for c in order]
    else:
        is_anomaly = anomaly_indicator(labels)
        groups = [("normal", ~is_anomaly, NORMAL_COLOR), ("anomalous", is_anomaly, ANOMALY_COLOR)]
        groups = [g for g in groups if g[1].any()]
    if log_scale == "auto":
        positive = values[values > 0]
        log_scale = bool(
            len(positive) == len(values) and len(values) > 1
            and positive.max() / positive.min() > 100.0
        )
    if log_scale and (values <= 0).any():
        raise ValueError("log_scale=True needs positive values to plot.")
    if log_scale:
        edges = np.geomspace(values.min(), values.max(), bins + 1)
    else:
        edges = np.linspace(values.min(), values.max(), bins + 1) if np.ptp(values) else bins

    fig = _new_figure(fig, (6.4, 4.0))
    ax = fig.subplots()
    for name, mask, color in groups:
        # Fraction of the class per bin (not a density): bins of equal width on screen
        # compare fairly on a log axis too, and classes of any size share one scale.
        n = int(mask.sum())
        ax.hist(values[mask], bins=edges, weights=np.full(n, 1.0 / n), histtype="stepfilled",
                alpha=0.35, color=color, edgecolor=color, label=f"{name} (n={n})")
    if threshold is not None:
        ax.axvline(threshold, color="black", ls="--", lw=1.2, label="threshold (offset_)")
    if log_scale:
        ax.set_xscale("log")
    ax.set_xlabel("anomaly score (-score_samples)" if anomaly_score
                  else "score_samples (higher = more normal)")
    ax.set_ylabel("fraction of the class")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_record_strip(signal, fs, samples, flags, *, scores=None, start=0.0, duration=10.0,
                      lead_names=None, window=(140, 180), fig=None):
    """An ECG strip with the flagged beats highlighted.

    Parameters
    ----------
    signal : array-like of shape (n_samples,) or (n_samples, n_leads)
        The recording (e.g. ``Recording.signal`` in mV).
    fs : float
        Sampling rate in Hz.
    samples : array-like of int, shape (n_beats,)
        R-peak sample of each beat (``beats.sample``).
    flags : array-like of shape (n_beats,)
        ``predict`` output (+1 normal, -1 flagged) or booleans (True = flagged).
    scores : array-like of shape (n_beats,), optional
        ``score_samples`` of the beats; adds a panel of anomaly scores (``-scores``) below.
    start : float, default=0.0
        Start of the strip in seconds.
    duration : float, default=10.0
        Length of the strip in seconds.
    lead_names : sequence of str, optional
    window : (int, int), default=(140, 180)
        Samples (at 360 Hz) before and after the R peak shaded for a flagged beat, cut
        halfway to the neighbouring beats so that adjacent flagged beats stay distinct.
    fig : Figure or SubFigure, optional

    Returns
    -------
    fig : matplotlib.figure.Figure or SubFigure
        One axes per lead, plus one for the scores when given; flagged beats are shaded
        spans and red markers, other beats blue markers.

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect.plotting import plot_record_strip
    >>> fs = 360.0
    >>> ecg = np.sin(np.arange(3600) / fs * 2 * np.pi)
    >>> peaks = np.arange(90, 3600, 360)
    >>> flags = np.where(np.arange(len(peaks)) == 4, -1, 1)
    >>> fig = plot_record_strip(ecg, fs, peaks, flags, scores=-np.abs(ecg[peaks]))
    >>> len(fig.axes)
    2
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim == 1:
        signal = signal[:, None]
    if signal.ndim != 2:
        raise ValueError(
            f"signal must be (n_samples,) or (n_samples, n_leads); got {signal.shape}."
        )
    fs = float(fs)
    samples = np.asarray(samples, dtype=np.int64)
    flagged = anomaly_indicator(np.asarray(flags))
    if flagged.shape != samples.shape:
        raise ValueError(f"{flagged.size} flags for {samples.size} beats.")
    n_leads = signal.shape[1]
    if lead_names is None:
        lead_names = [f"lead {k}" for k in range(n_leads)]
    first = max(0, int(round(start * fs)))
    last = min(len(signal), first + int(round(duration * fs)))
    if last <= first:
        raise ValueError(f"The strip starting at {start} s is past the end of the signal.")
    t = np.arange(first, last) / fs
    in_view = (samples >= first) & (samples < last)
    # A flagged beat's span: its window, cut halfway to the neighbouring beats.
    before, after = (w / 360.0 for w in window)
    t_beat = samples / fs
    order = np.argsort(t_beat)
    sorted_t = t_beat[order]
    mid = (sorted_t[1:] + sorted_t[:-1]) / 2
    left, right = np.empty_like(t_beat), np.empty_like(t_beat)
    left[order] = np.maximum(sorted_t - before, np.r_[-np.inf, mid])
    right[order] = np.minimum(sorted_t + after, np.r_[mid, np.inf])

    n_panels = n_leads + (scores is not None)
    fig = _new_figure(fig, (12, 1.8 * n_panels + 0.6))
    ratios = [2] * n_leads + ([1] if scores is not None else [])
    axes = np.atleast_1d(fig.subplots(n_panels, 1, sharex=True, height_ratios=ratios))
    for k in range(n_leads):
        ax = axes[k]
        ax.plot(t, signal[first:last, k], color="black", lw=0.8)
        for i in np.flatnonzero(in_view & flagged):
            gap = 0.04 * (right[i] - left[i])  # keeps neighbouring flagged beats apart
            ax.axvspan(left[i] + gap, right[i] - gap, color=ANOMALY_COLOR, alpha=0.18, lw=0)
        for mask, color, label in ((in_view & ~flagged, NORMAL_COLOR, "normal"),
                                   (in_view & flagged, ANOMALY_COLOR, "flagged")):
            if mask.any():
                ax.plot(samples[mask] / fs, signal[samples[mask], k], "o", ms=4, color=color,
                        label=label)
        ax.set_ylabel(lead_names[k])
        if k == 0:
            n_flagged = int((in_view & flagged).sum())
            ax.set_title(f"{int(in_view.sum())} beats, {n_flagged} flagged", fontsize=9,
                         loc="left")
            if in_view.any():
                ax.legend(fontsize=7, loc="upper right")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != samples.shape:
            raise ValueError(f"{scores.size} scores for {samples.size} beats.")
        ax = axes[-1]
        colors = np.where(flagged[in_view], ANOMALY_COLOR, NORMAL_COLOR)
        ax.vlines(samples[in_view] / fs, 0, -scores[in_view], colors=colors, lw=2)
        ax.set_ylabel("anomaly\nscore")
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(t[0], t[-1])
    return fig


def plot_scored_record(scored, detector, *, duration=10.0, fig=None):
    """A scored recording at a glance: the strip around its most anomalous beat, explained.

    The upper part is :func:`plot_record_strip` centred on the beat with the highest
    anomaly score (flagged beats shaded, anomaly scores below); the lower part is
    :func:`plot_explanation` of that beat, with the score and flag it got in its
    recording's context. This is the PNG of ``beatdetect score``.

    Parameters
    ----------
    scored : sklearn.utils.Bunch
        From :func:`beatdetect.record_scoring.score_record`, or from
        :func:`beatdetect.record_scoring.score_beats` called with ``signal=``.
    detector : fitted detector with ``reconstruct`` and ``explain``, or a ContextDetector
        The detector that scored the beats, e.g. a :class:`~beatdetect.SIBeatGANDetector`,
        or a :class:`~beatdetect.context.ContextDetector` around one (its fitted
        ``detector_`` explains the beat; the scores shown are the ones in context).
    duration : float, default=10.0
        Seconds of ECG strip shown.
    fig : Figure or SubFigure, optional
        Where to draw; default a new 12 x 8 inch figure.

    Returns
    -------
    fig : matplotlib.figure.Figure or SubFigure
        Two subfigures: the strip (a panel per lead and one of anomaly scores) and the
        explanation (beat panel, residual strip, colour bar).

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect import SIBeatGANDetector
    >>> from beatdetect.datasets import beats_from_signal, make_synthetic_beats
    >>> from beatdetect.plotting import plot_scored_record
    >>> from beatdetect.record_scoring import score_beats
    >>> train = make_synthetic_beats(n_normal=256, n_anomalous=0, random_state=0)
    >>> det = SIBeatGANDetector(base_filters=4, max_epochs=1, random_state=0).fit(train.X)
    >>> test = make_synthetic_beats(n_normal=30, n_anomalous=3, random_state=1)
    >>> signal = test.X[:, 0, :].reshape(-1)  # beats end to end, R peak 140 samples in
    >>> beats = beats_from_signal(signal, 360.0, r_peaks=140 + 320 * np.arange(33))
    >>> fig = plot_scored_record(score_beats(beats, det, signal=signal), det)
    >>> len(fig.subfigs), len(fig.subfigs[0].axes), len(fig.subfigs[1].axes)
    (2, 2, 3)
    """
    from .datasets.preprocessing import REFERENCE_FS

    if scored.get("signal") is None:
        raise ValueError("scored has no signal: use score_record, or score_beats(..., "
                         "signal=the recording).")
    beats = scored.beats
    fs = float(beats.fs)
    anomaly = np.asarray(scored.anomaly_score, dtype=np.float64)
    worst = int(np.argmax(anomaly))
    t_worst = beats.sample[worst] / fs
    n_samples = len(scored.signal)
    start = max(0.0, min(t_worst - duration / 2, n_samples / fs - duration))
    fig = _new_figure(fig, (12, 8))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1])
    plot_record_strip(scored.signal, fs, beats.sample, scored.flags,
                      scores=scored.score_samples, start=start, duration=duration,
                      lead_names=beats.lead_names, window=beats.window, fig=top)
    label = f", reference {beats.aami[worst]}" if beats.get("aami") is not None else ""
    # A beat is its window (samples at 360 Hz) resampled to beats.length samples.
    beat_fs = REFERENCE_FS * beats.length / sum(beats.window)
    # In context, the explanation is the wrapped network's reconstruction of the beat.
    network = getattr(detector, "detector_", None) or detector
    plot_explanation(network, beats.X[worst:worst + 1], lead_names=beats.lead_names,
                     fs=beat_fs, scores=scored.score_samples[worst:worst + 1],
                     flags=np.asarray(scored.flags)[worst:worst + 1],
                     titles=[f"most anomalous beat: {t_worst:.2f} s{label}"], fig=bottom)
    n_flagged = int((np.asarray(scored.flags) == -1).sum())
    fig.suptitle(f"Record {scored.name}: {n_flagged} of {len(anomaly)} beats flagged")
    return fig

def plot_history(history, *, fig=None):
    """Training losses per epoch, from a fitted detector's ``history_``.

    Generator-side losses (reconstruction, adversarial, validation error, extra terms) go
    in the left panel and discriminator losses (``d_*``, ``loss_d``) in the right one, on
    a log scale when positive. Timing entries (``time``, ``dur``) and non-numeric or
    boolean entries are not plotted.

    Parameters
    ----------
    history : list of dict
        One dict per epoch, e.g. ``detector.history_``.
    fig : Figure or SubFigure, optional

    Returns
    -------
    fig : matplotlib.figure.Figure or SubFigure
        One axes per group of losses present (one or two).

    Examples
    --------
    >>> from beatdetect.plotting import plot_history
    >>> history = [{"epoch": 1, "rec": 0.3, "loss_d": 1.2, "time": 2.0},
    ...            {"epoch": 2, "rec": 0.1, "loss_d": 0.9, "time": 2.0}]
    >>> fig = plot_history(history)
    >>> [ax.get_title() for ax in fig.axes]
    ['generator', 'discriminator']
    """
    history = list(history)
    if not history:
        raise ValueError("history is empty: fit the detector first.")
    skip = {"epoch", "time", "dur", "seconds", "beats_per_s"}

    def is_loss(key):
        return key not in skip and all(
            isinstance(h.get(key, 0.0), (int, float, np.number))
            and not isinstance(h.get(key, 0.0), (bool, np.bool_)) for h in history)

    keys = [k for k in dict.fromkeys(k for h in history for k in h) if is_loss(k)]
    if not keys:
        raise ValueError(f"No losses to plot in history entries with keys {sorted(history[0])}.")
    is_d = [k.startswith("d_") or k == "loss_d" for k in keys]
    groups = [("generator", [k for k, d in zip(keys, is_d) if not d]),
              ("discriminator", [k for k, d in zip(keys, is_d) if d])]
    groups = [g for g in groups if g[1]]
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]

    fig = _new_figure(fig, (5.0 * len(groups), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    for ax, (name, group) in zip(axes, groups):
        positive = True
        for k in group:
            values = np.array([h.get(k, np.nan) for h in history], dtype=np.float64)
            positive &= bool(np.nanmin(values) > 0) if np.isfinite(values).any() else True
            ax.plot(epochs, values, marker="o", ms=3, label=k)
        if positive:
            ax.set_yscale("log")
        ax.set(title=name, xlabel="epoch", ylabel="loss")
        ax.legend(fontsize=8)
    return fig
