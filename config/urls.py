from django.contrib import admin
from django.urls import include, path

from labeling.views import login as login_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", login_views.login, name="login"),  # rate limited; the rest are Django's
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("labeling.api.urls")),
    path("", include("labeling.urls")),
]
