"""Makes the DAG folder importable the way MWAA imports it.

MWAA puts only its dags/ folder on sys.path and the pipeline deploys this repo's dags/ as
dags/clinic_dags/ (the repo name from dataops.yaml, hyphens as underscores), so DAG code imports its
helpers as clinic_dags.common. The tests do the same: a temporary folder holding a link
clinic_dags -> dags/ goes on sys.path, and dags/ itself does not (so `from common import ...`
fails here as it would on MWAA).
"""

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

PACKAGE = "clinic_dags"

_mwaa_dags = Path(tempfile.mkdtemp(prefix="mwaa-dags-"))
(_mwaa_dags / PACKAGE).symlink_to(Path(__file__).resolve().parent.parent / "dags", target_is_directory=True)
atexit.register(shutil.rmtree, _mwaa_dags, ignore_errors=True)
sys.path.insert(0, str(_mwaa_dags))
