"""Table 1's scores on hand-computed cases (empty masks included) and whole images read from real files."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bacseg.evaluation import evaluate_images, evaluate_pairs, match_by_stem, probability_maps_in, score_patches
from bacseg.metrics.maps import read_probability_map, read_truth_mask
from bacseg.metrics.segmentation import (
    batch_confusion_counts,
    binarise,
    confusion_counts,
    scores_from_counts,
    summarise,
    with_scores,
)

# One 2x3 sample: TP at (0,0), FP at (0,1), FN at (1,0), three TN.
PREDICTED = np.array([[1, 1, 0], [0, 0, 0]], dtype=bool)
TRUTH = np.array([[1, 0, 0], [1, 0, 0]], dtype=bool)
# Rows: the sample above, both empty, empty truth with 2 false positives, empty prediction missing 3 pixels.
COUNTS = pd.DataFrame({"tp": [1, 0, 0, 0], "fp": [1, 0, 2, 0], "tn": [3, 6, 4, 3], "fn": [1, 0, 0, 3]})


def test_confusion_counts_by_hand():
    assert confusion_counts(PREDICTED, TRUTH) == {"tp": 1, "fp": 1, "tn": 3, "fn": 1}
    left_column = np.zeros_like(TRUTH)
    left_column[:, 0] = True
    assert confusion_counts(PREDICTED, TRUTH, left_column) == {"tp": 1, "fp": 0, "tn": 0, "fn": 1}
    batch = batch_confusion_counts(np.stack([PREDICTED, ~PREDICTED]), np.stack([TRUTH, TRUTH]))
    assert batch.to_dict("records") == [{"tp": 1, "fp": 1, "tn": 3, "fn": 1}, {"tp": 1, "fp": 3, "tn": 1, "fn": 1}]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_counts(PREDICTED, TRUTH[:, :2])


def test_scores_by_hand_with_the_nan_rule():
    scores = scores_from_counts(COUNTS, empty="nan")
    expected = pd.DataFrame(
        {
            "recall": [0.5, math.nan, math.nan, 0.0],
            "precision": [0.5, math.nan, 0.0, math.nan],
            "accuracy": [4 / 6, 1.0, 4 / 6, 0.5],
            "f1": [0.5, math.nan, 0.0, 0.0],
            "jaccard": [1 / 3, math.nan, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(scores, expected)


def test_zero_rule_matches_the_authors_formula():
    """The authors' code: 1e-6 added to every denominator, so a 0/0 score is 0."""
    tp, fp, tn, fn = (COUNTS[c].to_numpy(float) for c in ("tp", "fp", "tn", "fn"))
    eps = 1e-6
    authors = pd.DataFrame(
        {
            "recall": tp / (tp + fn + eps),
            "precision": tp / (tp + fp + eps),
            "accuracy": (tp + tn) / (tp + fp + tn + fn + eps),
            "f1": 2 * tp / (2 * tp + fp + fn + eps),
            "jaccard": tp / (tp + fp + fn + eps),
        }
    )
    scores = scores_from_counts(COUNTS, empty="zero")
    assert not scores.isna().any().any()
    np.testing.assert_allclose(scores.to_numpy(), authors.to_numpy(), atol=1e-6)


def test_f1_is_dice_and_jaccard_follows_from_it():
    rng = np.random.default_rng(0)
    predicted, truth = rng.random((5, 16, 16)) > 0.6, rng.random((5, 16, 16)) > 0.7
    scores = scores_from_counts(batch_confusion_counts(predicted, truth))
    dice = [2 * (p & t).sum() / (p.sum() + t.sum()) for p, t in zip(predicted, truth)]
    np.testing.assert_allclose(scores["f1"], dice)
    np.testing.assert_allclose(scores["jaccard"], scores["f1"] / (2 - scores["f1"]))


