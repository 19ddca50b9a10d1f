from django.urls import path

from playground.live.consumers import LiveConsumer

# Any segment routes here; the consumer refuses a malformed room id with close code 4400 (a
# route that did not match would end the handshake with no reason the browser can show).
websocket_urlpatterns = [
    path("ws/rooms/<str:room>/", LiveConsumer.as_asgi()),
]
