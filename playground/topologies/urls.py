from django.urls import path

from playground.topologies import views

app_name = "topologies"

urlpatterns = [
    path("", views.new, name="new"),
    path("new/", views.new, name="new_from_example"),
    path("t/", views.create, name="create"),
    path("t/<slug:slug>/", views.detail, name="detail"),
    path("t/<slug:slug>/save", views.save, name="save"),
    path("t/<slug:slug>/fork", views.fork, name="fork"),
    path("t/<slug:slug>/export.json", views.export, name="export"),
    path("import/", views.import_document, name="import"),
    path("schema/topology.json", views.schema, name="schema"),
    path("compare/", views.compare, name="compare"),
    path("inspector/edge/<str:source_type>/", views.edge_inspector, name="edge_inspector"),
    path("inspector/<str:type_name>/", views.inspector, name="inspector"),
    path("rooms/", views.room_create, name="room_create"),
    path("rooms/<str:room>/", views.watch, name="watch"),
    path("node-types.json", views.node_types, name="node_types"),
]
