"""Django admin for every model. Text fields are shown through Django's escaping (never mark_safe)."""
from django.contrib import admin
from django.template.defaultfilters import truncatechars

from labeling.models import (Assignment, Completion, Membership, ModelVersion, Project, Prompt, Ranking, RankingTask,
                             Run, Skip, TrainingRound)


def _short(text: str) -> str:
    return truncatechars(text, 80)


class CompletionInline(admin.TabularInline):
    model = Completion
    extra = 0
    fields = ("id", "text", "source", "source_detail")
    readonly_fields = ("id",)


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("id", "short_text", "project", "external_id", "created_at")
    list_filter = ("project",)
    search_fields = ("text", "external_id")
    date_hierarchy = "created_at"

    @admin.display(description="text")
    def short_text(self, obj):
        return _short(obj.text)


@admin.register(RankingTask)
class RankingTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "prompt_text", "task_set", "k", "required_rankings", "ranking_count", "is_gold", "created_at")
    list_filter = ("task_set", "required_rankings", ("gold_tiers", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("prompt__text", "prompt__external_id", "completions__text")
    list_select_related = ("prompt",)
    raw_id_fields = ("prompt", "source_run")
    inlines = [CompletionInline]

    @admin.display(description="prompt")
    def prompt_text(self, obj):
        return _short(obj.prompt.text)

    @admin.display(description="K")
    def k(self, obj):
        return obj.completions.count()

    @admin.display(description="rankings")
    def ranking_count(self, obj):
        return obj.rankings.count()

    @admin.display(boolean=True, description="gold")
    def is_gold(self, obj):
        return obj.gold_tiers is not None


@admin.register(Completion)
class CompletionAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "short_text", "source", "source_detail")
    list_filter = ("source",)
    search_fields = ("text", "source_detail")
    raw_id_fields = ("task",)

    @admin.display(description="text")
    def short_text(self, obj):
        return _short(obj.text)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "labeler", "status", "created_at", "expires_at")
    list_filter = ("status", "labeler", "expires_at")
    search_fields = ("labeler__username", "task__prompt__text")
    raw_id_fields = ("task", "labeler")


@admin.register(Ranking)
class RankingAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "labeler", "tiers", "seconds", "short_comment", "created_at")
    list_filter = ("labeler", "created_at")
    search_fields = ("labeler__username", "comment", "task__prompt__text")
    date_hierarchy = "created_at"
    raw_id_fields = ("task", "labeler")
    readonly_fields = ("submission_id", "display_order", "created_at")

    @admin.display(description="comment")
    def short_comment(self, obj):
        return _short(obj.comment)


@admin.register(Skip)
class SkipAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "labeler", "reason", "created_at")
    list_filter = ("reason", "labeler")
    search_fields = ("labeler__username", "note")
    raw_id_fields = ("task", "labeler")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "k_min", "k_max", "open_to_all", "created_at")
    search_fields = ("slug", "name")
    inlines = [MembershipInline]


class _ReadMostly(admin.ModelAdmin):
    """Rows the workers write: shown in full, never added here, and only their notes-like fields edited
    (a run's inputs, a round's steps and a version's checkpoint path are what they are)."""

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.editable]


@admin.register(Run)
class RunAdmin(_ReadMostly):
    editable = ()
    list_display = ("id", "kind", "status", "project", "progress", "training_round", "created_at")
    list_filter = ("kind", "status", "project")


@admin.register(TrainingRound)
class TrainingRoundAdmin(_ReadMostly):
    editable = ()
    list_display = ("id", "algo", "status", "project", "policy_in", "policy_out", "created_at")
    list_filter = ("algo", "status", "project")


@admin.register(ModelVersion)
class ModelVersionAdmin(_ReadMostly):
    editable = ()
    list_display = ("name", "kind", "algorithm", "project", "parent", "created_at")
    list_filter = ("kind", "algorithm", "project")
    search_fields = ("name", "path")
