"""A manager leaves a member's rankings out of the project's training, or takes them back in.

``Membership.excluded_from_training``: the reward and DPO jobs (``labeling.jobs.reward.run_rankings_write``)
leave the member's rankings out; their rankings still count for agreement, the stats page and exports
(a filter that wants them out says so), so excluding someone changes what the models learn and nothing
about the record. Only members can be excluded (the flag lives on the membership): in a project open to
all, a labeler who is not a member is first added as one on the members page.
"""
from __future__ import annotations

from labeling.errors import RejectedInput
from labeling.models import Membership, Project
from labeling.selectors.projects import project_access


def member_training_exclusion_set(*, project: Project, user_id: int, excluded: bool, by) -> Membership:
    """Set ``user_id``'s ``excluded_from_training`` in ``project``. ``by`` must be a manager of it (403);
    404 when that user is not a member. Setting the value it already has changes nothing."""
    project_access(user=by, project=project, needed=Membership.Role.MANAGER)
    membership = Membership.objects.filter(project=project, user_id=user_id).select_related("user").first()
    if membership is None:
        raise RejectedInput("No such member in this project.", field="member", status=404)
    if membership.excluded_from_training != excluded:
        membership.excluded_from_training = excluded
        membership.save(update_fields=["excluded_from_training"])
    return membership