def test_unknown_rule_and_negative_counts_are_errors():
    with pytest.raises(ValueError, match="empty must be one of"):
        scores_from_counts(COUNTS, empty="skip")
    with pytest.raises(ValueError, match="negative"):
        scores_from_counts(COUNTS.assign(tn=-1))


def test_summary_reports_what_the_empty_rule_touched():
    nan_rule = summarise(with_scores(COUNTS, "nan"))
    empties = [nan_rule[k] for k in ("n", "n_empty_truth", "n_empty_prediction", "n_empty_both")]
    assert empties == [4, 2, 2, 1]
    f1 = [0.5, 0.0, 0.0]
    assert nan_rule["f1"] == pytest.approx({"mean": np.mean(f1), "sd": np.std(f1, ddof=1), "n": 3, "n_undefined": 1})
    assert nan_rule["recall"]["n"] == 2 and nan_rule["recall"]["mean"] == pytest.approx(0.25)
    zero_rule = summarise(with_scores(COUNTS, "zero"))
    assert zero_rule["f1"]["n"] == 4 and zero_rule["f1"]["n_undefined"] == 1
    assert zero_rule["f1"]["mean"] == pytest.approx(0.125, abs=1e-6)
    assert zero_rule["accuracy"] == nan_rule["accuracy"], "accuracy is never undefined"


def test_binarise_is_strictly_above_the_cutoff_also_in_float16():
    probability = np.array([0.5, 0.5009766, 0.65, 0.6504], dtype=np.float16)
    assert binarise(probability, 0.5).tolist() == [False, True, True, True]
    assert binarise(probability, 0.65).tolist() == [False, False, False, True]


def _png(path, array):
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def whole_images(tmp_path):
    """Two images in the preprocessed table's layout and float16 probability maps for them."""
    rng = np.random.default_rng(1)
    for folder in ("bac_masks", "breast_masks", "maps"):
        (tmp_path / folder).mkdir()
    truth = {"a": rng.random((40, 30)) > 0.8, "b": np.zeros((40, 30), bool)}
    breast = np.zeros((40, 30), bool)
    breast[:, :20] = True
    maps = {}
    for image_id, label in truth.items():
        _png(tmp_path / "bac_masks" / f"{image_id}.png", label.astype(np.uint8) * 255)
        _png(tmp_path / "breast_masks" / f"{image_id}.png", breast.astype(np.uint8) * 255)
        probability = np.clip(label * 0.45 + rng.random(label.shape) * 0.6, 0, 1).astype(np.float16)
        np.save(tmp_path / "maps" / f"{image_id}.npy", probability)
        maps[image_id] = tmp_path / "maps" / f"{image_id}.npy"
    pd.DataFrame(
        {
            "image_id": ["a", "b", "c"],
            "split": ["val", "val", "train"],
            "image_png": ["images/a.png", "images/b.png", "images/c.png"],
            "breast_mask_png": ["breast_masks/a.png", "breast_masks/b.png", "breast_masks/c.png"],
            "bac_mask_png": ["bac_masks/a.png", "bac_masks/b.png", ""],
        }
    ).to_csv(tmp_path / "preprocessed.csv", index=False)
    return tmp_path, truth, breast, maps


def test_evaluate_images_counts_every_pixel_or_the_breast(whole_images):
    folder, truth, breast, maps = whole_images
    for region, mask in (("image", None), ("breast", breast)):
        table = evaluate_images(maps, folder / "preprocessed.csv", cutoff=0.5, region=region)
        assert table["image_id"].tolist() == ["a", "b"]
        for row in table.itertuples():
            predicted = np.load(maps[row.image_id]).astype(np.float32) > 0.5
            expected = confusion_counts(predicted, truth[row.image_id], mask)
            assert {k: getattr(row, k) for k in expected} == expected
    assert table.loc[1, "fp"] > 0 and table.loc[1, "f1"] == 0.0, "false positives on a BAC-free image score F1 0"
    assert math.isnan(table.loc[1, "recall"])


