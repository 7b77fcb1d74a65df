"""The 13 networks of the paper. Importing this package registers all of them."""

from bacseg.models.registry import count_params, create_model, model_names, parameter_counts, register

# Network modules register themselves on import: one line each, below this comment.
from bacseg.models import segnet  # noqa: F401
from bacseg.models import unet  # noqa: F401
from bacseg.models import linknet  # noqa: F401
from bacseg.models import erfnet  # noqa: F401
from bacseg.models import esnet  # noqa: F401
from bacseg.models import fastscnn  # noqa: F401
from bacseg.models import scunet  # noqa: F401
from bacseg.models import cgnet  # noqa: F401
from bacseg.models import dabnet  # noqa: F401
from bacseg.models import edanet  # noqa: F401
from bacseg.models import fpenet  # noqa: F401
from bacseg.models import deeplabv3  # noqa: F401
from bacseg.models import contextnet  # noqa: F401

__all__ = ["count_params", "create_model", "model_names", "parameter_counts", "register"]
