from django.urls import re_path

from queueroom.consumers import QueueConsumer

websocket_urlpatterns = [
    re_path(r"^ws/queue/(?P<token>[\w.\-]+)/$", QueueConsumer.as_asgi()),
]