def test_maps_of_a_folder(whole_images):
    folder, _, _, maps = whole_images
    assert probability_maps_in(folder / "maps") == maps
    assert probability_maps_in(folder / "maps", ["b"]) == {"b": maps["b"]}
    with pytest.raises(FileNotFoundError, match=r"no probability map for 1 image\(s\): c"):
        probability_maps_in(folder / "maps", ["a", "c"])


def test_evaluate_images_names_images_without_a_label(whole_images):
    folder, _, _, maps = whole_images
    with pytest.raises(ValueError, match=r"no BAC mask for 2 predicted image\(s\): c, zz"):
        evaluate_images({**maps, "c": maps["a"], "zz": maps["a"]}, folder / "preprocessed.csv")


def test_patch_scores_from_the_counts_csv(tmp_path):
    counts = COUNTS.assign(image_id=["a", "a", "b", "b"], y=[0, 448, 0, 448], x=[0, 0, 0, 448])
    counts.to_csv(tmp_path / "counts.csv", index=False)
    scored = score_patches(tmp_path / "counts.csv")
    assert list(scored.columns[:3]) == ["image_id", "y", "x"]
    pd.testing.assert_frame_equal(scored[["f1", "jaccard"]], scores_from_counts(COUNTS)[["f1", "jaccard"]])
    counts.drop(columns="y").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv: patch counts lack the columns \['y'\]"):
        score_patches(tmp_path / "bad.csv")


def test_prediction_pngs_and_npys_read_as_probabilities(tmp_path):
    mask = np.array([[0, 255], [128, 0]], dtype=np.uint8)
    np.testing.assert_allclose(read_probability_map(_png(tmp_path / "m.png", mask)), [[0, 1], [128 / 255, 0]])
    truth = read_truth_mask(tmp_path / "m.png")
    assert truth.tolist() == [[False, True], [False, False]], "128 (a look-alike) is not a label"
    np.save(tmp_path / "b.npy", mask > 0)
    assert read_probability_map(tmp_path / "b.npy").tolist() == [[0, 1], [1, 0]]
    sixteen = np.array([[0, 65535]], dtype=np.uint16)
    assert read_probability_map(_png(tmp_path / "s.png", sixteen)).tolist() == [[0, 1]]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("high.npy", np.array([[0.2, 1.5]]), r"within \[0, 1\]"),
        ("nan.npy", np.array([[0.2, np.nan]]), "finite"),
        ("cube.npy", np.zeros((2, 2, 2)), "2-D"),
        ("ints.npy", np.array([[0, 255]]), "0/1 masks"),
        ("ones.png", np.array([[0, 1]], dtype=np.uint8), "0/1 prediction PNG"),
        ("rgb.png", np.zeros((2, 2, 3), dtype=np.uint8), "RGB PNG"),
        ("broken.png", b"\x89PNG not really", "not a readable PNG"),
        ("broken.npy", b"nonsense", "not a readable .npy"),
        ("map.tif", b"", "must be .npy or .png"),
    ],
)
def test_bad_prediction_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif name.endswith(".npy"):
        np.save(path, content)
    else:
        _png(path, content)
    with pytest.raises(ValueError, match=message) as error:
        read_probability_map(path)
    assert name in str(error.value)


def test_folders_pair_by_stem_and_name_the_unmatched(tmp_path):
    pred, truth = tmp_path / "pred", tmp_path / "truth"
    pred.mkdir(), truth.mkdir()
    label = np.zeros((4, 4), np.uint8)
    label[1:3, 1:3] = 255
    for stem in ("x1", "x2"):
        _png(truth / f"{stem}.png", label)
    np.save(pred / "x1.npy", (label / 255).astype(np.float16))
    _png(pred / "x2.png", label)
    scored = evaluate_pairs(match_by_stem(pred, truth))
    assert scored["f1"].tolist() == [1.0, 1.0]
    _png(truth / "x3.png", label)
    np.save(pred / "y9.npy", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"no truth mask .* for 1 prediction\(s\): y9; no prediction .* x3"):
        match_by_stem(pred, truth)
    np.save(pred / "x2.npy", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="two predictions for 'x2'"):
        match_by_stem(pred, truth)


