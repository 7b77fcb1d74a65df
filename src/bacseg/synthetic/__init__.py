"""Synthetic mammography cohorts with exact ground truth: the workflow's default data.

``generate_cohort`` writes a cohort (DICOM files, MD.ai export, truth tables) where its ``CohortOutputs``
say; ``synthesize_mammogram`` makes one image, for notebooks and benchmarks.
"""

from bacseg.synthetic.anatomy import Breast, draw_breast
from bacseg.synthetic.cohorts import generate_cohort
from bacseg.synthetic.mammogram import SyntheticMammogram, synthesize_mammogram
from bacseg.synthetic.outputs import CohortOutputs

__all__ = ["CohortOutputs", "SyntheticMammogram", "draw_breast", "generate_cohort", "synthesize_mammogram"]
