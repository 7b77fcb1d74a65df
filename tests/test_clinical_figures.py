"""The clinical figures print what they claim: Figure 5's R^2, standard errors and Bland-Altman limits, the CT
figure's R^2 equal scipy/numpy on the points drawn; Figure 6 crops to the breast, greens exactly the pixels above
the cutoff and dates each exam."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bacseg.ct_comparison import per_subject as ct_per_subject
from bacseg.figures.ct_comparison import ct_comparison_figure, write_ct_comparison_figure
from bacseg.figures.fig5_agreement import FIGURE5_METRICS, figure5, write_figure5
from bacseg.figures.fig6_longitudinal import BAC_GREEN, exam_panel, overlay, write_figure6
from bacseg.io.png import write_png
from bacseg.longitudinal import per_exam


def _assert_written(*paths):
    for path in paths:
        assert path.stat().st_size > 1000 and path.read_bytes()[:4] in (b"%PDF", b"\x89PNG")


def _metrics_table(rng, n=12):
    """n validation images with both sources, plus rows Figure 5 must leave out: training images and an image
    with a prediction only."""
    truth = pd.DataFrame({name: rng.uniform(10, 1000, n + 4) for name in FIGURE5_METRICS})
    predicted = truth * rng.normal(1.0, 0.1, truth.shape) + rng.normal(0, 20, truth.shape)
    ids = [f"A-S{k:04d}-001" for k in range(n + 4)]
    split = ["validation"] * n + ["train"] * 3 + ["validation"]
    predicted = predicted.assign(image_id=ids, split=split, source="predicted")
    truth = truth.assign(image_id=ids, split=split, source="truth").iloc[: n + 3]
    return pd.concat([predicted, truth], ignore_index=True)


def test_figure5_prints_scipys_regression_and_the_ddof1_bland_altman_limits_of_the_validation_pairs(tmp_path):
    metrics = _metrics_table(np.random.default_rng(0))
    fig = figure5(metrics)
    assert len(fig.axes) == 2 * len(FIGURE5_METRICS)
    kept = metrics[(metrics["split"] == "validation") & metrics["image_id"].isin(metrics["image_id"][:12])]
    for column, name in enumerate(FIGURE5_METRICS):
        predicted = kept[kept["source"] == "predicted"].set_index("image_id")[name].sort_index().to_numpy()
        truth = kept[kept["source"] == "truth"].set_index("image_id")[name].sort_index().to_numpy()
        top, bottom = fig.axes[column], fig.axes[len(FIGURE5_METRICS) + column]
        assert np.asarray(top.collections[0].get_offsets()) == pytest.approx(np.column_stack([truth, predicted]))
        fit = stats.linregress(truth, predicted)
        assert [t.get_text() for t in top.texts] == [f"R² = {fit.rvalue**2:.3f}\nSE = {fit.stderr:.3g}\nn = 12"]
        line_x, line_y = top.lines[0].get_data()
        assert line_y == pytest.approx(fit.intercept + fit.slope * np.asarray(line_x))
        difference = predicted - truth
        mean, sd = difference.mean(), difference.std(ddof=1)
        assert [t.get_text() for t in bottom.texts] == [
            f"mean {mean:.3g}\n±1.96 SD: [{mean - 1.96 * sd:.3g}, {mean + 1.96 * sd:.3g}]"]
        assert [line.get_ydata()[0] for line in bottom.lines] == pytest.approx(
            [mean, mean - 1.96 * sd, mean + 1.96 * sd])
        assert np.asarray(bottom.collections[0].get_offsets())[:, 1] == pytest.approx(difference)
    outputs = tmp_path / "fig5.pdf", tmp_path / "fig5.png"
    write_figure5(metrics, pdf=outputs[0], png=outputs[1], metrics_names=("PM", "TAM_100"))
    _assert_written(*outputs)


def test_ct_figure_prints_each_metrics_r2_against_each_ct_measure(tmp_path):
    """On bacseg.ct_comparison.per_subject's table: each point is a subject's sum over its four views."""
    rng = np.random.default_rng(2)
    subjects = [f"B-S{k:04d}" for k in range(10)]
    mass = rng.uniform(5, 80, 10)
    views = pd.DataFrame({"image_id": [f"{s}-{v:03d}" for s in subjects for v in range(4)],
                          "subject_id": np.repeat(subjects, 4), "exam_date": "2020-01-01", "source": "predicted",
                          **{name: np.repeat(mass * (k + 1), 4) + rng.normal(0, 15, 40)
                             for k, name in enumerate(FIGURE5_METRICS)}})
    breast_ct = pd.DataFrame({"subject_id": subjects, "ct_calcium_mass_mg": mass,
                              "ct_calcified_voxels": mass * 40 + rng.normal(0, 200, 10)})
    sums = views.groupby("subject_id")[list(FIGURE5_METRICS)].sum()
    expected = breast_ct.set_index("subject_id").join(sums)
    per_subject = ct_per_subject(views, breast_ct, names=FIGURE5_METRICS)
    fig = ct_comparison_figure(per_subject)
    assert len(fig.axes) == 2 * len(FIGURE5_METRICS)
    for row, reference in enumerate(("ct_calcified_voxels", "ct_calcium_mass_mg")):
        for column, name in enumerate(FIGURE5_METRICS):
            ax = fig.axes[row * len(FIGURE5_METRICS) + column]
            fit = stats.linregress(expected[reference], expected[name])
            assert ax.texts[0].get_text().splitlines()[0] == f"R² = {fit.rvalue**2:.3f}"
            points = np.asarray(ax.collections[0].get_offsets())
            assert points == pytest.approx(expected[[reference, name]].to_numpy())
    outputs = tmp_path / "ct.pdf", tmp_path / "ct.png"
    write_ct_comparison_figure(per_subject, pdf=outputs[0], png=outputs[1], metrics_names=("PM",))
    _assert_written(*outputs)


def test_exam_panel_crops_to_the_breast_and_greens_only_pixels_above_the_cutoff():
    image = np.full((60, 40), 80, np.uint8)
    breast = np.zeros((60, 40), bool)
    breast[10:50, 5:25] = True
    probability = np.zeros((60, 40), np.float16)
    probability[20, 10] = 0.9
    probability[30, 12] = 0.5  # at the cutoff: not calcified
    probability[55, 35] = 0.9  # outside the breast's bounding box: cropped away
    panel = exam_panel("2012-03-04", image, breast, probability, cutoff=0.5, max_side=400)
    assert panel.image.shape == (40, 20) and np.argwhere(panel.bac).tolist() == [[10, 5]]
    rgb = overlay(panel)
    assert tuple(rgb[10, 5]) == BAC_GREEN and rgb[0, 0] == pytest.approx([80 / 255] * 3)
    reduced = exam_panel("2012-03-04", image, breast, probability, cutoff=0.5, max_side=10)
    assert reduced.bac.shape == (10, 5) and np.argwhere(reduced.bac).tolist() == [[2, 1]], "a 1-px BAC survives"
    with pytest.raises(ValueError, match="differ in shape"):
        exam_panel("2012-03-04", image, breast, probability[:50], cutoff=0.5)


def _longitudinal_files(tmp_path):
    """Three subjects (5, 4 and 2 exams); subject C-S0001's third exam has no LCC image. Returns the metrics table
    (also the image table Figure 6 reads) with TAM_100 = 10 (exam number + 1) in LCC and 5 in LMLO, breast areas
    1000 and 2000 px."""
    exams = {"C-S0001": ["2010-02-01", "2011-02-03", "2012-01-30", "2013-02-05", "2014-02-02"],
             "C-S0002": ["2009-06-01", "2010-06-01", "2011-06-01", "2012-06-01"],
             "C-S0003": ["2015-01-01", "2016-01-01"]}
    metrics, preprocessed, predictions = [], [], []
    for folder in ("images", "breast_masks", "maps"):
        (tmp_path / folder).mkdir()
    for subject, dates in exams.items():
        for number, date in enumerate(dates):
            views = ["LMLO"] if (subject, number) == ("C-S0001", 2) else ["LCC", "LMLO"]
            for view in views:
                image_id = f"{subject}-{date}-{view}"
                metrics.append({"image_id": image_id, "subject_id": subject, "exam_date": date, "laterality": view[0],
                                "view": view[1:], "source": "predicted", "TAM_100": 10 * (number + 1) if
                                view == "LCC" else 5, "breast_area_px": 1000 if view == "LCC" else 2000})
                write_png(tmp_path / "images" / f"{image_id}.png", np.full((64, 48), 90, np.uint8))
                breast = np.zeros((64, 48), bool)
                breast[4:60, : 30 + number] = True
                write_png(tmp_path / "breast_masks" / f"{image_id}.png", breast)
                np.save(tmp_path / "maps" / f"{image_id}.npy", (breast * 0.8).astype(np.float16))
                preprocessed.append({"image_id": image_id, "image_png": f"images/{image_id}.png",
                                     "breast_mask_png": f"breast_masks/{image_id}.png"})
                predictions.append({"image_id": image_id, "path": f"maps/{image_id}.npy"})
    pd.DataFrame(preprocessed).to_csv(tmp_path / "preprocessed.csv", index=False)
    pd.DataFrame(predictions).to_csv(tmp_path / "predictions.csv", index=False)
    return pd.DataFrame(metrics)


def test_figure6_draws_the_subjects_with_most_exams_and_one_dated_panel_per_exam_of_the_view(tmp_path, monkeypatch):
    metrics = _longitudinal_files(tmp_path)
    drawn = {}
    monkeypatch.setattr("bacseg.figures.fig6_longitudinal.save_figure", lambda fig, **paths: drawn.update(fig=fig))
    write_figure6(per_exam(metrics), metrics, tmp_path / "preprocessed.csv", tmp_path / "predictions.csv",
                  pdf="-", png="-", subjects=2, view="LCC")
    fig = drawn["fig"]
    assert len(fig.axes) == 1 + 4, "the trend, then subject C-S0001's four exams with an LCC image"
    trend = fig.axes[0]
    assert [line.get_label() for line in trend.lines] == ["C-S0001", "C-S0002"]
    assert trend.lines[1].get_ydata().tolist() == pytest.approx([10 * k / 1000 + 5 / 2000 for k in range(1, 5)])
    assert trend.lines[0].get_xdata().tolist() == pd.to_datetime(
        ["2010-02-01", "2011-02-03", "2012-01-30", "2013-02-05", "2014-02-02"]).tolist()
    assert [ax.get_xlabel() for ax in fig.axes[1:]] == ["2010-02-01", "2011-02-03", "2013-02-05", "2014-02-02"]
    assert [ax.images[0].get_array().shape[:2] for ax in fig.axes[1:]] == [(56, 30), (56, 31), (56, 33), (56, 34)]
    assert all((ax.images[0].get_array()[:, :, 1] == 1).all() for ax in fig.axes[1:]), "BAC everywhere in green"

    outputs = tmp_path / "fig6.pdf", tmp_path / "fig6.png"
    monkeypatch.undo()
    write_figure6(per_exam(metrics), metrics.assign(exam_date=metrics["exam_date"].str.replace("-", "")),
                  tmp_path / "preprocessed.csv", tmp_path / "predictions.csv", pdf=outputs[0], png=outputs[1])
    _assert_written(*outputs)


def test_figure6_names_an_image_without_a_probability_map(tmp_path):
    metrics = _longitudinal_files(tmp_path)
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    predictions.iloc[1:].to_csv(tmp_path / "predictions.csv", index=False)
    with pytest.raises(ValueError, match="predictions.csv: no row for image C-S0001-2010-02-01-LCC"):
        write_figure6(per_exam(metrics), metrics, tmp_path / "preprocessed.csv", tmp_path / "predictions.csv",
                      pdf=tmp_path / "f.pdf", png=tmp_path / "f.png")
