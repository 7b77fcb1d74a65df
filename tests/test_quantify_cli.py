"""`bacseg quantify` (and `bacseg predict --recipe authors`) on real mammograms: the authors' recipe against an
independent float64 re-implementation of AutoSeg.py's steps, the CSV and overlays, bad files, planted PHI."""

import json
import shutil

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
import torch
from PIL import Image

from bacseg.cli import main
from bacseg.inference.predictor import load_predictor
from bacseg.models.authors_weights import read_authors_state_dict
from bacseg.models.scunet_torch import SCUNetTorch
from bacseg.quantify.recipes import authors_recipe
from bacseg.quantify.run import pseudonymise
from bacseg.quantify.sources import find_sources, open_source
from dicom_fixtures import make_bad_files, save_variant
from planted_phi import leaks
from test_phi import MARKERS, archive  # noqa: F401 (archive is a fixture)

REAL = "real_mammograms"
CC = "CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm"
PAPER_WEIGHTS = "authors_scunet_weights/SCUNet_dice_512_512_best_nosigmoid.pt"
# float32 JAX against float64 PyTorch on this image: 2.2e-6 on one machine, 1.4e-5 on another (the CPU's XLA kernels
# sum in a different order; the map reaches 1.3 unclipped). The released-model parity test allows the same 1e-4.
MAP_TOLERANCE = 1e-4


def niffler_png(dicom, png):
    """An 8-bit PNG as the authors' lab extracted them (Niffler): stored values scaled by their maximum, truncated."""
    stored = pydicom.dcmread(dicom).pixel_array.astype(float)
    png.write_bytes(cv2.imencode(".png", np.uint8(np.maximum(stored, 0) / stored.max() * 255.0))[1].tobytes())
    return png


def autoseg_reference(png, weights, scratch):
    """AutoSeg.py's steps written out independently: the median-filtered grey image, the float64 map, evaluate()."""
    image = cv2.medianBlur(cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2GRAY), 5)

    def starts(length):  # every 480 px while a 512 tile fits short of the edge, then one flush with it
        found = [0]
        while found[-1] + 480 + 512 < length:
            found.append(found[-1] + 480)
        return found + [length - 512] if length - 512 > found[-1] else found

    network = SCUNetTorch()
    network.load_state_dict({k: torch.from_numpy(v) for k, v in read_authors_state_dict(weights).items()})
    network = network.double().eval()
    stitched = np.zeros(image.shape)  # float64 zeros: the maximum cuts negative outputs, keeps those above 1
    for y in starts(image.shape[0]):
        for x in starts(image.shape[1]):
            tile = image[y : y + 512, x : x + 512]
            if tile.mean() <= 20 or tile.std() <= 10:
                continue
            cv2.imwrite(str(scratch / "tile.png"), tile)  # their tiles go through PNG files, read back by PIL
            scaled = torch.from_numpy(np.asarray(Image.open(scratch / "tile.png"), dtype=np.float32) / 255)
            normalised = ((scaled - 0.2813) / 0.1256).double()  # ToTensor + Normalize in float32, then float64
            with torch.no_grad():
                output = network(normalised.expand(1, 3, 512, 512))[0, 0].numpy()
            np.maximum(stitched[y : y + 512, x : x + 512], output, out=stitched[y : y + 512, x : x + 512])
    calcified = image[stitched > 0.65]  # utils.evaluate with prob_thre 0.65; AM at 0.5
    bright = calcified[calcified >= 100]
    numbers = {"breastarea": int((image > 0).sum()), "prob": stitched.sum(), "area_thre": int((stitched > 0.5).sum()),
               "sum_intensity": int(calcified.sum(dtype=np.int64)),  # exact, as their sum() under NumPy 1.x
               "sum_intensity_100": int(bright.sum(dtype=np.int64)), "sum_pixels_100": bright.size}  # fmt: skip
    return image, stitched, numbers


