from django.urls import path

from datashare.results import views

app_name = "results"
urlpatterns = [
    path("", views.my_results, name="mine"),
    path("queue/", views.queue, name="queue"),
    path("new/<uuid:agreement_id>/", views.submit, name="submit"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/review/", views.review, name="review"),
    path("<uuid:public_id>/versions/", views.upload_version, name="upload_version"),
    path("<uuid:public_id>/respond/", views.respond, name="respond"),
    path("<uuid:public_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<uuid:public_id>/versions/<int:number>/file/", views.download, name="download"),
    path("<uuid:public_id>/versions/<int:old>/<int:new>/", views.diff, name="diff"),
]
