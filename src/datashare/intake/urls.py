from django.urls import path

from datashare.intake import views

app_name = "intake"
urlpatterns = [
    # The list of my requests is this app's view at /requests/, named web:my_requests (web/urls.py).
    path("new/", views.new_request, name="new"),
    path("queue/", views.queue, name="queue"),
    path("catalog/", views.catalog_page, name="catalog"),
    path("comments/<uuid:public_id>/respond/", views.respond_comments, name="respond_comments"),
    path("comments/<uuid:public_id>/cancel/", views.cancel_comments, name="cancel_comments"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/edit/<slug:step>/", views.edit_step, name="edit"),
    path("<uuid:public_id>/review/", views.review, name="review"),
    path("<uuid:public_id>/decide/", views.decide, name="decide"),
    path("<uuid:public_id>/assign/", views.assign, name="assign"),
    path("<uuid:public_id>/verify-affiliation/", views.verify_affiliation, name="verify_affiliation"),
    path("<uuid:public_id>/comments/", views.ask_comments, name="ask_comments"),
    path("<uuid:public_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<uuid:public_id>/reply/", views.reply_to_changes, name="reply"),
    path("<uuid:public_id>/accept-data-manager/", views.accept_data_manager, name="accept_data_manager"),
    path("<uuid:public_id>/attachments/<uuid:attachment_id>/", views.download_attachment, name="attachment"),
    path("<uuid:public_id>/versions/<int:old>/<int:new>/", views.version_diff, name="diff"),
]
