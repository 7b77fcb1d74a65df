"""The 13 networks of the paper. Importing this package registers all of them."""

from bacseg.models.registry import count_params, create_model, model_names, register

# Network modules register themselves on import; keep this list in the paper's Table 1 order.
from bacseg.models import scunet  # noqa: F401,E402

__all__ = ["count_params", "create_model", "model_names", "register"]
