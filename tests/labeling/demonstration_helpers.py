"""Making demonstration tasks for the tests: through the service, in the default project."""
from labeling.models import Project, default_project_id
from labeling.services.demonstrations import demonstration_tasks_create
from tests.factories import PromptFactory


def default_project() -> Project:
    return Project.objects.get(pk=default_project_id())


def make_demonstration_task(*, required: int = 1, prompt_text: str | None = None, project: Project | None = None):
    project = project or default_project()
    prompt = PromptFactory(project=project, **({"text": prompt_text} if prompt_text else {}))
    return demonstration_tasks_create(project=project, prompts=[prompt], required=required)[0]
