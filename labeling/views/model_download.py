"""A model version's checkpoint as a zip for its project's managers, written while it is sent (no copy on disk or in memory).

Unzipped, the folder named after the version is an ordinary Hugging Face checkpoint:
``AutoModelForCausalLM.from_pretrained("policy-v1")`` (or ``AutoModelForSequenceClassification`` for
a reward model).
"""
import re
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from labeling.models import ModelVersion
from labeling.selectors.exports import checkpoint_zip_chunks
from labeling.models import Membership
from labeling.views.access import require_project_role
from modeling.models.lora import is_checkpoint_dir
from modeling.models.reward_ensemble import is_reward_ensemble_dir


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


@login_required
@require_GET
def model_version_download(request, version_id: int):
    """For the version's project's managers (a version of another project: 404)."""
    version = get_object_or_404(ModelVersion.objects.select_related("project"), pk=version_id)
    require_project_role(request, version.project, Membership.Role.MANAGER)
    directory = Path(version.path)
    if not (is_checkpoint_dir(directory) or is_reward_ensemble_dir(directory)):
        raise Http404("This version's checkpoint is no longer on disk.")
    root = _file_name(version.name)
    response = StreamingHttpResponse(checkpoint_zip_chunks(directory=directory, root=root),
                                     content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{root}.zip"'
    return response
