from django.urls import path

from datashare.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("requests/", views.my_aggregate_requests, name="aggregate_list"),
    path("requests/<int:request_id>/", views.aggregate_detail, name="aggregate_detail"),
    path("requests/<int:request_id>/<str:fmt>", views.aggregate_download,
         name="aggregate_download"),
    path("staff/versions/", views.staff_versions, name="staff_versions"),
    path("staff/versions/<int:version_id>/", views.staff_version_certificate,
         name="staff_version"),
    path("staff/versions/<int:version_id>/approve", views.staff_approve_version,
         name="staff_approve_version"),
    path("staff/requests/", views.staff_aggregate_queue, name="staff_aggregates"),
    path("staff/requests/<int:request_id>/decide", views.staff_decide_aggregate,
         name="staff_decide_aggregate"),
    path("<slug:slug>/", views.dataset_detail, name="dataset"),
    path("<slug:slug>/v<int:version_id>/<str:fmt>", views.version_download, name="download"),
]
