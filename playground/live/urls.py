from django.urls import path

from playground.live import views

app_name = "live"

urlpatterns = [
    path("rooms/<str:room>/", views.watch, name="watch"),
]
