"""bacseg: segmentation and quantification of breast arterial calcifications (SCU-Net replication)."""

__version__ = "0.1.0"
