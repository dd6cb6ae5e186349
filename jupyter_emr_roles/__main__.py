"""``python -m jupyter_emr_roles`` is the same as ``jupyter-emr-roles``."""

from .cli import main

main(prog_name="jupyter-emr-roles")
