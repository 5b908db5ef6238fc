from django.urls import path

from datashare.agreements import views

app_name = "agreements"
urlpatterns = [
    path("", views.agreement_list, name="list"),
    path("template/", views.edit_template, name="template"),
    path("generate/<uuid:request_id>/", views.generate, name="generate"),
    path("work/", views.work_queue, name="work_queue"),
    path("work/<uuid:public_id>/", views.work_item_update, name="work_item"),
    path("sign/<uuid:signer_id>/", views.sign, name="sign"),
    path("sign/<uuid:signer_id>/document.pdf", views.signer_document, name="signer_document"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/document.pdf", views.document, name="document"),
    path("<uuid:public_id>/act/<slug:action>/", views.act, name="act"),
]