@pytest.fixture(scope="module")
def authors_case(reference_dir, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("authors")
    png = niffler_png(reference_dir / REAL / CC, scratch / "cc.png")
    return (png, *autoseg_reference(png, reference_dir / PAPER_WEIGHTS, scratch))


def near(stitched, cutoff):
    """Pixels whose float64 probability is so close to the cutoff that float32 may put them on the other side."""
    return int((np.abs(stitched - cutoff) <= MAP_TOLERANCE).sum())


def test_authors_recipe_map_is_autosegs(authors_case):
    png, their_image, their_map, _ = authors_case
    recipe = authors_recipe()
    image = recipe.image(open_source(png))
    np.testing.assert_array_equal(image, their_image)
    ours = recipe.predict(image, load_predictor("authors", batch_size=8, clip=recipe.clip))
    assert np.abs(ours - their_map).max() <= MAP_TOLERANCE
    assert (ours[their_map == 0] == 0).all(), "skipped tiles and negative outputs are 0, as their zeros"
    assert ours.max() > 1 and their_map.max() > 1, "no clipping at 1 (this image has outputs above 1)"


def test_quantify_authors_recipe_gives_autosegs_numbers_for_the_png_and_the_dicom(
    reference_dir, authors_case, tmp_path, capsys
):
    png, _, their_map, theirs = authors_case
    dicom = reference_dir / REAL / CC
    out = tmp_path / "out"
    argv = ["quantify", str(png), str(dicom), "--weights", "authors", "--recipe", "authors", "--out", str(out),
            "--private-dir", str(tmp_path / "private")]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    table = pd.read_csv(out / "quantify.csv", keep_default_na=False)
    from_png, from_dicom = (table[table["view"] == view].iloc[0] for view in ("", "CC"))
    assert from_png["breastarea"] == theirs["breastarea"] and from_png["imgsize"] == str(their_map.shape)
    assert abs(from_png["area_thre_0.65"] - theirs["area_thre"]) <= near(their_map, 0.5)
    assert abs(from_png["sum_pixels_100"] - theirs["sum_pixels_100"]) <= near(their_map, 0.65)
    for column in ("sum_intensity", "sum_intensity_100"):
        assert abs(from_png[column] - theirs[column]) <= 255 * near(their_map, 0.65)
    assert from_png["prob"] == pytest.approx(theirs["prob"], rel=1e-5)
    clipped_sum = np.clip(their_map, 0, 1).sum()
    assert theirs["prob"] - clipped_sum > 100 * abs(from_png["prob"] - theirs["prob"]), "PM of the unclipped map"
    assert (from_png[["AM", "TAM_100", "TSIM_100", "SIM", "PM"]].tolist()
            == from_png[["area_thre_0.65", "sum_pixels_100", "sum_intensity_100", "sum_intensity", "prob"]].tolist())
    metrics = ["breastarea", "prob", "area_thre_0.65", "sum_intensity", "sum_intensity_100", "sum_pixels_100",
               "TAM_50", "TSIM_200"]  # fmt: skip
    assert from_dicom[metrics].tolist() == from_png[metrics].tolist(), "a DICOM file is read as Niffler's PNG"
    assert (table["cutoff"] == 0.65).all() and (table["area_cutoff"] == 0.5).all()
    record = json.loads((out / "quantify.json").read_text())
    assert record["recipe"] == "authors" and record["clipped_to"] == [0.0, None]
    assert record["settings"]["tile_size"] == 512 and record["settings"]["overlap"] == 32


def test_predict_with_the_authors_recipe_writes_the_unclipped_map(authors_case, tmp_path, capsys):
    png, _, their_map, _ = authors_case
    out = tmp_path / "out"
    assert main(["predict", str(png), "--weights", "authors", "--recipe", "authors", "--out", str(out)]) == 0
    capsys.readouterr()
    probabilities = np.load(out / "probabilities.npy").astype(np.float64)
    assert np.abs(probabilities - their_map).max() <= MAP_TOLERANCE + 2**-11, "float16: half an ulp below 2"
    record = json.loads((out / "prediction.json").read_text())
    assert record["recipe"] == "authors" and record["cutoff"] == 0.65 and record["clipped_to"] == [0.0, None]
    assert record["probabilities_file"]["range"] == [0.0, None] and probabilities.max() > 1
    assert main(["predict", str(png), "--weights", "authors", "--recipe", "authors", "--stitch", "mean",
                 "--out", str(tmp_path / "mean")]) == 1  # fmt: skip
    assert "--recipe project" in capsys.readouterr().err


def test_quantify_real_mammograms_writes_one_row_and_one_overlay_per_image(reference_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    shutil.copytree(reference_dir / REAL, folder)
    (folder / "spaced").mkdir()
    spaced = save_variant(folder / CC, folder / "spaced" / "IM0001", lambda ds, _: (
        setattr(ds, "PixelSpacing", ["0.2", "0.2"]), setattr(ds, "SOPInstanceUID", pydicom.uid.generate_uid())))
    png = niffler_png(folder / CC, folder / "cc.png")
    out, private = tmp_path / "out", tmp_path / "private"
    argv = ["quantify", str(folder), "--weights", "authors", "--out", str(out), "--private-dir", str(private)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "5/5" in captured.err, "a progress bar on stderr"
    assert json.loads(captured.out)["images"] == 5
    table = pd.read_csv(out / "quantify.csv", keep_default_na=False)
    assert table["image_id"].tolist() == [f"img000{n}" for n in range(1, 6)]
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [f"{i}.png" for i in table["image_id"]]
    sources = pd.read_csv(private / "source_files.csv").set_index("path")["image_id"]
    rows = table.set_index("image_id")
    for image_id, row in rows.iterrows():
        overlay = np.asarray(Image.open(out / "overlays" / f"{image_id}.png"))
        assert overlay.shape == (row["rows"], row["columns"], 3)
        green = (overlay == [0, 255, 0]).all(axis=-1).sum()
        assert green == row["AM"], "AM counts p > cutoff, the pixels drawn green"
        assert row["TAM_50"] >= row["TAM_100"] >= row["TAM_200"] and row["SIM"] >= row["TSIM_100"]
    spaced_row, png_row = rows.loc[sources[str(spaced.resolve())]], rows.loc[sources[str(png.resolve())]]
    assert (spaced_row["view"], spaced_row["laterality"]) == ("CC", "L")
    assert float(spaced_row["breast_area_mm2"]) == pytest.approx(spaced_row["breast_area_px"] * 0.04)
    assert float(spaced_row["TAM_100_mm2"]) == pytest.approx(spaced_row["TAM_100"] * 0.04)
    assert png_row[["view", "laterality", "pixel_spacing_mm", "breast_area_mm2"]].tolist() == ["", "", "", ""]
    assert (table["recipe"] == "project").all() and (table["cutoff"] == 0.5).all()
    assert "area_thre_0.65" not in table, "the authors' column names only with their recipe"
    record = json.loads((out / "quantify.json").read_text())
    assert record["clipped_to"] == [0.0, 1.0] and record["thresholds"] == [50, 75, 100, 150, 200]
    assert "preprocess" in record and record["images"] == 5 and record["skipped"] == 0


def test_bad_files_are_listed_privately_and_the_rest_still_run(reference_dir, tmp_path, capsys, caplog):
    folder = tmp_path / "in"
    reasons = {path.name: reason for path, reason in make_bad_files(reference_dir / REAL / CC, folder).items()}
    (folder / "scan.dcm").write_text("a text file named like a DICOM file\n" * 20)
    reasons["scan.dcm"] = reasons["notes.txt"] = "neither a DICOM file"
    shutil.copy(reference_dir / REAL / CC, folder / "good.dcm")
    save_variant(folder / "good.dcm", folder / "blank.dcm", lambda ds, stored: (
        setattr(ds, "PixelData", np.zeros_like(stored).tobytes()), setattr(ds, "SOPInstanceUID", "1.2.3.4")))
    reasons["blank.dcm"] = "no breast found"
    out, private = tmp_path / "out", tmp_path / "private"
    argv = ["quantify", str(folder), "--weights", "authors", "--out", str(out), "--private-dir", str(private)]
    assert main(argv) == 1
    error = capsys.readouterr().err
    table = pd.read_csv(out / "quantify.csv")
    assert len(table) == 1 and (out / "overlays" / f"{table['image_id'][0]}.png").is_file()
    skipped = pd.read_csv(private / "skipped.csv", keep_default_na=False)
    listed = {path.split("/")[-1]: reason for path, reason in zip(skipped["path"], skipped["reason"])}
    assert sorted(listed) == sorted(reasons)
    for name, reason in reasons.items():
        assert reason in listed[name], (name, listed[name])
    assert skipped.set_index("reason")["image_id"].filter(like="no breast").str.startswith("img").all()
    assert f"{len(reasons)} input file(s) not quantified" in error and str(private / "skipped.csv") in error
    assert not [name for name in reasons if name in error], "file names stay out of the console"
    assert "End of file reached" in caplog.text, "pydicom warns about the truncated file"
    assert not [name for name in reasons if name in caplog.text], "and its warnings, on any handler, name no file"


def test_quantify_refuses_a_private_folder_inside_the_output(reference_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["quantify", str(reference_dir / REAL / CC), "--weights", "authors", "--out", str(out)]
    assert main(argv + ["--private-dir", str(out / "private")]) == 1
    assert "outside the output folder" in capsys.readouterr().err and not out.exists()


def test_inputs_are_found_by_content_and_named_in_an_order_no_file_name_sets(reference_dir, tmp_path):
    folder = tmp_path / "archive"
    (folder / "copy").mkdir(parents=True)
    shutil.copy(reference_dir / REAL / CC, folder / "IM0001")
    shutil.copy(reference_dir / REAL / CC, folder / "copy" / "IM0001.dcm")
    niffler_png(reference_dir / REAL / CC, folder / "looks_like.dcm")
    (folder / "notes.dcm").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0" * 200)
    (folder / "out").mkdir()
    niffler_png(reference_dir / REAL / CC, folder / "out" / "img0001.png")
    sources, skipped = find_sources([folder, folder / "IM0001"], exclude=[folder / "out"])
    assert {(s.path.name, s.kind) for s in sources} == {("IM0001", "dicom"), ("looks_like.dcm", "png")}
    assert {s.path.name: s.reason.split(" (")[0] for s in skipped} == {
        "IM0001.dcm": "the same image as another input, which is quantified once",
        "notes.dcm": "neither a DICOM file"}  # fmt: skip
    forward, backward = pseudonymise(sources), pseudonymise(sources[::-1])
    assert [(i, s.key) for i, s in forward] == [(i, s.key) for i, s in backward]
    hashed = pseudonymise(sources, "hash", "secret")
    assert all(i.startswith("I") and len(i) == 17 for i, _ in hashed)


def test_quantify_leaks_no_planted_identifier(archive, tmp_path, capsys):  # noqa: F811 (the fixture)
    root, _ = archive
    for recipe in ("project", "authors"):
        out, private = tmp_path / recipe / "out", tmp_path / recipe / "private"
        argv = ["quantify", str(root), "--weights", "authors", "--recipe", recipe, "--out", str(out),
                "--private-dir", str(private)]  # fmt: skip
        assert main(argv) == 1, "the archive's damaged file is skipped"
        console = capsys.readouterr()
        assert len(pd.read_csv(out / "quantify.csv")) == 3
        assert not leaks(out, MARKERS)
        assert not [marker for marker in MARKERS if marker in console.out + console.err]
        assert "ZZ123456" in (private / "source_files.csv").read_text() + (private / "skipped.csv").read_text()
