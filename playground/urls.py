from django.urls import include, path

urlpatterns = [
    path("", include("playground.topologies.urls")),
]

# Plain pages, never a traceback (templates/400.html, 404.html, 500.html).
handler400 = "playground.topologies.errors.bad_request"
