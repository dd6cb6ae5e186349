"""The notebook's faces: %connect and its kin (``connect``), %emr_step (``steps``), the
ipywidgets picker (``picker``), the progress lines and session tables they show
(``reporting``), and the status bar's comm (``status_push``).

``jupyter_emr_roles.magics`` hands on the magics classes, for code that registers them itself.
"""

from .connect import EmrRolesMagics
from .steps import EmrStepMagics

__all__ = ["EmrRolesMagics", "EmrStepMagics"]
