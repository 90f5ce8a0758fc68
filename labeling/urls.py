from django.urls import path

from labeling.views import health, label

urlpatterns = [
    path("", label.home, name="home"),
    path("label/", label.label_next, name="label"),
    path("label/assignments/<int:assignment_id>/ranking", label.label_submit, name="label-submit"),
    path("label/assignments/<int:assignment_id>/skip", label.label_skip, name="label-skip"),
    path("healthz", health.healthz, name="healthz"),
]
