"""Synthetic realism, measured with a judge no one here trained (issue 8): the authors' released SCU-Net, trained
on real FFDM, reads the paper-scale synthetic cohort A through the project's own whole-image inference.

- ``judge``: the authors' model behind the project recipe at the judge's tile grid.
- ``beta``: the parenchymal power-law exponent (``../shared/tools/power_law_beta.py``'s method).
- ``scene``: where each distractor of a synthetic image lies, re-derived read-only from the generator.
- ``causes``: false-positive pixels and components attributed to those distractors.
- ``real``: the real reference mammograms at the synthetic images' pixel size.
- ``figure``: synthetic and real crops side by side with the judge's overlay.
- ``benchmark``: the whole measurement, written as ``realism.json`` and the figure.
"""
