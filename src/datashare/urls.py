from django.contrib import admin
from django.urls import include, path

from datashare.api import api

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("requests/", include("datashare.intake.urls")),
    path("", include("datashare.web.urls")),
]
