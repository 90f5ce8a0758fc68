from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labeling"

    def ready(self):
        from labeling import checks  # noqa: F401  (registers the settings checks)
        from labeling import login_throttle  # noqa: F401  (connects the failed/successful login signals)