def test_a_map_of_another_size_names_both_files(tmp_path):
    _png(tmp_path / "t.png", np.zeros((4, 4), np.uint8))
    np.save(tmp_path / "p.npy", np.zeros((4, 5), np.float16))
    with pytest.raises(ValueError, match=r"p.npy is \(4, 5\) but its truth .*t.png is \(4, 4\)"):
        evaluate_pairs([("p", tmp_path / "p.npy", tmp_path / "t.png", None)])


def test_cli_evaluate_prints_the_table1_row_and_names_unmatched_files(tmp_path, capsys):
    from bacseg.cli import main

    pred, truth = tmp_path / "pred", tmp_path / "truth"
    pred.mkdir(), truth.mkdir()
    label = np.zeros((6, 6), np.uint8)
    label[1:4, 2] = 255
    _png(truth / "one.png", label)
    _png(truth / "two.png", label)
    probability = (label / 255).astype(np.float16)
    probability[5, 5] = 0.9  # one false positive
    np.save(pred / "one.npy", probability)
    _png(pred / "two.png", label)
    assert main(["evaluate", "--pred", str(pred), "--truth", str(truth), "--per-image", str(tmp_path / "p.csv")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["n"], row["cutoff"], row["empty"]) == (2, 0.5, "nan")
    assert row["precision"]["mean"] == pytest.approx((0.75 + 1) / 2)
    assert row["f1"]["mean"] == pytest.approx((6 / 7 + 1) / 2)
    assert pd.read_csv(tmp_path / "p.csv")["fp"].tolist() == [1, 0]
    (truth / "two.png").unlink()
    assert main(["evaluate", "--pred", str(pred), "--truth", str(truth)]) == 1
    assert "no truth mask" in (error := capsys.readouterr().err) and "two" in error


def test_lookalike_false_positives_by_hand(tmp_path):
    from bacseg.metrics.discrimination import lookalike_false_positives, lookalike_hits
    from bacseg.synthetic.cohorts import TRUTH_MASK_BAC, TRUTH_MASK_LOOKALIKE

    values = np.zeros((8, 8), np.uint8)
    values[1, 1:4] = TRUTH_MASK_LOOKALIKE  # object 1, three pixels
    values[5:7, 5] = TRUTH_MASK_LOOKALIKE  # object 2, two pixels
    values[6, 6] = TRUTH_MASK_LOOKALIKE  # diagonal neighbour: still object 2
    values[3, :] = TRUTH_MASK_BAC
    label = np.zeros((8, 8), bool)
    label[2:5, :] = True  # the annotation band around the BAC
    predicted = np.zeros((8, 8), bool)
    predicted[1, 2] = predicted[3, 3] = predicted[7, 0] = True  # a look-alike pixel, a BAC pixel, background
    expected = {"lookalike_objects": 2, "lookalike_objects_hit": 1, "lookalike_pixels": 6,
                "lookalike_pixels_predicted": 1, "fp_pixels": 2}
    assert lookalike_hits(predicted, values, label) == expected
    _png(tmp_path / "truth.png", values)
    _png(tmp_path / "label.png", label.astype(np.uint8) * 255)
    np.save(tmp_path / "map.npy", predicted.astype(np.float16))
    pd.DataFrame({"image_id": ["a"], "bac_mask_png": ["label.png"]}).to_csv(tmp_path / "pre.csv", index=False)
    table = lookalike_false_positives({"a": tmp_path / "map.npy"}, {"a": tmp_path / "truth.png"}, tmp_path / "pre.csv")
    assert table.drop(columns="image_id").to_dict("records") == [expected]
    with pytest.raises(ValueError, match="no synthetic truth mask for 1 image"):
        lookalike_false_positives({"b": tmp_path / "map.npy"}, {"a": tmp_path / "truth.png"}, tmp_path / "pre.csv")


def test_truth_masks_found_through_the_source_files_dicom_paths(tmp_path):
    from bacseg.metrics.discrimination import synthetic_truth_masks

    cohort = tmp_path / "synthetic" / "A"
    (cohort / "dicom" / "case0001").mkdir(parents=True)
    pd.DataFrame({"dicom_path": ["dicom/case0001/LCC.dcm", "dicom/case0001/RCC.dcm"],
                  "truth_mask_path": ["truth_masks/case0001/LCC.png", "truth_masks/case0001/RCC.png"]}).to_csv(
        cohort / "truth.csv", index=False)
    pd.DataFrame({"image_id": ["A0002", "A0009"],
                  "dicom_path": [str(cohort / "dicom/case0001/RCC.dcm"), "/elsewhere/x.dcm"]}).to_csv(
        tmp_path / "source_files.csv", index=False)
    assert synthetic_truth_masks(tmp_path / "source_files.csv", cohort / "truth.csv") == {
        "A0002": cohort / "truth_masks/case0001/RCC.png"}


def test_every_ingested_synthetic_image_finds_its_truth_mask(tmp_path):
    """The chain the discrimination rule runs: a cohort written to separate declared paths, then ingested."""
    from bacseg.ingest import IngestOptions, IngestOutputs, ingest, read_source_files
    from bacseg.metrics.discrimination import synthetic_truth_masks
    from bacseg.synthetic import CohortOutputs, generate_cohort

    synthetic = CohortOutputs(tmp_path / "pacs", tmp_path / "export.json", tmp_path / "masks",
                              tmp_path / "tables" / "truth.csv", tmp_path / "tables" / "breast_ct.csv")  # fmt: skip
    generate_cohort("A", synthetic, {"n_subjects": 2, "scale": 0.06}, seed=1)
    ingested = IngestOutputs.in_folders(tmp_path / "data", tmp_path / "private")
    ingest(synthetic.dicom_dir, ingested, mdai_export=synthetic.annotations, options=IngestOptions(cohort="A"))
    masks = synthetic_truth_masks(ingested.source_files, synthetic.truth)
    assert set(masks) == set(read_source_files(ingested.source_files)) and len(masks) >= 4
    for image_id, mask in masks.items():
        assert mask.resolve().is_relative_to(synthetic.truth_masks.resolve()) and mask.is_file(), image_id


def test_spread_and_lookalike_shares_per_model():
    from bacseg.metrics.discrimination import discrimination_table, f1_spread

    whole = {"SCU-Net": pd.DataFrame({"f1": [0.9, 0.96, np.nan]}), "U-Net": pd.DataFrame({"f1": [0.5, 0.7, 0.6]})}
    hits = pd.DataFrame({"lookalike_objects": [2, 0], "lookalike_objects_hit": [1, 0], "lookalike_pixels": [6, 0],
                         "lookalike_pixels_predicted": [3, 0], "fp_pixels": [4, 8]})
    table = discrimination_table(whole, {"U-Net": hits})
    assert table.at["SCU-Net", "share_f1_above_0.95"] == 0.5 and table.at["SCU-Net", "n_images"] == 2
    assert table.at["U-Net", "share_lookalikes_hit"] == 0.5 and table.at["U-Net", "share_fp_on_lookalikes"] == 0.25
    assert np.isnan(table.at["SCU-Net", "share_lookalikes_hit"])
    spread = f1_spread(table)
    assert spread["f1_range"] == pytest.approx(0.93 - 0.6) and (spread["best"], spread["worst"]) == ("SCU-Net", "U-Net")
    assert spread["near_ceiling"] is False
