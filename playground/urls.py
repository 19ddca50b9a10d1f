from django.urls import include, path

urlpatterns = [
    path("", include("playground.topologies.urls")),
    path("", include("playground.live.urls")),
]
