from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from datashare.api import api
from datashare.portal.views import data_json
from datashare.web.views import healthz

# The Django admin signs in through allauth, so MFA and rate limits apply there too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("requests/", include("datashare.intake.urls")),
    path("agreements/", include("datashare.agreements.urls")),
    path("results/", include("datashare.results.urls")),
    path("retention/", include("datashare.retention.urls")),
    path("delivery/", include("datashare.delivery.urls")),
    path("data.json", data_json, name="portal_data_json"),
    path("data/", include("datashare.portal.urls")),
    path("", include("datashare.web.urls")),
]

handler500 = "datashare.web.views.server_error"
